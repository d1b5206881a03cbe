"""Head office's member snapshots are checked before the till stores them (a push answer or a
pull page): each pending release time must be a fixed-width UTC time and each pending amount
within the protocol's bound, or the snapshot is refused with a clear code."""

from __future__ import annotations

import pytest

from loyalty.errors import BadInput
from loyalty.members import MAX_POINTS, MemberSnapshot, check_snapshot

GOOD = "2026-12-16T07:10:00.000000Z"


def snap(pending: tuple[tuple[int, str], ...]) -> MemberSnapshot:
    return MemberSnapshot("M1", "2026-12-02T07:10:00.000000Z", balance=10, pending=pending)


def refusal(s: MemberSnapshot) -> str | None:
    try:
        check_snapshot(s)
    except BadInput as exc:
        return exc.code
    return None


def test_good_pending_points_pass() -> None:
    assert (
        refusal(snap(((12, GOOD), (-3, "2027-01-01T00:00:00.000000Z"), (MAX_POINTS, GOOD)))) is None
    )
    assert refusal(snap(())) is None


@pytest.mark.parametrize(
    "times",
    [
        ("yesterday",),
        ("",),
        (GOOD, "2026-12-16 07:10:00.000000Z"),  # a space for the T
        (GOOD[:-1],),  # no Z
        (GOOD + "\n",),
        # 26 + 28 characters: joined, they read as two good times.
        (GOOD[:-1], "Z" + GOOD),
        (GOOD + GOOD,),  # two good times in one
    ],
)
def test_malformed_pending_times_are_refused(times: tuple[str, ...]) -> None:
    assert refusal(snap(tuple((5, t) for t in times))) == "malformed_time"


@pytest.mark.parametrize("points", [MAX_POINTS + 1, -MAX_POINTS - 1])
def test_pending_points_beyond_the_bound_are_refused(points: int) -> None:
    assert refusal(snap(((5, GOOD), (points, GOOD)))) == "malformed_points"
