"""Which member a printed POS receipt is for (terminal/pos/presence.py), on an injected clock:
the last identified, within the window counted from the identification, taken once; one per
lane when lanes are kept apart by address."""

from __future__ import annotations

import datetime as dt

from terminal.pos.presence import Presence

T0 = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_the_last_identified_within_the_window_taken_once() -> None:
    p = Presence(window_s=180)
    p.identified("M1", at(0))
    p.identified("M2", at(10))  # a later identification replaces the earlier one
    assert p.take(at(190)) == "M2"  # 180 s after M2, inclusive
    assert p.take(at(191)) is None  # once
    p.identified("M3", at(200))
    assert p.take(at(381)) is None  # 181 s: too late, and gone
    p.identified("M4", at(400))
    assert p.take(at(399)) is None  # a clock that went back: not theirs


def test_shared_lanes_ignore_addresses() -> None:
    p = Presence()
    p.identified("M1", at(0), "10.0.0.2")
    p.identified("M2", at(1), "10.0.0.3")
    assert p.take(at(2), address="10.0.0.2") == "M2"
    assert p.take(at(3), address="10.0.0.3") is None


def test_lanes_by_address_keep_each_lane_its_own_member() -> None:
    p = Presence(by_address=True)
    p.identified("M1", at(0), "10.0.0.2")
    p.identified("M2", at(1), "10.0.0.3")
    p.identified("M9", at(2))  # the till's own screen: no lane
    assert p.take(at(5), address="10.0.0.2") == "M1"
    assert p.take(at(6), address="10.0.0.3") == "M2"
    assert p.take(at(7), address="10.0.0.4") is None  # nobody identified at that lane
    assert p.take(at(8)) == "M9"  # the screen's own (the till's sale takes it back)


def test_lanes_gone_quiet_are_forgotten() -> None:
    p = Presence(by_address=True, window_s=60)
    for n in range(50):
        p.identified(f"M{n}", at(0), f"10.0.1.{n}")
    p.identified("M99", at(61), "10.0.2.1")
    assert len(p._members) == 1
