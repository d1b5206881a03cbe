"""A member's channel activity (loyalty/channel_activity.py) in words, for the member panel and
the receipt: "Thank you: Review written  50", "Bought online, €25.00  150", "Points used online
300". One place, so the panel and the receipt say it alike."""

from __future__ import annotations

import datetime as dt

from loyalty import channel_activity
from loyalty.channel_activity import Activity
from loyalty.db import to_text
from loyalty.program import Program, localised
from loyalty.till import Till
from terminal.i18n import Translator


def label(t: Translator, program: Program, a: Activity) -> str:
    """What the activity was, without its points (shown beside it)."""
    if a.kind == "event":
        rule = program.engagement_rule(a.action or "")
        name = localised(rule.name, t.lang) if rule else (a.action or a.ref)
        return t("receipt.online.event", action=name)
    if a.kind == "purchase":
        return t("receipt.online.purchase", amount=t.money(a.amount_minor, program.currency))
    if a.kind == "refund":
        return t("receipt.online.refund", amount=t.money(a.amount_minor, program.currency))
    return t("receipt.online.redemption")


def points(t: Translator, a: Activity) -> str:
    """The points as the receipt shows them: a redemption's spent points as a plain count."""
    return t.number(-a.points if a.kind == "redemption" else a.points)


def line(t: Translator, program: Program, a: Activity) -> str:
    """One line for the member panel: label wording, the number after a colon."""
    return t("app.member.online", label=label(t, program, a), points=points(t, a))


def recent(till: Till, member_id: str, known_by: dt.datetime | None = None) -> tuple[Activity, ...]:
    """The member's newest channel activity this till knows (by ``known_by``, for a receipt)."""
    with till.db.read() as conn:
        when = to_text(known_by) if known_by is not None else None
        return tuple(channel_activity.recent(conn, member_id, when))
