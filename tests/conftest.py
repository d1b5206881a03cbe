"""Shared fixtures. Everything is real: SQLite files in tmp_path, servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.db import to_text
from loyalty.members import MemberSnapshot
from loyalty.till import Till

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PROGRAM = FIXTURES / "program.toml"
# A Wednesday (no double points), mid-morning in Athens.
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    """An initialised till on a real SQLite file, with two members head office sent 1 h ago."""
    t = Till.open(tmp_path / "till", must_exist=False)
    t.initialise("ATH01-T1", PROGRAM.read_text(encoding="utf-8"), str(PROGRAM), NOW)
    as_of = to_text(NOW - dt.timedelta(hours=1))
    t.apply_snapshots(
        [
            MemberSnapshot(
                "M000001",
                as_of,
                card_number="400000000002",
                display_name="Eleni",
                language="el",
                balance=1200,
                tier_id="olive",
                tier_progress=30000,
                has_purchased=True,
                birthday="03-14",
            ),
            MemberSnapshot(
                "M000002",
                as_of,
                card_number="400000000010",
                display_name="Piotr",
                language="pl",
                balance=5000,
                tier_id="oak",
                tier_progress=60000,
                has_purchased=True,
            ),
        ],
        NOW,
    )
    yield t
    t.close()
