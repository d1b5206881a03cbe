"""Head office's word on once-only bonuses already paid (``once_paid`` in a member's snapshot)
is kept with the member at the till, refuses the bonus there, survives a snapshot from an older
head office that does not send it, and is refused when malformed, with nothing stored."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from loyalty import sales
from loyalty.db import to_text
from loyalty.errors import BadInput
from loyalty.members import MemberSnapshot
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till
from sync import protocol as p


def snap(now: dt.datetime, **kw: object) -> MemberSnapshot:
    return MemberSnapshot("M000002", to_text(now), card_number="400000000010",  # type: ignore[arg-type]
                          display_name="Piotr", language="pl", has_purchased=True,
                          birthday=now.strftime("%m-%d"), **kw)  # fmt: skip


def birthday_points(till: Till, now: dt.datetime) -> int:
    req = SaleRequest("M000002", "anna", (BasketLine("OIL", "pantry", 2000),))
    result = sales.preview(till, req, now)
    return sum(line.points for line in result.earned if line.reason == "promo:birthday")


def test_a_bonus_head_office_holds_as_paid_is_not_paid_at_the_till(
    till: Till, now: dt.datetime
) -> None:
    # Last year's birthday bonus does not stand in the way of this year's.
    till.apply_snapshots([snap(now, once_paid=("birthday:2025", "welcome"))], now)
    assert birthday_points(till, now) == 200
    till.apply_snapshots([snap(now, once_paid=("birthday:2025", "birthday:2026"))], now)
    assert till.member("M000002").once_paid == {"birthday:2025", "birthday:2026"}
    assert birthday_points(till, now) == 0
    # A later snapshot from an older head office says nothing about it: the till keeps it.
    later = now + dt.timedelta(minutes=5)
    till.apply_snapshots([snap(later, balance=7)], later)
    assert till.member("M000002").balance == 7
    assert till.member("M000002").once_paid == {"birthday:2025", "birthday:2026"}
    assert birthday_points(till, later) == 0


@pytest.mark.parametrize(
    "keys", [("",), ("welcome:26",), ("we lcome",), ("x" * 65,), ("welcome",) * 1001]
)
def test_a_malformed_once_paid_list_is_refused_and_nothing_stored(
    till: Till, now: dt.datetime, keys: tuple[str, ...]
) -> None:
    before = till.member("M000002")
    with pytest.raises(BadInput) as exc:
        till.apply_snapshots([snap(now, balance=99, once_paid=keys)], now)
    assert exc.value.code == "malformed_once_paid"
    assert till.member("M000002") == before


def test_old_and_new_answers_decode_both_ways() -> None:
    """An older head office's member state (no once_paid) decodes with none; a newer one's
    decodes at a till that does not know the field (an older till ignores it)."""
    old = b'{"member_id": "M1", "snapshot_at": "2026-12-02T07:10:00.000000Z"}'
    assert msgspec.json.decode(old, type=p.MemberState).once_paid == []

    class OlderMemberState(msgspec.Struct):
        member_id: str
        snapshot_at: str

    new = p.encode(p.MemberState("M1", "2026-12-02T07:10:00.000000Z", once_paid=["welcome"]))
    assert msgspec.json.decode(new, type=OlderMemberState).member_id == "M1"
    assert p.snapshot(msgspec.json.decode(new, type=p.MemberState)).once_paid == ("welcome",)
