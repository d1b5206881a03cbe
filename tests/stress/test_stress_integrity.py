"""bench/stress/integrity.py's scenarios: a restored till, a poison entry and a tampering till
lose nothing, store nothing twice, credit nothing beyond the honest entries, and alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stress import _bench  # noqa: F401  (puts bench/stress on sys.path)

integrity = pytest.importorskip("integrity")


@pytest.mark.slow
def test_restore_poison_and_tamper_lose_nothing_and_credit_nothing_forged(tmp_path: Path) -> None:
    outcomes = {o.name: o for o in integrity.run(tmp_path)}
    assert all(o.lost == 0 and o.twice == 0 and o.over_credited == 0 for o in outcomes.values())
    assert all(o.outbox == 0 for o in outcomes.values())
    restore = outcomes["restore from a backup"]
    assert (restore.stored, restore.held, restore.alert) == (restore.entries, 0, "till_restored")
    expected = {
        "poison entry (4e14 points)": "invalid_entry",
        "entry edited behind triggers": "chain_broken",
        "points rewritten with hashes": "points_beyond_program",
    }
    for name, alert in expected.items():
        o = outcomes[name]
        assert (o.held, o.stored + o.held, o.alert) == (1, o.entries, alert), o
