"""An engagement action recorded by a cashier at the till (a rule with ``at_till = true``: a
profile completed at enrolment, an email sign-up at the counter): a ``bonus`` entry of the
rule's points, reason ``engage:<action>``, that syncs like a sale's.

Offline and in good faith, like a once-only bonus: the till refuses what it can see (an action
the program has no rule for or does not let a till record, a blocked member, the cap reached
by this till's own entries in the period, an account this till enrolled that is too young) and
head office makes the rest exact chain-wide when the entry arrives: an entry over the cap there
is taken back (sync/headoffice/engagement.py)."""

from __future__ import annotations

import datetime as dt

from loyalty import denylist, ledger, members
from loyalty.db import from_text, to_text, utc_now
from loyalty.engagement import period_key, refusal
from loyalty.errors import NotFound, Refused
from loyalty.ledger import Entry, NewEntry
from loyalty.sales import check_entries
from loyalty.till import Till, check_cashier


def record(
    till: Till, member_id: str, action: str, cashier_id: str, now: dt.datetime | None = None
) -> Entry:
    """Record ``action`` for the member; refused with a code that says why."""
    now = (now or utc_now()).astimezone(dt.UTC)
    program = till.program
    rule = program.engagement_rule(action)
    if rule is None:
        raise NotFound("unknown_action", action=action[:32])
    if not rule.at_till:
        raise Refused("action_not_at_till", action=action)
    check_cashier(cashier_id)
    with till.db.write() as conn:
        member = members.get(conn, member_id)
        if member is None:
            raise NotFound("unknown_member", member=member_id[:40])
        denylist.refuse_denied(conn, member)
        member_id = member.member_id  # a merged duplicate's: the member kept
        local = program.timezone
        key = period_key(rule.period, now.astimezone(local).date())
        used = sum(
            1
            for (when,) in conn.execute(
                "SELECT occurred_at FROM ledger WHERE member_id = ? AND kind = 'bonus' "
                "AND reason = ?",
                (member_id, rule.reason),
            )
            if period_key(rule.period, from_text(when).astimezone(local).date()) == key
        )
        enrolled = conn.execute(
            "SELECT enrolled_at FROM enrolments WHERE member_id = ?", (member_id,)
        ).fetchone()
        # Only an account this till enrolled has a known age here; head office knows the rest
        # (and takes the points back from an account too young).
        since = from_text(enrolled[0]) if enrolled else now - dt.timedelta(days=10_000)
        why = refusal(rule, since, now, used)
        if why is not None:
            raise Refused(why[0], **why[1])
        new = [NewEntry(member_id, "bonus", rule.points, reason=rule.reason)]
        check_entries(program, new)  # within the program's largest entry, as a sale's
        (entry,) = ledger.append(
            conn, till.terminal_id, new,
            currency=program.currency, program_version=program.version,
            occurred_at=to_text(now), offline=True, cashier_id=cashier_id,
        )  # fmt: skip
    return entry
