"""A small run of bench/stress/faults.py: tills push through a fault-injecting proxy while head
office is killed and restarted; every entry arrives once and every till shows its balances."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stress import _bench  # noqa: F401  (puts bench/stress on sys.path)

faults = pytest.importorskip("faults")


@pytest.mark.slow
def test_every_entry_arrives_exactly_once_through_faults_and_restarts(tmp_path: Path) -> None:
    fig = faults.run(tills=2, seconds=6, seed=3, restarts=1, workdir=tmp_path)
    assert sum(fig.requests_faulted.values()) > 5 and fig.restarts == 1
    assert fig.retries > 0
    assert fig.entries_sent > 0 and fig.headoffice_entries == fig.entries_sent
    assert (fig.lost, fig.duplicated, fig.unknown, fig.seq_gaps) == (0, 0, 0, 0)
    assert fig.balance_mismatches == 0 and fig.unacked == 0
