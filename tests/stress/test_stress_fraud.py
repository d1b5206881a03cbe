"""bench/stress/fraud.py's scenarios: offline double spending stays within the offline policy,
replays and stolen tokens store nothing, and a velocity alert reaches head office."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stress import _bench  # noqa: F401  (puts bench/stress on sys.path)

fraud = pytest.importorskip("fraud")


@pytest.mark.slow
def test_overdrafts_stay_within_the_offline_policy_and_alerts_reach_head_office(
    tmp_path: Path,
) -> None:
    outcomes, alerts = fraud.run(allowance=1000, budget=2500, velocity_limit=10, workdir=tmp_path)
    for o in outcomes:
        assert o.overdraft <= o.bound, o
    by_name = {o.scenario: o for o in outcomes}
    assert by_name["2 tills offline, one member"].overdraft > 0  # the policy's known exposure
    for days in ("+4", "-4"):  # a wrong clock is corrected by the drift measured at sync
        assert by_name[f"clock {days} days since before the last sync, 2 tills"].redeemed > 0
    assert by_name["5 days offline, clock right, 2 tills"].redeemed == 0  # snapshot too old
    assert by_name["replayed batch (same key, new key, forged ids)"].overdraft == 0
    assert by_name["stolen till token from another till id"].overdraft == 0
    assert [(a.kind, a.member_id) for a in alerts] == [("velocity", "MV")]
    assert alerts[0].count >= 10
