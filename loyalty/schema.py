"""The till database's schema, versioned by sqlite-utils Migrations (recorded in the
``_sqlite_migrations`` table). Append a new migration; never edit an applied one.

sqlite-utils is imported only when a migration is pending: importing it also imports numpy
(which OpenCV installs), about 150 ms the till would otherwise pay at every start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database

MIGRATION_SET = "loyalty-till"
MIGRATIONS: list[Callable[[Any], None]] = []


def migration(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    MIGRATIONS.append(fn)
    return fn


def apply(conn: sqlite3.Connection) -> None:
    """Apply pending migrations, each in its own transaction, through sqlite-utils."""
    try:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,)
        ).fetchall()
        applied = {r[0] for r in rows}
    except sqlite3.OperationalError:
        applied = set()
    if all(fn.__name__ in applied for fn in MIGRATIONS):
        return
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    for fn in MIGRATIONS:
        migrations()(fn)
    migrations.apply(Database(conn, execute_plugins=False))


LEDGER_KINDS = ("earn", "redeem", "reverse", "adjust", "bonus", "expire", "donate", "enroll")
# Columns of a ledger row that are facts: never updated, never deleted.
LEDGER_FACTS = (
    "entry_id", "terminal_id", "seq", "member_id", "kind", "points", "amount_minor", "currency",
    "receipt_no", "reverses", "reward_id", "program_version", "occurred_at", "offline",
    "cashier_id", "reason", "prev_hash", "hash",
)  # fmt: skip
SALE_FACTS = (
    "receipt_no", "kind", "terminal_id", "member_id", "cashier_id", "occurred_at", "currency",
    "total_minor", "discount_minor", "donation_minor", "payment_points", "payment_minor",
    "paid_minor", "eligible_minor", "lines_json", "reward_id", "refund_of", "program_version",
    "mode", "hold_id", "override_json",
)  # fmt: skip


def _run(db: Database, statements: str) -> None:
    # One statement at a time: executescript() would COMMIT the migration's transaction.
    for statement in statements.split(";\n"):
        if statement.strip():
            db.execute(statement)


def _append_only(db: Database, table: str, facts: Sequence[str] = ()) -> None:
    """Triggers that refuse deleting any row of ``table`` and changing it: any column, or only
    ``facts`` when the table has bookkeeping columns that may still be set (the ledger's
    ``acked_at``). Corrections are new rows, as in the ledger."""
    columns = f"OF {', '.join(facts)} " if facts else ""
    refusal = f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    db.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {refusal}")
    db.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE {columns}ON {table} {refusal}")


@migration
def m001_core(db: Database) -> None:
    kinds = ", ".join(f"'{k}'" for k in LEDGER_KINDS)
    _run(
        db,
        f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE programs (
    version TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE TABLE members (
    member_id TEXT PRIMARY KEY,
    card_number TEXT UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT 'en',
    phone_hash TEXT,
    birthday TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    balance INTEGER NOT NULL DEFAULT 0,
    pending_json TEXT NOT NULL DEFAULT '[]',
    tier_id TEXT,
    tier_progress INTEGER NOT NULL DEFAULT 0,
    expiring_points INTEGER NOT NULL DEFAULT 0,
    expiring_at TEXT,
    has_purchased INTEGER NOT NULL DEFAULT 0 CHECK (has_purchased IN (0, 1)),
    snapshot_at TEXT,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX members_phone ON members(phone_hash) WHERE phone_hash IS NOT NULL;
CREATE TABLE enrolments (
    member_id TEXT PRIMARY KEY,
    card_number TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    language TEXT NOT NULL,
    phone_hash TEXT,
    birthday TEXT,
    consent_at TEXT NOT NULL,
    consent_version TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    cashier_id TEXT NOT NULL,
    acked_at TEXT
) STRICT;
CREATE TABLE ledger (
    entry_id TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq > 0),
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ({kinds})),
    points INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    receipt_no TEXT,
    reverses TEXT REFERENCES ledger(entry_id),
    reward_id TEXT,
    program_version TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    offline INTEGER NOT NULL CHECK (offline IN (0, 1)),
    cashier_id TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    acked_at TEXT,
    UNIQUE (terminal_id, seq)
) STRICT;
CREATE INDEX ledger_unacked_member ON ledger(member_id) WHERE acked_at IS NULL;
CREATE INDEX ledger_unacked_seq ON ledger(seq) WHERE acked_at IS NULL;
CREATE INDEX ledger_receipt ON ledger(receipt_no) WHERE receipt_no IS NOT NULL;
CREATE INDEX ledger_reverses ON ledger(reverses) WHERE reverses IS NOT NULL;
CREATE TABLE sales (
    receipt_no TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
    terminal_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    cashier_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    donation_minor INTEGER NOT NULL,
    payment_points INTEGER NOT NULL,
    payment_minor INTEGER NOT NULL,
    paid_minor INTEGER NOT NULL,
    eligible_minor INTEGER NOT NULL,
    lines_json TEXT NOT NULL,
    reward_id TEXT,
    refund_of TEXT REFERENCES sales(receipt_no),
    program_version TEXT NOT NULL,
    mode TEXT NOT NULL,
    hold_id TEXT,
    override_json TEXT
) STRICT;
CREATE INDEX sales_refund_of ON sales(refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX sales_member ON sales(member_id, occurred_at);
CREATE TABLE public_keys (key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL) STRICT;
CREATE TABLE deny_list (code TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '') STRICT
""",
    )
    # The ledger and the sales are append-only: corrections are new entries. Only `acked_at`
    # may change, once, from empty to the time head office acknowledged the entry.
    _append_only(db, "ledger", LEDGER_FACTS)
    _append_only(db, "sales", SALE_FACTS)
    db.execute(
        "CREATE TRIGGER ledger_ack_once BEFORE UPDATE OF acked_at ON ledger "
        "WHEN OLD.acked_at IS NOT NULL "
        "BEGIN SELECT RAISE(ABORT, 'a ledger entry is acknowledged once'); END"
    )


@migration
def m002_offline_redemption_index(db: Database) -> None:
    # The offline allowance and budget are sums over unacknowledged offline redemptions; this
    # index holds only those rows (bounded by the budget), so the sums stay cheap however
    # long the till stays offline.
    db.execute(
        "CREATE INDEX ledger_unacked_offline_redemptions ON ledger(member_id, points) "
        "WHERE acked_at IS NULL AND offline = 1 AND kind IN ('redeem', 'donate')"
    )


@migration
def m003_sale_figures(db: Database) -> None:
    # What each sale's and refund's receipt printed about the member's points (the balances
    # before and after, as JSON: loyalty.balance.figures_json), written in the sale's own
    # transaction, so a reprint shows the figures of the day of the sale, not today's.
    # Append-only like the sales they belong to; they name no one (erasure keeps them).
    _run(
        db,
        """
CREATE TABLE sale_figures (
    receipt_no TEXT PRIMARY KEY REFERENCES sales(receipt_no),
    figures_json TEXT NOT NULL
) STRICT
""",
    )
    _append_only(db, "sale_figures")


@migration
def m004_member_merges(db: Database) -> None:
    # Head office merged this member (a duplicate enrolment) into another: look-ups by its id,
    # card or phone find that one. Set once, never cleared (loyalty.members.upsert).
    db.execute("ALTER TABLE members ADD COLUMN merged_into TEXT")


@migration
def m005_held_by_headoffice(db: Database) -> None:
    # Entries head office holds without crediting them (they broke the protocol's rules, their
    # chain or the program's arithmetic): they left the outbox like any acknowledged entry,
    # and the till shows how many there are. Written from head office's answer, never deleted.
    _run(
        db,
        """
CREATE TABLE held_by_headoffice (
    entry_id TEXT PRIMARY KEY REFERENCES ledger(entry_id),
    held_at TEXT NOT NULL
) STRICT
""",
    )


@migration
def m006_once_paid_by_headoffice(db: Database) -> None:
    # The once-only bonuses head office holds as paid to the member, by whichever till
    # (a JSON list of rules.once_key): a till pays none of them again, beside what its own
    # ledger says. From head office's snapshots; an older head office sends none ('[]').
    db.execute("ALTER TABLE members ADD COLUMN once_paid_json TEXT NOT NULL DEFAULT '[]'")


@migration
def m007_tier_days(db: Database) -> None:
    # A rolling tier window's spend (or points) per shop day, as head office last said (a JSON
    # list of [day, amount], loyalty.tier_window): the till drops each day from the tier's
    # progress at the shop's midnight, offline too. An older head office sends none ('[]').
    db.execute("ALTER TABLE members ADD COLUMN tier_days_json TEXT NOT NULL DEFAULT '[]'")


@migration
def m008_held_decisions(db: Database) -> None:
    # What head office decided about an entry it held, after review (released: credited by
    # head office's own entry; rejected: not credited), from a pull. A decided entry is no
    # longer counted as held. Set once, never cleared.
    db.execute("ALTER TABLE held_by_headoffice ADD COLUMN decision TEXT")
    db.execute("ALTER TABLE held_by_headoffice ADD COLUMN decided_at TEXT")


@migration
def m009_pin_failures(db: Database) -> None:
    # Wrong PINs in a row per cashier or manager id, and until when the id is locked out: in
    # the till's database so that every process of the till (each `till sale`, the app)
    # counts toward one lock-out (terminal/pin_lockout.py). No PIN is ever stored.
    _run(
        db,
        """
CREATE TABLE pin_failures (
    cashier_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until TEXT
) STRICT
""",
    )


@migration
def m010_phone_rehashes(db: Database) -> None:
    # A member's phone hash under the chain's current phone key, made when the till was given
    # the raw number and found the member by a hash under an older key (loyalty/rehash.py):
    # its own erasable outbox (a phone hash is personal data), one row per member, sent with
    # the next push until head office has seen it (acked_at).
    _run(
        db,
        """
CREATE TABLE phone_rehashes (
    member_id TEXT PRIMARY KEY,
    old_hash TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at TEXT
) STRICT
""",
    )


@migration
def m011_lockout_resets(db: Database) -> None:
    # A manager cleared a cashier's PIN lock-out at this till: who, for whom, when and why.
    # Append-only, like the ledger: the record of who let a locked id try again.
    _run(
        db,
        """
CREATE TABLE lockout_resets (
    reset_at TEXT NOT NULL,
    cashier_id TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    reason TEXT NOT NULL
) STRICT
""",
    )
    _append_only(db, "lockout_resets")


@migration
def m012_spent_app_codes(db: Database) -> None:
    # The app codes sales at this till were made with (a code's id is its nonce and signature
    # digest, no personal data): a code is used once, also after the till restarts. One row per
    # sale that used one, written right after the sale; never changed.
    _run(
        db,
        """
CREATE TABLE spent_app_codes (
    code_id BLOB PRIMARY KEY,
    member_id TEXT NOT NULL,
    receipt_no TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    spent_at TEXT NOT NULL
) STRICT
""",
    )
    _append_only(db, "spent_app_codes")


@migration
def m013_pos_sales(db: Database) -> None:
    # The sales and refunds a shop's POS submitted through the till's API, by the POS's own id:
    # written in the transaction of the sale (or refund) they name, so a retried call finds
    # the first one and never records twice. ``fingerprint`` is a digest of the request, so
    # the same id with another body is told apart. Never changed.
    _run(
        db,
        """
CREATE TABLE pos_sales (
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
    pos_sale_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    receipt_no TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (kind, pos_sale_id)
) STRICT
""",
    )
    _append_only(db, "pos_sales")


@migration
def m014_member_offers(db: Database) -> None:
    # A member's personal offers as head office last said them: [[offer id, uses counted]]
    # (loyalty/offers.py), and the offers' definitions, one row per offer, replaced by a newer.
    db.execute("ALTER TABLE members ADD COLUMN offers_json TEXT NOT NULL DEFAULT '[]'")
    _run(
        db,
        """
CREATE TABLE offers (
    offer_id TEXT PRIMARY KEY,
    definition_json TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT
""",
    )


@migration
def m015_channel_activity(db: Database) -> None:
    # A member's posts on the channels (web shop, app) as head office's pull brought them
    # (loyalty/channel_activity.py): kept as they came, shown on the member panel and on a
    # receipt. ``stored_at`` is this till's clock when it learned of one: a receipt shows only
    # those it knew of when it was printed, so a reprint shows the same.
    _run(
        db,
        """
CREATE TABLE channel_activity (
    channel_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('purchase', 'refund', 'redemption', 'event')),
    ref TEXT NOT NULL,
    member_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    action TEXT,
    occurred_at TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, kind, ref)
) STRICT;
CREATE INDEX channel_activity_member ON channel_activity (member_id, occurred_at)
""",
    )
    _append_only(db, "channel_activity")


@migration
def m016_referral_codes(db: Database) -> None:
    # Referrals (loyalty/referrals.py): the member's own referral code as head office last said
    # it (or as this till gave it at enrolment), found by code when a new member is enrolled
    # with it; and in the erasable enrolment outbox, the code the till gave the new member and
    # the code they were enrolled with (someone else's), sent to head office with the enrolment.
    db.execute("ALTER TABLE members ADD COLUMN referral_code TEXT")
    db.execute(
        "CREATE INDEX members_referral_code ON members(referral_code) "
        "WHERE referral_code IS NOT NULL"
    )
    db.execute("ALTER TABLE enrolments ADD COLUMN referral_code TEXT")
    db.execute("ALTER TABLE enrolments ADD COLUMN referred_by TEXT")


@migration
def m017_consent_by(db: Database) -> None:
    # Who recorded an enrolment's consent: the cashier, told by the shopper, or the shopper
    # themselves on the shopper display (display/touch.py). Enrolments before this were all
    # recorded by the cashier.
    _run(
        db,
        "ALTER TABLE enrolments ADD COLUMN consent_by TEXT NOT NULL DEFAULT 'cashier' "
        "CHECK (consent_by IN ('cashier', 'shopper'))",
    )
