"""till demo: a complete local shop in a temporary folder, then the till app."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from loyalty.till import Till
from terminal.auth import hash_pin
from terminal.config import load

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DEMO_CASHIERS = {"anna": ("Anna", "1234", False), "maria": ("Maria (manager)", "9999", True)}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="a complete local shop to try the till")
    p.add_argument("--keep", action="store_true", help="keep the demo folder afterwards")
    p.add_argument("--language", default=None, help="start in this language (en el pl ro th fa)")
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
    for cashier_id, (name, pin, manager) in DEMO_CASHIERS.items():
        lines += [
            f"[cashiers.{cashier_id}]",
            f'name = "{name}"',
            f'pin_hash = "{hash_pin(pin)}"',
            f"manager = {str(manager).lower()}",
            "",
        ]
    (data / "config.toml").write_text("\n".join(lines), encoding="utf-8")
    return data


def run(args: argparse.Namespace) -> None:
    from terminal.app.app import build_app
    from terminal.app.wiring import build_services

    folder = Path(tempfile.mkdtemp(prefix="till-demo-"))
    try:
        language = args.language or load(None, None).language
        data = prepare(folder, language)
        config = load(str(data), None)
        services = build_services(config)
        print(
            f"till demo: data in {data}; cashier anna PIN 1234, manager maria PIN 9999; "
            "try card 400000000002",
            file=sys.stderr,
        )
        build_app(services, config.language, config.raw.get("keys") or {}).run()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
