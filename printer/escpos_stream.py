"""Read an ESC/POS byte stream another system (a shop's POS) sends to its printer: the text it
prints, line by line, decoded in the code page it selected (``ESC t n``), with its commands,
images and barcodes stepped over by their declared lengths. Pure: bytes in, lines out.

A stream whose commands this reader does not know, or that ends in the middle of one (the POS
disconnected), is reported as such; the caller then forwards it untouched."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

# Commands of a fixed length (the command bytes included), by their second byte.
_ESC_FIXED = {
    ord("@"): 2, ord("2"): 2, ord("t"): 3, ord("!"): 3, ord("E"): 3, ord("-"): 3, ord("G"): 3,
    ord("M"): 3, ord("a"): 3, ord("R"): 3, ord("r"): 3, ord("V"): 3, ord("{"): 3, ord("J"): 3,
    ord("d"): 3, ord("e"): 3, ord("3"): 3, ord("U"): 3, ord(" "): 3, ord("%"): 3, ord("T"): 3,
    ord("$"): 4, ord("\\"): 4, ord("c"): 4, ord("p"): 5, ord("i"): 2, ord("m"): 2, ord("L"): 2,
    ord("S"): 2, ord("W"): 10, ord("<"): 2, ord("="): 3, ord("?"): 3,
}  # fmt: skip
_GS_FIXED = {
    ord("!"): 3, ord("B"): 3, ord("H"): 3, ord("f"): 3, ord("h"): 3, ord("w"): 3, ord("b"): 3,
    ord("a"): 3, ord("r"): 3, ord("I"): 3, ord("/"): 3, ord("L"): 4, ord("W"): 4, ord("P"): 4,
    ord("$"): 4, ord("\\"): 4, ord("^"): 5, ord(":"): 2,
}  # fmt: skip
_FS_FIXED = {ord("."): 2, ord("&"): 2, ord("p"): 4, ord("C"): 3, ord("!"): 3}


@dataclass(frozen=True, slots=True)
class Scanned:
    """What the stream prints as text, and how it ended."""

    lines: tuple[str, ...]
    images: int  # raster images and logos stepped over
    cuts: int
    complete: bool  # False: it ended inside a command (the POS disconnected mid-receipt)
    unknown: tuple[str, ...]  # commands this reader does not know ("1b 26"...)
    status_requests: tuple[int, ...] = ()  # DLE EOT n: the POS asks the printer's status
    status_at: tuple[int, ...] = ()  # where each request starts in the stream
    # Where the paper would be finished: just after the last thing printed, when only feeds,
    # style, a cut and a drawer pulse follow it (the POS's own end of the receipt); None when
    # the stream does not end with a cut after its last printed line (or cannot be read).
    finish_at: int | None = None

    @property
    def readable(self) -> bool:
        return self.complete and not self.unknown


def code_page_codecs(
    pages: Mapping[str, str], encodings: Mapping[str, Mapping[str, str]]
) -> dict[int, str]:
    """A printer profile's code pages (slot -> name, as python-escpos' capabilities list them)
    as Python codecs (slot -> codec); pages Python cannot decode are left out."""
    out: dict[int, str] = {}
    for slot, name in pages.items():
        codec = (encodings.get(name) or {}).get("python_encode")
        if codec:
            try:
                codecs.lookup(codec)
            except LookupError:
                continue
            out[int(slot)] = codec
    return out


def printer_code_pages(model: str) -> dict[int, str]:
    """The code pages of a printer model (python-escpos' capabilities) as Python codecs."""
    from printer._escpos import capabilities

    caps = capabilities()
    profile = caps["profiles"].get(model, caps["profiles"]["default"])
    return code_page_codecs(profile["codePages"], caps["encodings"])


# Commands that print nothing and leave no text waiting: the paper's feeds, the cuts, the
# drawer pulse, the status requests, init and the character style. Anything else a receipt
# holds (text, images, barcodes, QR codes, NV graphics) is taken as printed.
_QUIET_ESC = frozenset(b"@dJe!E-GMaRt23p{V U")
_QUIET_GS = frozenset(b"!BVL")
_QUIET_DLE = frozenset((0x04, 0x05, 0x14))
_PRINT_AND_FEED = frozenset(b"dJe")


class _Reader:
    def __init__(self, data: bytes, pages: Mapping[int, str], default_page: int) -> None:
        self.data = data
        self.pages = pages
        self.default_page = default_page
        self.page = default_page
        self.lines: list[str] = []
        self.line: list[str] = []
        self.run = bytearray()
        self.images = 0
        self.cuts = 0
        self.unknown: list[str] = []
        self.status: list[int] = []
        self.status_at: list[int] = []
        self.printed_end = 0  # just after the last thing printed
        self.cut_at: list[int] = []  # cuts with no text waiting in the line before them

    def flush_run(self) -> None:
        if self.run:
            codec = self.pages.get(self.page, "cp437")
            self.line.append(bytes(self.run).decode(codec, errors="replace"))
            self.run.clear()

    def end_line(self) -> None:
        self.flush_run()
        self.lines.append("".join(self.line))
        self.line = []

    def length(self, i: int) -> int | None:
        """The length of the command at ``i`` (None: it runs past the end of the stream)."""
        d = self.data
        n = len(d)

        def at(k: int) -> int | None:
            return d[k] if k < n else None

        lead, second = d[i], at(i + 1)
        if second is None:
            return None
        if lead == ESC:
            if second in _ESC_FIXED:
                size = _ESC_FIXED[second]
                if second == ord("t") and i + 2 < n:
                    self.flush_run()
                    self.page = d[i + 2]
                elif second == ord("@"):
                    self.flush_run()
                    self.page = self.default_page
                elif second in (ord("i"), ord("m")):
                    self.cuts += 1
                return size
            if second == ord("*"):  # bit image: m nL nH data
                m, lo, hi = at(i + 2), at(i + 3), at(i + 4)
                if m is None or lo is None or hi is None:
                    return None
                self.images += 1
                return 5 + (lo + 256 * hi) * (1 if m in (0, 1) else 3)
            if second == ord("D"):  # tab stops, NUL-terminated
                end = d.find(b"\x00", i + 2)
                return None if end < 0 else end - i + 1
        elif lead == GS:
            if second in _GS_FIXED:
                return _GS_FIXED[second]
            if second == ord("V"):
                m = at(i + 2)
                if m is None:
                    return None
                self.cuts += 1
                return 3 if m in (0, 1, 48, 49) else 4
            if second == ord("v"):  # GS v 0 m xL xH yL yH data
                head = d[i + 3 : i + 8]
                if len(head) < 5:
                    return None
                self.images += 1
                return 8 + (head[1] + 256 * head[2]) * (head[3] + 256 * head[4])
            if second == ord("("):  # GS ( fn pL pH data
                fn, lo, hi = at(i + 2), at(i + 3), at(i + 4)
                if fn is None or lo is None or hi is None:
                    return None
                if fn == ord("L"):
                    self.images += 1
                return 5 + lo + 256 * hi
            if second == ord("8"):  # GS 8 L p1 p2 p3 p4 data
                p = d[i + 3 : i + 7]
                if len(p) < 4:
                    return None
                self.images += 1
                return 7 + int.from_bytes(p, "little")
            if second == ord("*"):  # GS * x y data
                x, y = at(i + 2), at(i + 3)
                if x is None or y is None:
                    return None
                self.images += 1
                return 4 + x * y * 8
            if second == ord("k"):  # barcode
                m = at(i + 2)
                if m is None:
                    return None
                if m <= 6:
                    end = d.find(b"\x00", i + 3)
                    return None if end < 0 else end - i + 1
                count = at(i + 3)
                return None if count is None else 4 + count
        elif lead == DLE:
            if second == 0x04 and i + 2 < n:
                self.status.append(d[i + 2])
                self.status_at.append(i)
            if second in (0x04, 0x05):
                return 3
            if second == 0x14:
                return 5
        elif lead == FS and second in _FS_FIXED:
            return _FS_FIXED[second]
        self.unknown.append(f"{lead:02x} {second:02x}")
        return 2

    def read(self) -> Scanned:
        d = self.data
        i, n = 0, len(d)
        complete = True
        while i < n:
            b = d[i]
            if b in (ESC, GS, DLE, FS):
                cuts = self.cuts
                size = self.length(i)
                if size is None or i + size > n:
                    complete = False
                    break
                waiting = bool(self.run or self.line)
                if self.cuts != cuts:
                    if not waiting:
                        self.cut_at.append(i)
                elif not self.quiet(b, d[i + 1]):
                    self.printed_end = i + size
                elif waiting and b == ESC and d[i + 1] in _PRINT_AND_FEED:
                    self.printed_end = i + size  # it prints the line waiting, then feeds
                    self.end_line()
                    i += size
                    continue
                self.flush_run()
                i += size
                continue
            if b in (LF, FF):
                if self.run or self.line:
                    self.printed_end = i + 1
                self.end_line()
            elif b == HT:
                self.run += b" "
            elif b >= 0x20:
                self.run.append(b)
            i += 1
        waiting = bool(self.run or self.line)
        if waiting:
            self.end_line()
        finish = self.finish_at() if complete and not self.unknown and not waiting else None
        return Scanned(tuple(self.lines), self.images, self.cuts, complete, tuple(self.unknown),
                       tuple(self.status), tuple(self.status_at), finish)  # fmt: skip

    @staticmethod
    def quiet(lead: int, second: int) -> bool:
        if lead == ESC:
            return second in _QUIET_ESC
        if lead == GS:
            return second in _QUIET_GS
        return lead == DLE and second in _QUIET_DLE

    def finish_at(self) -> int | None:
        """Just after the last thing printed, when a cut follows it (see ``Scanned``)."""
        if any(at >= self.printed_end for at in self.cut_at):
            return self.printed_end
        return None


# What a ready printer answers to DLE EOT 1-4 (Epson's fixed bits only: online, cover closed,
# paper present, no error).
READY_STATUS = {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12}


def scan(data: bytes, pages: Mapping[int, str], default_page: int = 0) -> Scanned:
    """The text lines an ESC/POS stream prints. ``pages``: code page slot -> Python codec
    (:func:`code_page_codecs` of the printer's profile)."""
    return _Reader(data, pages, default_page).read()


def without_status_requests(data: bytes, scanned: Scanned) -> bytes:
    """The stream without the POS's status requests (DLE EOT n, 3 bytes each), which were a
    conversation with whoever listened, not something to print."""
    if not scanned.status_at:
        return data
    out, start = bytearray(), 0
    for at in scanned.status_at:
        out += data[start:at]
        start = at + 3
    return bytes(out + data[start:])


def splice_before_cut(stream: bytes, block: bytes) -> bytes:
    """``block`` (our own ESC/POS, e.g. the loyalty block) printed on the same piece of paper
    as ``stream`` (the POS's receipt): spliced in after the last thing the POS printed, before
    its feed, cut and drawer pulse, with the block's own feed and cut left out. The POS's
    bytes stay as they were, in order. A stream that does not end with a cut (or cannot be
    read) gets the block after it, with the block's own cut."""
    at = scan(stream, {}).finish_at
    if at is None:
        return stream + block
    end = scan(block, {}).finish_at
    return stream[:at] + (block if end is None else block[:end]) + stream[at:]
