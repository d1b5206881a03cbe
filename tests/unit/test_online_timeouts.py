"""The head-office timeouts come from the settings; a value that is not a number of seconds
(or is absurd) falls back to the default instead of stopping the till."""

from __future__ import annotations

from pathlib import Path

from terminal.config import Config
from terminal.syncing import timeouts


def config(**raw: object) -> Config:
    return Config(data_dir=Path("."), raw=raw)  # type: ignore[arg-type]


def test_defaults_are_seconds_not_minutes() -> None:
    sync, call = timeouts(config())
    assert (sync.connect, sync.read, call.connect, call.read) == (3.0, 10.0, 3.0, 4.0)


def test_settings_win_and_nonsense_falls_back() -> None:
    sync, call = timeouts(config(headoffice_timeout_s=25, online_call_timeout_s=2.5))
    assert (sync.read, sync.write, call.read, call.connect) == (25.0, 25.0, 2.5, 2.5)
    sync, call = timeouts(config(headoffice_timeout_s="soon", online_call_timeout_s=-1))
    assert (sync.read, call.read) == (10.0, 4.0)
