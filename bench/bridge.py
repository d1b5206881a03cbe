"""The delay the receipt-printer bridge adds to a POS receipt, beside a plain TCP pass-through
measured in the same run. Target: p95 < 50 ms added.

    .venv/bin/python bench/bridge.py [--receipts 100]

A test POS prints a receipt built with python-escpos (Greek, a raster logo, 80 mm) over TCP
and closes; a socket printer on 127.0.0.1 notes when the last byte of it arrived. Measured:
from the POS's close to the printer's last byte, (1) through a plain pass-through proxy that
forwards each connection as it ends, (2) through the bridge, which reads the receipt, records
the member's sale (a member is identified before each receipt), queues the POS's bytes with
the loyalty block in the till's print queue and prints them.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.till import Till  # noqa: E402
from printer._escpos import escpos, quiet  # noqa: E402
from terminal import config as config_mod  # noqa: E402
from terminal.pos.serve import PosSide  # noqa: E402


class Sink:
    """A socket printer: the time each connection's last byte arrived, and its size."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.done: list[tuple[float, int]] = []
        self.event = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        size, last = 0, 0.0
        with conn:
            while chunk := conn.recv(65536):
                size, last = size + len(chunk), time.perf_counter()
        if size:
            self.done.append((last, size))
            self.event.set()

    def wait(self, count: int) -> tuple[float, int]:
        deadline = time.monotonic() + 30
        while len(self.done) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the printer got {len(self.done)} of {count} receipts")
            self.event.wait(0.05)
            self.event.clear()
        return self.done[count - 1]


def passthrough(target: int) -> int:
    """A plain TCP proxy: each connection, when it ends, forwarded to the printer."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        data = bytearray()
        with conn:
            while chunk := conn.recv(65536):
                data += chunk
        with socket.create_connection(("127.0.0.1", target)) as out:
            out.sendall(data)

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return int(server.getsockname()[1])


def receipt(n: int) -> bytes:
    from PIL import Image, ImageDraw

    logo = Image.new("1", (200, 60), 1)
    ImageDraw.Draw(logo).ellipse((10, 5, 190, 55), outline=0, width=4)
    with quiet(capture_stdout=True):
        p = escpos("escpos.printer").Dummy(profile="TM-T88V")
        p.image(logo)
        p.text(f"ΤΟ ΜΠΑΚΑΛΙΚΟ\nΑπόδειξη Nr: B-{n:06d}\n")
        p.text(f"{'Φέτα 400γρ':<34}{'6,40':>8}\n{'Ελαιόλαδο 1L':<34}{'12,90':>8}\n")
        p.text(f"{'ΣΥΝΟΛΟ':<30}{'EUR 19,30':>12}\n")
        p.cut()
        return bytes(p.output)


def pos_print(port: int, data: bytes) -> float:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        closed = time.perf_counter()
    return closed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def show(name: str, values: list[float]) -> None:
    print(f"{name:<36} n={len(values):>4}  p50 {pct(values, 0.5):7.2f} ms  "
          f"p95 {pct(values, 0.95):7.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=100)
    args = parser.parse_args()
    n = args.receipts
    sink = Sink()
    proxy = passthrough(sink.port)
    plain = []
    for i in range(n):
        closed = pos_print(proxy, receipt(i))
        plain.append(sink.wait(i + 1)[0] - closed)
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as tmp:
        folder = Path(tmp) / "data"
        till = Till.open(folder, must_exist=False)
        program = ROOT / "fixtures" / "program.toml"
        till.initialise("BENCH-T1", program.read_text(encoding="utf-8"), str(program))
        till.import_members(ROOT / "fixtures" / "members.csv")
        printer = f"tcp://127.0.0.1:{sink.port}?timeout=5&model=TM-T20II&paper=80&status=0"
        (folder / "config.toml").write_text(
            f'language = "en"\nprinter = "{printer}"\n\n'
            "[printer_bridge]\nenabled = true\nport = 0\n",
            encoding="utf-8",
        )
        side = PosSide(till, config_mod.load(str(folder)), api=False)
        where = side.start()
        port = int(where["printer_bridge"].rsplit(":", 1)[1])
        assert side.bridge is not None
        bridged = []
        base = len(sink.done)
        try:
            for i in range(n):
                side.bridge.service.presence.identified("M000001", side.bridge.clock())
                closed = pos_print(port, receipt(10_000 + i))
                bridged.append(sink.wait(base + i + 1)[0] - closed)
            sales = till.db.one("SELECT count(*) AS n FROM sales")
        finally:
            side.stop()
            till.close()
    show("plain TCP pass-through", plain)
    show("through the bridge (sale + block)", bridged)
    added = pct(bridged, 0.95) - pct(plain, 0.95)
    print(f"added by the bridge at p95: {added:.2f} ms (target < 50); sales recorded: "
          f"{sales['n'] if sales else 0} of {n}")  # fmt: skip


if __name__ == "__main__":
    main()
