"""Head office's side of once-only bonuses, with batches as a dishonest or unlucky till would
push them (SQLite and PostgreSQL): a welcome bonus above its face value keeps the face value; a
duplicate refunded in two parts is given back exactly what was taken, never more; and the
reasons head office writes read in every language."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec

from loyalty.ledger import GENESIS
from loyalty.program import parse_program
from sync import protocol as p
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from terminal.i18n import translator
from terminal.receipts import _earn_label
from tests.sync_fixtures import postgres, store_url

__all__ = ["postgres", "store_url"]

PROGRAM = (Path(__file__).resolve().parents[2] / "fixtures" / "program.toml").read_text("utf-8")
WHEN = "2026-11-20T10:00:00.000000Z"
Row = tuple[str, str, int, int, str, str | None]  # member, kind, points, amount, reason, reverses


class Till:
    """A till's side of the wire: entries chained as a till chains them."""

    def __init__(self, ho: HeadOffice, terminal_id: str) -> None:
        self.ho, self.terminal_id = ho, terminal_id
        self.seq, self.prev = 0, GENESIS
        ho.register_till(terminal_id)

    def push(self, rows: list[Row]) -> list[str]:
        out, ids = [], []
        for member, kind, points, amount, reason, reverses in rows:
            self.seq += 1
            e = p.WireEntry(
                entry_id=str(uuid.uuid4()), terminal_id=self.terminal_id, seq=self.seq,
                member_id=member, kind=kind, points=points, amount_minor=amount,
                currency="EUR", receipt_no=f"{self.terminal_id}-{self.seq:06d}",
                reverses=reverses, reward_id=None, program_version="2026.11.1",
                occurred_at=WHEN, offline=True, cashier_id="anna", reason=reason,
                prev_hash=self.prev, hash="0" * 64,
            )  # type: ignore[arg-type]  # fmt: skip
            e = msgspec.structs.replace(e, hash=p.chain_hash(self.prev, e))
            self.prev = e.hash
            out.append(e)
            ids.append(e.entry_id)
        self.ho.push(self.terminal_id, p.encode(p.PushRequest(self.terminal_id, out)), None)
        return ids


def points(ho: HeadOffice, member_id: str) -> tuple[int, list[tuple[str, int]]]:
    """All the member's points at head office, and head office's own entries (reason, points)."""
    with ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT terminal_id, points, reason FROM entries WHERE member_id = ? ORDER BY id",
            (member_id,),
        )
    own = [(r[2].split(":")[0], int(r[1])) for r in rows if r[0] == HEADOFFICE]
    return sum(int(r[1]) for r in rows), own


def test_a_first_payment_above_face_value_keeps_the_face_value(store_url: str) -> None:
    ho = HeadOffice(open_store(store_url))
    ho.publish_program(PROGRAM)
    till = Till(ho, "T1")
    # A till that rewrote its ledger: a welcome bonus of 600 instead of 100 on a EUR 20 sale.
    till.push([("M1", "earn", 20, 2000, "base", None),
               ("M1", "bonus", 600, 2000, "promo:welcome", None)])  # fmt: skip
    total, own = points(ho, "M1")
    assert total == 120 and own == [("above_face_value", -500)]
    state = ho.member("M1")
    assert state.balance + sum(x for x, _ in state.pending) == 120
    ho.store.close()


def test_a_duplicate_refunded_in_two_parts_is_given_back_what_was_taken(store_url: str) -> None:
    ho = HeadOffice(open_store(store_url))
    ho.publish_program(PROGRAM)
    a, b = Till(ho, "A"), Till(ho, "B")
    a.push([("M1", "earn", 20, 2000, "base", None),
            ("M1", "bonus", 100, 2000, "promo:welcome", None)])  # fmt: skip
    _, dup = b.push([("M1", "earn", 30, 3000, "base", None),
                     ("M1", "bonus", 100, 3000, "promo:welcome", None)])  # fmt: skip
    assert points(ho, "M1") == (150, [("already_paid", -100)])
    # B refunds its sale in two halves, both in one batch: each reverses 50 of the bonus that
    # head office took back already; head office gives back 50 and 50, no more.
    b.push([("M1", "reverse", -15, -1500, "refund:base", None),
            ("M1", "reverse", -50, 0, "refund:promo:welcome", dup),
            ("M1", "reverse", -15, -1500, "refund:base", None),
            ("M1", "reverse", -50, 0, "refund:promo:welcome", dup)])  # fmt: skip
    total, own = points(ho, "M1")
    assert own == [("already_paid", -100), ("already_reversed", 50), ("already_reversed", 50)]
    assert total == 120  # A's sale and A's welcome bonus, once
    # A third, made-up reversal of the same bonus gets nothing more back.
    b.push([("M1", "reverse", -40, 0, "refund:promo:welcome", dup)])
    assert points(ho, "M1")[1][-1] == ("already_reversed", 50)
    assert points(ho, "M1")[0] == 80
    ho.store.close()


def test_head_offices_reasons_read_in_every_language() -> None:
    program = parse_program(PROGRAM)
    for lang in ("en", "el", "pl", "ro", "th", "fa"):
        t = translator(lang)
        welcome = program.promotion("welcome")
        assert welcome is not None
        name = welcome.name.get(lang, welcome.name["en"])
        for reason in ("already_paid:welcome", "above_face_value:welcome"):
            assert name in _earn_label(t, program, reason, lang), (lang, reason)
        other = t("receipt.earn.other")
        assert _earn_label(t, program, "already_reversed:x", lang) not in ("", other)
