"""Where the till's settings come from: command-line flag, then environment variable, then the
TOML config file, then a default. Devices and peers are each one string (see README).

A config file that holds secrets (cashiers' PIN hashes, a token, secret or password, a URL with
a password), wherever it is, is made private like the databases: 0600 when it is open to others
and ours, refused with one line (``unsafe_permissions``) when it cannot be made so. A 4-digit
PIN's scrypt hash falls to offline guessing: no other user may read it."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from loyalty import tomlsafe
from loyalty.files import tighten
from terminal.errors import CommandError

APP_NAME = "loyalty-till"


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    config_file: Path | None = None
    language: str = "en"
    printer: str = "dummy:"
    printer_profile: str = "TM-T88V"
    paper_mm: int = 80
    camera: str | None = None
    shopper_camera: str | None = None  # the shopper-facing camera (the shopper scans their code)
    headoffice: str | None = None
    cashier: str = "cli"
    shop_name: str = "Olive & Oak"
    shop_address: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomlsafe.loads(path.read_bytes().decode("utf-8"))
    except tomlsafe.TooDeep:
        raise CommandError(
            "cli.error.config_too_deep", file=str(path), limit=tomlsafe.MAX_DEPTH
        ) from None
    except UnicodeDecodeError as exc:
        raise CommandError("cli.error.bad_config", file=str(path), detail=str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise CommandError("cli.error.bad_config", file=str(path), detail=str(exc)) from None
    except OSError as exc:
        raise CommandError(
            "cli.error.bad_config", file=str(path), detail=exc.strerror or str(exc)
        ) from None


_SECRET_WORDS = ("pin_hash", "token", "secret", "password", "passwd")


def holds_secrets(value: Any, key: str = "") -> bool:
    """Whether a config's values hold a secret: a key naming one, or a URL with a password."""
    if any(word in key.lower() for word in _SECRET_WORDS) and value not in ("", None):
        return True
    if isinstance(value, dict):
        return any(holds_secrets(v, str(k)) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_secrets(v, key) for v in value)
    if isinstance(value, str) and "://" in value:
        userinfo = value.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
        return ":" in userinfo
    return False


def _read_private(path: Path) -> dict[str, Any]:
    values = _read(path)
    if holds_secrets(values):
        tighten(path)
    return values


def load(data_dir: str | None = None, config: str | None = None) -> Config:
    env = os.environ
    explicit = config or env.get("TILL_CONFIG")
    file_values: dict[str, Any] = {}
    config_file: Path | None = None
    if explicit:
        config_file = Path(explicit)
        file_values = _read_private(config_file)
    base = Path(
        data_dir
        or env.get("TILL_DATA_DIR")
        or file_values.get("data_dir")
        or platformdirs.user_data_dir(APP_NAME)
    )
    if config_file is None and (base / "config.toml").is_file():
        config_file = base / "config.toml"
        file_values = _read_private(config_file)

    def pick(key: str, default: Any) -> Any:
        return env.get(f"TILL_{key.upper()}") or file_values.get(key) or default

    lang = env.get("TILL_LANGUAGE") or file_values.get("language") or env.get("LANG") or "en"
    return Config(
        data_dir=base,
        config_file=config_file,
        language=str(lang),
        printer=str(pick("printer", "dummy:")),
        printer_profile=str(pick("printer_profile", "TM-T88V")),
        paper_mm=int(pick("paper_mm", 80)),
        camera=pick("camera", None),
        shopper_camera=pick("shopper_camera", None),
        headoffice=pick("headoffice", None),
        cashier=str(pick("cashier", "cli")),
        shop_name=str(file_values.get("shop_name", "Olive & Oak")),
        shop_address=str(file_values.get("shop_address", "")),
        raw=file_values,
    )
