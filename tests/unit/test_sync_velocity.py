"""What head office does with a batch's redemptions: a velocity alert when one member redeems
too often in one day, and the online holds they were captured with settled."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec

from loyalty.ledger import GENESIS
from sync import protocol as p
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.sync_fixtures import postgres, store_url

__all__ = ["postgres", "store_url"]

PROGRAM = (Path(__file__).resolve().parents[2] / "fixtures" / "program.toml").read_text("utf-8")


def _entries(
    terminal_id: str,
    first_seq: int,
    rows: list[tuple[str, str, int, str]],
    receipts: list[str | None] | None = None,
    prev: str = GENESIS,
) -> bytes:
    """A batch whose chain links to ``prev`` (the hash of the entry before ``first_seq``)."""
    out = []
    for i, (member, kind, points, day) in enumerate(rows):
        e = p.WireEntry(
            entry_id=str(uuid.uuid4()),
            terminal_id=terminal_id,
            seq=first_seq + i,
            member_id=member,
            kind=kind,
            points=points,
            amount_minor=0,
            currency="EUR",  # type: ignore[arg-type]
            receipt_no=receipts[i] if receipts else None,
            reverses=None,
            reward_id=None,
            program_version="2026.1",
            occurred_at=f"{day}T10:00:00.000000Z",
            offline=True,
            cashier_id="anna",
            reason="t",
            prev_hash=prev,
            hash="0" * 64,
        )
        e = msgspec.structs.replace(e, hash=p.chain_hash(prev, e))
        prev = e.hash
        out.append(e)
    return p.encode(p.PushRequest(terminal_id=terminal_id, entries=out))


def _velocity(ho: HeadOffice, after: int = 0) -> list[p.Alert]:
    """The velocity alerts (these redemptions overdraw balances too: overdraft alerts)."""
    return [a for a in ho.alerts(after).alerts if a.kind == "velocity"]


def _last_hash(ho: HeadOffice, terminal_id: str) -> str:
    with ho.store.transaction() as tx:
        row = tx.one(
            "SELECT hash FROM entries WHERE terminal_id = ? ORDER BY seq DESC LIMIT 1",
            (terminal_id,),
        )
    assert row is not None
    return str(row[0])


def test_velocity_alert_counts_redemptions_per_member_and_day_across_tills(
    store_url: str,
) -> None:
    ho = HeadOffice(open_store(store_url), velocity_limit=4)
    ho.publish_program(PROGRAM)
    ho.register_till("T1")
    ho.register_till("T2")
    day, other = "2026-11-20", "2026-11-21"
    # T1: 2 redemptions by M1 that day, one earn, one redemption another day, one by M2.
    ho.push(
        "T1",
        _entries(
            "T1",
            1,
            [
                ("M1", "redeem", -250, day),
                ("M1", "redeem", -250, day),
                ("M1", "earn", 10, day),
                ("M1", "redeem", -250, other),
                ("M2", "redeem", -250, day),
            ],
        ),
        None,
    )
    assert _velocity(ho) == []
    # T2: one more redemption and a donation by M1 that day: 4 in all, the limit.
    ho.push(
        "T2", _entries("T2", 1, [("M1", "redeem", -250, day), ("M1", "donate", -200, day)]), None
    )
    (alert,) = _velocity(ho)
    assert (alert.kind, alert.member_id, alert.day, alert.count, alert.limit) == (
        "velocity",
        "M1",
        day,
        4,
        4,
    )
    assert alert.terminal_ids == ["T1", "T2"]
    # One more: the same alert, updated, not a second one.
    ho.push("T2", _entries("T2", 3, [("M1", "redeem", -250, day)], prev=_last_hash(ho, "T2")), None)
    (again,) = _velocity(ho)
    assert (again.alert_id, again.count) == (alert.alert_id, 5)
    assert _velocity(ho, after=again.alert_id) == []
    ho.store.close()


def test_a_pushed_redemption_settles_the_hold_captured_for_its_receipt(store_url: str) -> None:
    ho = HeadOffice(open_store(store_url))
    ho.publish_program(PROGRAM)
    ho.register_till("T1")
    day = "2026-11-20"
    ho.push("T1", _entries("T1", 1, [("M1", "adjust", 1000, day)]), None)  # spendable at once
    holds = [ho.authorise("T1", p.HoldRequest("M1", 300, 120)) for _ in range(2)]
    assert holds[1].available == 400
    for hold, receipt in zip(holds, ("R1", "R2"), strict=True):
        ho.capture("T1", hold.hold_id, receipt)
    # Both redemptions arrive in one batch: their holds stop counting against the balance,
    # which now has the points taken out instead (not both at once).
    ho.push(
        "T1",
        _entries(
            "T1",
            2,
            [("M1", "redeem", -300, day)] * 2,
            receipts=["R1", "R2"],
            prev=_last_hash(ho, "T1"),
        ),  # fmt: skip
        None,
    )
    assert ho.member("M1").balance == 400
    assert ho.authorise("T1", p.HoldRequest("M1", 1, 120)).available == 399
    ho.store.close()
