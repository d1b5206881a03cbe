"""till demo: a complete local shop in a temporary folder, then the till app."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loyalty.till import Till
from terminal.auth import hash_pin
from terminal.config import load

if TYPE_CHECKING:
    from terminal.app.services import HeadOfficeDown

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DEMO_CASHIERS = {"anna": ("Anna", "1234", False), "maria": ("Maria (manager)", "9999", True)}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="a complete local shop to try the till")
    p.add_argument("--keep", action="store_true", help="keep the demo folder afterwards")
    p.add_argument("--language", default=None, help="start in this language (en el pl ro th fa)")
    p.add_argument("--offline", action="store_true", help="no local head office")
    p.set_defaults(func=run)


def prepare(folder: Path, language: str) -> Path:
    """Set up a data dir with the sample program, members and cashiers; return it."""
    data = folder / "data"
    till = Till.open(data, must_exist=False)
    try:
        till.initialise(
            "DEMO-T1",
            (FIXTURES / "program.toml").read_text(encoding="utf-8"),
            str(FIXTURES / "program.toml"),
        )
        till.import_members(FIXTURES / "members.csv")
    finally:
        till.close()
    lines = [f'language = "{language}"', 'shop_name = "Olive & Oak, Ermou 12, Athens"', ""]
    # The till API for a POS, on a free port of 127.0.0.1 (the URL is printed at start).
    lines += ["[pos_api]", "enabled = true", "port = 0", ""]
    # The shopper display, on this machine only: open http://127.0.0.1:8765/ in a browser.
    lines += ["[shopper_display]", "enabled = true", "port = 8765", ""]
    for cashier_id, (name, pin, manager) in DEMO_CASHIERS.items():
        lines += [
            f"[cashiers.{cashier_id}]",
            f'name = "{name}"',
            f'pin_hash = "{hash_pin(pin)}"',
            f"manager = {str(manager).lower()}",
            "",
        ]
    (data / "config.toml").write_text("\n".join(lines), encoding="utf-8")
    samples(data)
    return data


def samples(data: Path) -> Path:
    """Member codes to scan in the demo: card QR codes and signed app codes (TEST-ONLY key,
    valid about 18 hours from now, the longest an app code may live) as PNG images, and the
    key's public half for the till."""
    import datetime as dt

    import qrcode

    from scanner.codes import mint_app_code
    from scanner.keys import load_private_key

    keys = data / "keys"
    keys.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "keys" / "test-2026.pub", keys)
    folder = data / "samples"
    folder.mkdir(exist_ok=True)
    private = load_private_key(FIXTURES / "keys" / "test-2026.TEST-ONLY-private.pem")
    now = dt.datetime.now(dt.UTC)
    lines = []
    for member_id, card, name in (
        ("M000001", "400000000002", "Eleni (el)"),
        ("M000002", "400000000010", "Piotr (pl)"),
        ("M000006", "400000000051", "Maryam (fa)"),
        ("M000011", "400000000101", "สมหญิง (th)"),
    ):
        qrcode.make(card).save(folder / f"card-{card}.png")
        app_code = mint_app_code(private, "test-2026", member_id, now, lifetime_s=65535)
        qrcode.make(app_code).save(folder / f"app-{member_id}.png")
        lines.append(f"{name}: card {card} (card-{card}.png), app code app-{member_id}.png")
    (folder / "README.txt").write_text(
        "Scan these with the till's camera (TILL_CAMERA=0 till demo) or type a card number.\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )
    return folder


def run(args: argparse.Namespace) -> None:
    from terminal.app.app import build_app
    from terminal.app.wiring import build_services
    from terminal.pos.serve import start_if_configured, tap_the_app

    folder = Path(tempfile.mkdtemp(prefix="till-demo-"))
    server = None
    api = None
    try:
        language = args.language or load(None, None).language
        data = prepare(folder, language)
        down = None
        if not args.offline:
            server, down = start_demo_headoffice(folder, data)
        config = load(str(data), None)
        services = build_services(config)
        services.headoffice_down = down
        api = start_if_configured(
            services.till, config, services.scanner, services.printer, services.display
        )
        tap_the_app(services, api)
        where = f"head office {server.url}" if server else "no head office (offline)"
        if api is not None and api.api is not None:
            where += f", POS API {api.api.url} (token in {data / 'pos_api.token'})"
        feed = getattr(services.display, "server", None)
        if feed is not None:
            where += f", shopper display {feed.url}"
        print(
            f"till demo: data in {data}, {where}; cashier anna PIN 1234, manager maria PIN "
            f"9999; type card 400000000002 or scan the codes in {data / 'samples'}",
            file=sys.stderr,
        )
        build_app(services, config.language, config.raw.get("keys") or {}).run()
    finally:
        if api is not None:
            api.stop()
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


# What `till headoffice serve` imports beyond the till's own dependencies (the `headoffice`
# extra, which `./dev setup` installs).
HEADOFFICE_MODULES = ("starlette", "uvicorn")


def start_demo_headoffice(folder: Path, data: Path) -> tuple[Any, HeadOfficeDown | None]:
    """A local head office for the demo: (server, None), or (None, why not) when it cannot
    start; the demo then runs offline and its status line says why."""
    from terminal.app.services import HeadOfficeDown
    from terminal.demo_shop import start_headoffice

    missing = [name for name in HEADOFFICE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        down = HeadOfficeDown("missing_extra", missing[0])
    else:
        try:
            server = start_headoffice(folder, data, "DEMO-T1")
        except Exception as exc:  # noqa: BLE001 - the demo goes on offline, and says why
            lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
            down = HeadOfficeDown("did_not_start", lines[-1][:160] if lines else type(exc).__name__)
        else:
            from terminal.commands.init import remember_headoffice

            remember_headoffice(data / "config.toml", server.url)
            return server, None
    print(f"till demo: head office did not start ({down.detail}); running offline", file=sys.stderr)
    return None, down
