"""``till headoffice ...``: head office's tools. A group of sub-commands: each has a
``_register_<name>(sub)`` below, called from ``register`` (``serve`` will join ``token``).

``till headoffice token MEMBER [--valid SECONDS]`` mints a member's app code with the TEST-ONLY
key in fixtures/keys (or ``--key``), for tests and demos; ``--png FILE`` also draws its QR.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loyalty.files import tighten
from scanner.codes import DEFAULT_LIFETIME_S, MAX_LIFETIME_S, MEMBER_ID, mint_app_code
from scanner.keys import load_private_key, public_bytes
from terminal.commands.headoffice_serve import MintCode
from terminal.commands.scan import DEMO_KEYS_DIR, parse_now
from terminal.errors import CommandError

TEST_KEY_FILE = DEMO_KEYS_DIR / "test-2026.TEST-ONLY-private.pem"


def register(subparsers: Any) -> None:
    from terminal.commands.headoffice_desk import register_desk
    from terminal.commands.headoffice_events import register_events
    from terminal.commands.headoffice_jobs import register_jobs
    from terminal.commands.headoffice_offers import register_offers
    from terminal.commands.headoffice_referrals import register_referrals
    from terminal.commands.headoffice_report import register_report
    from terminal.commands.headoffice_serve import register_serve

    p = subparsers.add_parser("headoffice", help="head office tools")
    sub = p.add_subparsers(dest="headoffice_command", required=True, metavar="COMMAND")
    _register_token(sub)
    register_desk(sub)
    register_jobs(sub)
    register_report(sub)
    register_offers(sub)
    register_events(sub)
    register_referrals(sub)
    key_file = os.environ.get("TILL_HEADOFFICE_SIGNING_KEY")
    if key_file:
        # Head office signs member app codes with this key and publishes its public half.
        # Read when `serve` runs (checked private first), not for every `till` command.
        register_serve(sub, signing=lambda: _signing(Path(key_file)))
    else:
        register_serve(sub)


def signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path`` (PEM), its file made private first: 0600 when it is
    open to others and ours, refused (``unsafe_permissions``) when it cannot be made so.
    Whoever reads it mints any member's app code. The TEST-ONLY key of fixtures/ is public."""
    if path.resolve() != TEST_KEY_FILE.resolve():
        tighten(path)
    try:
        return load_private_key(path)
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError("headoffice.token.bad_key", path=str(path)) from exc


def _signing(path: Path) -> tuple[MintCode, list[tuple[str, bytes]]]:
    key = signing_key(path)
    key_id = path.name.split(".", 1)[0]

    def mint(member: str) -> str:
        return mint_app_code(key, key_id, member, dt.datetime.now(dt.UTC).replace(microsecond=0))

    return mint, [(key_id, public_bytes(key))]


def _register_token(sub: Any) -> None:
    p = sub.add_parser("token", help="mint a member app code with the TEST-ONLY key")
    p.add_argument("member", help="member id, e.g. M000001")
    p.add_argument(
        "--valid", type=int, default=DEFAULT_LIFETIME_S, metavar="SECONDS", help="lifetime"
    )
    p.add_argument("--key", type=Path, default=TEST_KEY_FILE, help="PEM Ed25519 private key")
    p.add_argument("--key-id", help="default: the key file's name up to its first dot")
    p.add_argument("--at", metavar="TIME", help="valid from this ISO time (default: now)")
    p.add_argument("--png", type=Path, metavar="FILE", help="also write the code's QR image")
    p.set_defaults(func=token)


def token(args: argparse.Namespace) -> dict[str, Any]:
    if not MEMBER_ID.fullmatch(args.member):
        raise CommandError("headoffice.token.bad_member_id", member_id=args.member)
    if not 1 <= args.valid <= MAX_LIFETIME_S:
        raise CommandError("headoffice.token.bad_lifetime", maximum=MAX_LIFETIME_S)
    key = signing_key(args.key)
    key_id = args.key_id or args.key.name.split(".", 1)[0]
    valid_from = parse_now(args.at).replace(microsecond=0)
    code = mint_app_code(key, key_id, args.member, valid_from, args.valid)
    if args.png is not None:
        write_qr_png(code, args.png)
    return {
        "code": code,
        "member_id": args.member,
        "key_id": key_id,
        "valid_from": valid_from.isoformat(),
        "valid_until": (valid_from + dt.timedelta(seconds=args.valid)).isoformat(),
        "png": str(args.png) if args.png else None,
        # anyone can mint with the fixtures' key: no real till trusts it
        "test_only_key": args.key.resolve() == TEST_KEY_FILE.resolve(),
    }


def write_qr_png(text: str, path: Path, module_px: int = 8) -> None:
    """The QR of ``text`` at level M in alphanumeric mode, 4 modules of quiet zone."""
    params = cv2.QRCodeEncoder.Params()
    params.correction_level = cv2.QRCODE_ENCODER_CORRECT_LEVEL_M
    params.mode = cv2.QRCODE_ENCODER_MODE_ALPHANUMERIC
    modules = cv2.QRCodeEncoder.create(params).encode(text)  # 2 modules of quiet zone
    modules = np.pad(modules, 2, constant_values=255)
    image = np.kron(modules, np.ones((module_px, module_px), dtype=np.uint8))
    if not cv2.imwrite(str(path), image):
        raise CommandError("cli.error.bad_input", detail=f"cannot write {path}")
