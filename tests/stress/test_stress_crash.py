"""A small run of bench/stress/crash.py: real `till` processes SIGKILLed during sales, prints
and syncs; nothing reported or printed is lost, nothing is doubled, head office agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stress import _bench  # noqa: F401  (puts bench/stress on sys.path)

crash = pytest.importorskip("crash")


@pytest.mark.slow
def test_kills_during_sales_prints_and_syncs_lose_and_double_nothing(tmp_path: Path) -> None:
    fig = crash.run(
        runs=10,
        sales_per_run=6,
        seed=7,
        cold_every=5,
        sync_share=0.3,
        workdir=tmp_path,
        min_kills=5,
    )
    assert fig.problems == []
    assert sum(fig.kills.values()) >= 5
    assert fig.sales_in_till > 0 and fig.printed > 0
    assert (fig.lost, fig.duplicated, fig.printed_twice) == (0, 0, 0)
    ho = fig.headoffice
    assert (ho["lost"], ho["duplicated"], ho["unknown"], ho["seq_gaps"], ho["unacked"]) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert fig.ok()
