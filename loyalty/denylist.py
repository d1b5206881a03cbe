"""The deny-list on every path to a member: a member head office blocked, or whose id or card
number head office deny-listed (pulled into the till's ``deny_list`` table), is not served
however the cashier reached them: a scan, a typed card number, member id or phone number, the
command line or the app. One refusal, ``member_blocked``, whatever the path."""

from __future__ import annotations

import sqlite3

from loyalty.errors import Refused
from loyalty.members import Member


def listed(conn: sqlite3.Connection, codes: list[str]) -> bool:
    """Whether any of ``codes`` is on the deny-list head office sent."""
    codes = [c for c in codes if c]
    if not codes:
        return False
    marks = ", ".join("?" * len(codes))
    row = conn.execute(f"SELECT 1 FROM deny_list WHERE code IN ({marks}) LIMIT 1", codes)
    return row.fetchone() is not None


def is_denied(conn: sqlite3.Connection, member: Member, typed: str | None = None) -> bool:
    codes = [member.member_id, member.card_number or ""]
    if typed:
        codes.append(typed)
    return member.blocked or listed(conn, codes)


def refuse_denied(conn: sqlite3.Connection, member: Member, typed: str | None = None) -> None:
    """Raise ``Refused("member_blocked")`` for a blocked or deny-listed member."""
    if is_denied(conn, member, typed):
        raise Refused("member_blocked", member=member.member_id)
