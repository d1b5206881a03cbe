"""Who may do what at the command line: the cashier must be one of the till's configured
cashiers (when any are configured), and a manager override needs a configured manager and their
PIN. The PIN is asked for on the terminal (getpass) when stdin is one; a script gives it in
``TILL_MANAGER_PIN`` or as one line on stdin. It is checked against the config's scrypt hash
(terminal.auth) and never echoed, logged or kept."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys

from loyalty.errors import BadInput
from loyalty.policy import Override
from loyalty.till import Till
from terminal.auth import LockedOut, cashiers_from
from terminal.cli_language import cli_language
from terminal.config import Config
from terminal.errors import CommandError
from terminal.i18n import translator
from terminal.pin_lockout import shared_guard

PIN_VARIABLE = "TILL_MANAGER_PIN"
MAX_PIN = 64


def _config_name(cfg: Config) -> str:
    return str(cfg.config_file or cfg.data_dir / "config.toml")


def cashier_id(args: argparse.Namespace, cfg: Config) -> str:
    """``--cashier``, else the config's or TILL_CASHIER; one of the configured cashiers when the
    config has any (a till without cashiers configured takes any well-formed id, as before)."""
    chosen = str(getattr(args, "cashier", None) or cfg.cashier)
    cashiers = cashiers_from(cfg.raw)
    if cashiers and chosen not in cashiers:
        raise CommandError("cli.error.unknown_cashier", cashier=chosen[:40], file=_config_name(cfg))
    return chosen


def read_pin(manager_id: str) -> str:
    """The manager's PIN: prompted without echo on a terminal, else TILL_MANAGER_PIN, else the
    first line of stdin."""
    try:
        if sys.stdin is not None and sys.stdin.isatty():
            t = translator(cli_language())
            pin = getpass.getpass(t("cli.prompt.manager_pin", manager=manager_id) + " ")
        elif os.environ.get(PIN_VARIABLE):
            pin = os.environ[PIN_VARIABLE]
        else:
            pin = sys.stdin.readline(MAX_PIN + 2) if sys.stdin is not None else ""
    except (EOFError, OSError, UnicodeDecodeError):
        pin = ""
    pin = pin.rstrip("\r\n")
    if not pin:
        raise CommandError("cli.error.manager_pin_missing", variable=PIN_VARIABLE)
    return pin


def manager_override(args: argparse.Namespace, cfg: Config, till: Till) -> Override | None:
    """``--override-manager ID --override-reason TEXT`` checked: ID is a configured manager and
    the PIN is theirs, behind the lock-out after wrong PINs that every process of this till
    shares (terminal.pin_lockout). None when no override was asked for."""
    manager_id = getattr(args, "override_manager", None)
    if not manager_id:
        return None
    reason = str(getattr(args, "override_reason", None) or "")
    if not reason.strip():
        raise BadInput("reason_required")
    managers = {k: c for k, c in cashiers_from(cfg.raw).items() if c.manager}
    if not managers:
        raise CommandError("cli.error.no_managers", file=_config_name(cfg))
    pin = read_pin(manager_id)
    now = dt.datetime.now(dt.UTC)
    got = shared_guard(till.db, cfg.raw).sign_in(managers, manager_id, pin, now)
    if isinstance(got, LockedOut):
        t = translator(cli_language())
        until = t.datetime(got.until, till.program.timezone)
        raise CommandError("cli.error.manager_locked_out", manager=got.cashier_id, until=until)
    if got is None:
        raise CommandError("cli.error.override_refused", manager=manager_id[:40])
    return Override(manager_id.strip(), reason)
