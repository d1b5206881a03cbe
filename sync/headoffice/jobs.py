"""Head office's due jobs: the time-based rules applied to every member on the calendar, not
only when the member buys again.

- **Expiry** (the program's ``expiry`` policy): the points of each lot that expired by now are
  written off with an ``expire`` entry of head office's own (one per member and expiry time,
  reason ``expiry``), which takes them out of the lots no balance counted any more.
- **Tier review**: the tier is re-qualified over the program's window as of now (a calendar
  year that ended takes its spend with it); a change is recorded as an ``adjust`` entry of 0
  points, reason ``tier_review:<old>:<new>``.
- **Pending release**: points whose return window closed move into the spendable balance
  (head office keeps pending points on the account, not as entries: nothing to write).
- **Phone keys**: a phone key superseded ``phone_keys.RETIRE_AFTER`` ago is retired.

Each member's row (balance, pending, tier, expiring points and when) is written when it
changed and recorded in the change feed, so the tills' normal pull brings the new snapshot.

Idempotent: running twice, or in two head-office processes at once, writes each entry once.
Each page of members is one transaction that locks the members' rows (those no push holds;
the others in a later pass), then, for its last statements, head office's entry counter (the
order a push takes them in); the entries' ids are derived from what they record, so the ids'
unique constraint stores each fact once whatever else happens.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import msgspec

from loyalty.db import to_text
from sync.headoffice import offers, own_entries, phone_keys
from sync.headoffice.accounts import StoredEntry, _window_start, load_state
from sync.headoffice.folding import _WRITE_ACCOUNT
from sync.headoffice.own_entries import OwnEntry
from sync.headoffice.store import Tx, is_contention

if TYPE_CHECKING:
    from sync.headoffice.service import HeadOffice

log = logging.getLogger("sync.headoffice.jobs")

PAGE = 1000
ATTEMPTS = 5
# Passes over the members a push held, before a pass waits for them (see ``run_due``).
SKIP_PASSES = 5
SKIP_PAUSE = 0.2  # seconds before a pass, times the pass's number
EXPIRY = "expiry"
TIER_REVIEW = "tier_review"


class JobsReport(msgspec.Struct):
    ran_at: str
    members_checked: int = 0
    members_changed: int = 0
    expire_entries: int = 0
    points_expired: int = 0
    tier_changes: int = 0
    phone_keys_retired: list[str] = msgspec.field(default_factory=list)
    offers_given: int = 0  # members who entered a running offer's segment (offers.refresh)


def run_due(ho: HeadOffice, now: dt.datetime | None = None, page: int = PAGE) -> JobsReport:
    """Run expiry, tier review and pending release for every member as of ``now`` (head
    office's clock by default).

    A page locks only the members no push holds (``Tx.lock_free_members``): a page that waited
    for a push's rows held its own meanwhile, and the next pushes waited for those (a night's
    push beside the job was 46-70% slower, docs/scaling.md). The members skipped are taken by
    later passes of the same run; after ``SKIP_PASSES`` of them a pass waits for the locks,
    so the run ends with every member done whatever the pushes do."""
    now = now or ho.clock()
    report = JobsReport(ran_at=to_text(now))
    with ho.store.transaction() as tx:
        report.phone_keys_retired = phone_keys.retire_due(tx, now)
    report.offers_given = offers.refresh(ho, now)
    after = ""
    skipped: list[str] = []
    while True:
        with ho.store.transaction() as tx:
            ids = [
                r[0]
                for r in tx.all(
                    "SELECT member_id FROM members WHERE member_id > ? AND state_json IS NOT NULL "
                    "ORDER BY member_id LIMIT ?",
                    (after, page),
                )
            ]
        if not ids:
            break
        skipped += _run_page(ho, ids, now, report, wait=False)
        after = ids[-1]
    passes = 0
    while skipped:
        passes += 1
        wait = passes > SKIP_PASSES
        if not wait:
            time.sleep(SKIP_PAUSE * passes)  # the pushes that held them are likely done
        log.info("jobs: %d members were held by others; pass %d", len(skipped), passes)
        left: list[str] = []
        for i in range(0, len(skipped), page):
            left += _run_page(ho, skipped[i : i + page], now, report, wait=wait)
        skipped = left
    return report


def _run_page(
    ho: HeadOffice, ids: list[str], now: dt.datetime, report: JobsReport, wait: bool
) -> list[str]:
    """One page in its own transaction, tried again when the database broke it off for
    contention; its figures added to ``report``. The members it skipped (held by others)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with ho.store.transaction() as tx:
                part, skipped = _page(ho, tx, ids, now, wait)
            break
        except Exception as exc:
            if attempt == ATTEMPTS or not is_contention(exc):
                raise
            log.info("jobs: page from %r ran into %s; again", ids[0], type(exc).__name__)
    for field in ("members_checked", "members_changed", "expire_entries", "points_expired",
                  "tier_changes"):  # fmt: skip
        setattr(report, field, getattr(report, field) + getattr(part, field))
    return skipped


def _page(
    ho: HeadOffice, tx: Tx, ids: list[str], now: dt.datetime, wait: bool
) -> tuple[JobsReport, list[str]]:
    stamp = to_text(now)
    report = JobsReport(ran_at=stamp, members_checked=len(ids))
    program = ho.program(tx)
    if program is None:
        return report, []
    # The members' rows first, head office's entry counter last (``own_entries.number``), as a
    # push takes them: the counter is held only for the page's last statements. Without
    # ``wait``, only the members no one else holds: the others are left for a later pass.
    skipped: list[str] = []
    if wait:
        tx.lock_members(ids)
    else:
        free = tx.lock_free_members(ids)
        if len(free) < len(ids):
            taken = set(free)
            skipped = [m for m in ids if m not in taken]
            ids = free
        report.members_checked = len(ids)
    rows = ho._member_rows(tx, ids)
    expiring: list[OwnEntry] = []
    for member_id in ids:
        r = rows.get(member_id)
        if r is None:
            continue
        by_time: dict[str, int] = defaultdict(int)
        for lot in load_state(r[17]).lots:
            if lot.points > 0 and lot.expires_at is not None and lot.expires_at <= stamp:
                by_time[lot.expires_at] += lot.points
        for at, points in sorted(by_time.items()):
            key = f"expire:{member_id}:{at}"
            expiring.append(OwnEntry(key, member_id, "expire", -points, EXPIRY))
    stored: dict[str, list[StoredEntry]] = defaultdict(list)
    expired = own_entries.plan(tx, expiring, stamp)
    for x, entry in expired:
        stored[x.member_id].append(entry)
        report.expire_entries += 1
        report.points_expired -= x.points
    window = _window_start(program, now)
    reviews: list[OwnEntry] = []
    updates: list[tuple[Any, ...]] = []
    for member_id in ids:
        r = rows.get(member_id)
        if r is None:
            continue
        update, _ = ho._account(program, r, stored.get(member_id, ()), now, stamp)
        # balance, pending, tier, progress, expiring points and when, overdrawn: as stored?
        before = (int(r[6]), r[7], r[8], int(r[9]), int(r[10]), r[11], bool(r[15]))
        after = (update[0], update[1], update[2], update[3], update[4], update[5], bool(update[7]))
        if before == after and member_id not in stored:
            continue
        updates.append(update)
        if r[8] is not None and update[2] != r[8]:
            window_text = to_text(window) if window else ""
            key = f"tier:{member_id}:{r[8]}:{update[2]}:{window_text}"
            reviews.append(
                OwnEntry(key, member_id, "adjust", 0, f"{TIER_REVIEW}:{r[8]}:{update[2]}")
            )
    reviewed = own_entries.plan(tx, reviews, stamp)
    report.tier_changes = len(reviewed)
    if updates:
        tx.many(_WRITE_ACCOUNT, updates)
    own_entries.number(
        tx, [x for x, _ in expired + reviewed], currency=program.currency,
        program_version=program.version, stamp=stamp,
    )  # fmt: skip
    if updates:
        changed = sorted(u[-1] for u in updates)
        report.members_changed = len(changed)
        ho._changed(tx, [("members", json.dumps(changed))])
    return report, skipped


# Inside `till headoffice serve`: every hour by default. Expiry and tier review fall on day
# boundaries of the program's time zone, so an hour late at most; pending release is by the
# minute, and a till releases pending points on its own clock meanwhile.
EVERY_SECONDS = 3600.0


class JobSchedule:
    """The due jobs in a background thread: at start, then every ``every`` seconds, until
    ``stop``. A failed run is logged and tried again at the next turn."""

    def __init__(self, ho: HeadOffice, every: float = EVERY_SECONDS) -> None:
        self.ho = ho
        self.every = every
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="headoffice-jobs", daemon=True)
        self.last: JobsReport | None = None

    def start(self) -> JobSchedule:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = run_due(self.ho)
                log.info("jobs: %s", self.last)
            except Exception:
                log.exception("jobs: the run failed; again in %s s", self.every)
            self._stop.wait(self.every)
