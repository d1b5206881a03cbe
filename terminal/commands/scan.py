"""``till scan --image P | --video P | --camera N | --text CODE``: decode and verify a member code.

Prints the member id (or card number), the code's kind and validity as JSON; a refused code
exits 2 with ``scan.refused.<reason>`` on stderr.

Head office's public keys are read from ``<data_dir>/keys/<key id>.pub`` (PEM), which head
office's pull will keep up to date, or from ``--keys DIR``; ``--demo-keys`` trusts the TEST-ONLY
key in fixtures/keys instead (demos and tests; never on a real till). The deny-list is
``<data_dir>/denylist.json`` when present (``{"revoked_cards": [...], "blocked_members": [...]}``)
or ``--deny FILE``. The decoder is ``--decoder``, else ``TILL_DECODER``, else the config file's
``decoder``, else scanner's default.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import sys
from pathlib import Path
from typing import Any

import cv2

from scanner.camera import CameraEnded, CameraEvent, CameraFailed, CameraReader, CodeSeen
from scanner.codes import (
    DEFAULT_SKEW_S,
    DenyList,
    MemberCode,
    MemoryReplayGuard,
    ScanRefused,
    first_verified,
)
from scanner.decoders import DECODER_NAMES, DEFAULT_DECODER, Decoder, make_decoder
from scanner.images import ScanError, read_image
from scanner.keys import load_public_keys
from scanner.wedge import verify_typed
from terminal import config as config_mod
from terminal.config import Config
from terminal.errors import CommandError

ROOT = Path(__file__).resolve().parents[2]
DEMO_KEYS_DIR = ROOT / "fixtures" / "keys"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan", help="decode and verify a member code from an image, a video, a camera or text"
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, metavar="P", help="a PNG or JPEG file")
    source.add_argument("--video", type=Path, metavar="P", help="a video file")
    source.add_argument("--camera", metavar="N", help="a camera index or a stream URL")
    source.add_argument("--text", metavar="CODE", help="a typed card number or a scanner's text")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--keys", type=Path, metavar="DIR", help="folder of <key id>.pub files")
    keys.add_argument(
        "--demo-keys", action="store_true", help="trust the TEST-ONLY key in fixtures/keys"
    )
    p.add_argument("--deny", type=Path, metavar="FILE", help="deny-list JSON file")
    p.add_argument("--decoder", choices=DECODER_NAMES, help=f"default: {DEFAULT_DECODER}")
    p.add_argument("--at", metavar="TIME", help="verify as at this ISO time (support)")
    p.add_argument("--skew", type=int, default=DEFAULT_SKEW_S, help="clock skew allowed, s")
    p.add_argument("--timeout", type=float, default=30.0, help="--camera: seconds to wait")
    p.set_defaults(func=run)


def load_config(args: argparse.Namespace) -> Config:
    return config_mod.load(getattr(args, "data_dir", None), getattr(args, "config", None))


def load_keys(args: argparse.Namespace, cfg: Config) -> dict[str, bytes]:
    folder = DEMO_KEYS_DIR if args.demo_keys else args.keys or cfg.data_dir / "keys"
    try:
        keys = load_public_keys(folder)
    except (ValueError, OSError) as exc:
        raise CommandError("scan.error.bad_key_file", path=str(folder)) from exc
    if not keys and (args.keys or args.demo_keys):
        raise CommandError("scan.error.no_keys", path=str(folder))
    if not (args.keys or args.demo_keys):
        keys.update(synced(cfg)[0])
    return keys


def synced(cfg: Config) -> tuple[dict[str, bytes], frozenset[str]]:
    """The keys and deny-list head office's pull keeps in the till's database, if there is one."""
    from loyalty import outbox
    from loyalty.till import DB_FILE, Till

    if not (cfg.data_dir / DB_FILE).is_file():
        return {}, frozenset()
    till = Till.open(cfg.data_dir)
    try:
        return outbox.public_keys(till), outbox.deny_list(till)
    finally:
        till.close()


def load_deny_list(args: argparse.Namespace, cfg: Config) -> DenyList:
    path = args.deny or cfg.data_dir / "denylist.json"
    denied = synced(cfg)[1] if args.deny is None else frozenset()
    from_db = DenyList(revoked_cards=denied, blocked_members=denied)
    if args.deny is None and not path.is_file():
        return from_db
    try:
        listed = DenyList.from_mapping(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError) as exc:
        raise CommandError("scan.error.bad_deny_list", path=str(path)) from exc
    return DenyList(
        revoked_cards=listed.revoked_cards | from_db.revoked_cards,
        blocked_members=listed.blocked_members | from_db.blocked_members,
    )


def parse_now(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError("cli.error.bad_input", detail=f"--at {text}") from exc
    if when.tzinfo is None:
        raise CommandError("cli.error.bad_input", detail=f"--at {text}: add a UTC offset")
    return when.astimezone(dt.UTC)


def choose_decoder(args: argparse.Namespace, cfg: Config) -> Decoder:
    from terminal.cli_language import cli_language
    from terminal.i18n import translator

    name = (
        args.decoder or os.environ.get("TILL_DECODER") or cfg.raw.get("decoder") or DEFAULT_DECODER
    )
    try:
        choice = make_decoder(str(name))
    except ValueError as exc:
        raise CommandError("cli.error.bad_input", detail=f"decoder {name}") from exc
    except ImportError as exc:
        raise CommandError("scan.error.no_decoder", exit_code=1) from exc
    if choice.fell_back_from:
        t = translator(cli_language())
        print(
            "till: " + t("scan.decoder_fallback", wanted=name, using=choice.decoder.name),
            file=sys.stderr,
        )
    return choice.decoder


def as_json(code: MemberCode, source: str) -> dict[str, Any]:
    return {
        "valid": True,
        "kind": str(code.kind),
        "member_id": code.member_id,
        "card_number": code.card_number,
        "key_id": code.key_id,
        "valid_from": code.valid_from.isoformat() if code.valid_from else None,
        "valid_until": code.valid_until.isoformat() if code.valid_until else None,
        "layout": code.layout,
        "source": source,
    }


def refuse(result: ScanRefused) -> CommandError:
    """``scan.refused.<reason>`` with the refusal's parameters (exit 2)."""
    params: dict[str, Any] = dict(result.params)
    return CommandError(f"scan.refused.{result.reason.value}", **params)


def _scan_error(exc: ScanError) -> CommandError:
    params: dict[str, Any] = dict(exc.params)
    return CommandError(f"scan.error.{exc.code}", **params)


def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = load_config(args)
    verify_kw: dict[str, Any] = {
        "keys": load_keys(args, cfg),
        "now": parse_now(args.at),
        "deny": load_deny_list(args, cfg),
        "skew_s": args.skew,
        "replay_guard": MemoryReplayGuard(),
    }
    if args.text is not None:
        typed = verify_typed(args.text, **verify_kw)
        if isinstance(typed, ScanRefused):
            raise refuse(typed)
        return as_json(typed, "text")
    decoder = choose_decoder(args, cfg)
    # OpenCV logs a failing camera to stderr on its own; our one translated line says it.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if args.image is not None:
        try:
            gray = read_image(args.image)
        except ScanError as exc:
            raise _scan_error(exc) from exc
        result = first_verified(decoder.decode(gray), **verify_kw)
        source = "image"
    elif args.video is not None:
        if not args.video.is_file():
            raise CommandError("scan.error.file_not_found", path=str(args.video))
        result = _watch(str(args.video), decoder, args, verify_kw, live=False)
        source = "video"
    else:
        result = _watch(args.camera, decoder, args, verify_kw, live=True)
        source = "camera"
    if result is None:
        raise CommandError("scan.error.no_code")
    if isinstance(result, ScanRefused):
        raise refuse(result)
    return as_json(result, source)


def _watch(
    source: str,
    decoder: Decoder,
    args: argparse.Namespace,
    verify_kw: dict[str, Any],
    *,
    live: bool,
) -> MemberCode | ScanRefused | None:
    """The first member code the video or camera shows (a refused one counts)."""
    events: queue.Queue[CameraEvent] = queue.Queue()
    reader = CameraReader(source, decoder, events.put, live=live, reopen_after_s=None)
    reader.start()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=args.timeout)
    try:
        while True:
            left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
            if live and left <= 0:
                return None
            try:
                event = events.get(timeout=max(0.05, left) if live else 5.0)
            except queue.Empty:
                if live or not reader.running:
                    return None
                continue
            if isinstance(event, CameraFailed):
                code = "camera_failed" if live else "unreadable_video"
                raise CommandError(f"scan.error.{code}", source=source, path=source)
            if isinstance(event, CameraEnded):
                return None
            if isinstance(event, CodeSeen):
                result = first_verified([event.payload], **verify_kw)
                if result is not None:
                    return result
    finally:
        reader.stop()
