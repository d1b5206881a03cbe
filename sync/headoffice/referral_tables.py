"""Head office's referral tables (sync/headoffice/referrals.py), created beside the others
(store.statements): each member's own code, each new member's referral and what became of it,
and the referrals credited per referrer and shop month (the monthly cap's counter)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS referral_codes (
    code TEXT PRIMARY KEY,
    member_id TEXT NOT NULL UNIQUE,
    assigned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS referrals (
    member_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    referrer_id TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    decided_at TEXT,
    purchase_entry_id TEXT
);
CREATE INDEX IF NOT EXISTS referrals_referrer ON referrals (referrer_id);
CREATE INDEX IF NOT EXISTS referrals_status ON referrals (status, created_at);
CREATE TABLE IF NOT EXISTS referral_months (
    referrer_id TEXT NOT NULL,
    month TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (referrer_id, month)
)
"""
