"""Golden receipts: the bytes, preview text and preview PNG of one sale receipt per language and
paper, built from the catalogues by the till's own receipt builder (terminal/receipts.py).

    .venv/bin/python scripts/golden_receipts.py          # check: list what differs, exit 1
    .venv/bin/python scripts/golden_receipts.py --write  # regenerate (look at the PNGs first)

Tests never regenerate them. The sale is the same in every language (a Tuesday sale with a
reward, a tier bonus, a promotion, pending points, tier progress, points about to expire and a
balance that includes offline entries); only the shop, the people and the language differ. The
document each receipt prints is kept as fixtures/receipts/<lang>.json (the printer package's
tests read it) and the goldens go to fixtures/receipts/golden/<lang>-<paper>.{bin,txt,png}.
Letters that test a code page belong in the shop's address, never in the wording.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loyalty.balance import Balance  # noqa: E402
from loyalty.ledger import Entry  # noqa: E402
from loyalty.members import Member  # noqa: E402
from loyalty.program import Program, load_program  # noqa: E402
from printer import PrinterProfile, Receipt, Rendered, render  # noqa: E402
from terminal.receipts import Facts, Shop, sale_or_refund  # noqa: E402

SAMPLES = ROOT / "fixtures" / "receipts"
GOLDEN = SAMPLES / "golden"
LANGUAGES = ("en", "el", "pl", "ro", "th", "fa")
# paper name -> (escpos model, paper mm): an Epson 80 mm, a generic 58 mm, and a 58 mm printer
# whose profile has a Thai code page (Thai in text mode there).
PAPERS = {"80mm": ("TM-T20II", 80), "58mm": ("POS-5890", 58), "58mm-sunmi": ("Sunmi-V2", 58)}
CASES = [(lang, paper) for paper in PAPERS for lang in LANGUAGES if paper != "58mm-sunmi"] + [
    ("th", "58mm-sunmi")
]

# Where, by whom, for whom: (shop, address, cashier, member) per language.
PEOPLE = {
    "en": ("Corner Market", "12 Harbour Street, Piraeus 185 31", "Maria K.", "Anna Smith"),
    "el": ("Μπακάλικο της Γωνίας", "Οδός Λιμανιού 12, Πειραιάς 185 31", "Μαρία Κ.", "Ελένη Π."),
    "pl": ("Sklep na Rogu", "ul. Żółkiewskiego 5, 90-001 Łódź", "Maria K.", "Piotr Nowak"),
    "ro": ("Magazinul din Colț", "Str. Ștefan cel Mare 12, Constanța", "Maria K.", "Ioana Popa"),
    "th": ("ร้านหัวมุม", "12 ถนนท่าเรือ เขตบางรัก กรุงเทพฯ 10500", "มาลี", "สมชาย ใจดี"),
    "fa": ("فروشگاه سر کوچه", "خیابان بندر ۱۲، تهران", "مریم", "سارا احمدی"),
}
RECEIPT_NO = "T01-2026-000123"
SOLD_AT = dt.datetime(2026, 11, 24, 16, 42, tzinfo=dt.UTC)  # a Tuesday, 18:42 in Athens
RELEASE_AT = dt.datetime(2026, 12, 7, 22, 0, tzinfo=dt.UTC)  # pending points, 14 days on
EXPIRE_AT = dt.datetime(2026, 12, 31, 22, 0, tzinfo=dt.UTC)  # midnight of New Year, Athens
SYNCED_AT = dt.datetime(2026, 11, 23, 7, 15, tzinfo=dt.UTC)  # head office's word, yesterday


def program() -> Program:
    return load_program(str(ROOT / "fixtures" / "program.toml"))


def _entry(seq: int, kind: str, points: int, reason: str, reward_id: str | None = None) -> Entry:
    return Entry(
        entry_id=f"golden-{seq}", terminal_id="T01", seq=seq, member_id="M000123", kind=kind,
        points=points, amount_minor=4290, currency="EUR", receipt_no=RECEIPT_NO, reverses=None,
        reward_id=reward_id, program_version="2026.11.1", occurred_at=SOLD_AT.isoformat(),
        offline=True, cashier_id="maria", reason=reason, prev_hash="", hash="",
    )  # fmt: skip


def _balance(available: int, pending: int) -> Balance:
    return Balance(
        member_id="M000123", available=available, pending=pending,
        pending_release_at=RELEASE_AT if pending else None, server_balance=1350,
        unsynced_points=pending - 500, includes_offline=True, as_of=SYNCED_AT, tier_id="oak",
        provisional_tier_id="oak", tier_progress=65790, next_tier_id="laurel",
        to_next_tier=84210, tier_deadline=dt.date(2026, 12, 31), expiring_points=80,
        expiring_at=EXPIRE_AT, status="active",
    )  # fmt: skip


def sample(lang: str) -> Receipt:
    """The sale receipt of the golden sale in ``lang``, worded by the catalogues."""
    shop, address, cashier, name = PEOPLE[lang]
    member = Member(
        member_id="M000123", card_number="6003 0000 0123 4", display_name=name, language=lang,
        status="active", balance=1350, pending=(), tier_id="oak", tier_progress=65790,
        expiring_points=80, expiring_at=EXPIRE_AT.isoformat(), has_purchased=True,
        birthday=None, phone_hash=None, snapshot_at=SYNCED_AT.isoformat(),
    )  # fmt: skip
    entries = (
        _entry(1, "earn", 42, "base"),
        _entry(2, "earn", 10, "tier:oak"),
        _entry(3, "bonus", 42, "promo:double-tuesday"),
        _entry(4, "redeem", -500, "reward", "five-off"),
    )
    facts = Facts(
        kind="sale", receipt_no=RECEIPT_NO, occurred_at=SOLD_AT, terminal_id="T01",
        cashier_id=cashier, currency="EUR", total_minor=4790, discount_minor=500,
        donation_minor=0, payment_points=0, payment_minor=0, paid_minor=4290,
        reward_id="five-off", refund_of=None, entries=entries,
        before=_balance(1350, 0), after=_balance(850, 94),
    )  # fmt: skip
    return sale_or_refund(facts, program(), member, Shop(shop, address))


def rendered(lang: str, paper: str) -> Rendered:
    model, mm = PAPERS[paper]
    return render(sample(lang), PrinterProfile.load(model, mm))


def outputs(lang: str, paper: str) -> dict[Path, bytes]:
    r = rendered(lang, paper)
    png = io.BytesIO()
    r.image.save(png, format="PNG")
    stem = GOLDEN / f"{lang}-{paper}"
    return {
        stem.with_suffix(".bin"): r.data,
        stem.with_suffix(".txt"): r.text.encode("utf-8"),
        stem.with_suffix(".png"): png.getvalue(),
    }


def document(lang: str) -> bytes:
    """The sample as the indented JSON kept in fixtures/receipts/<lang>.json."""
    plain = json.loads(sample(lang).to_json())
    return (json.dumps(plain, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def documents() -> dict[Path, bytes]:
    return {SAMPLES / f"{lang}.json": document(lang) for lang in LANGUAGES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate the golden files")
    args = parser.parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    differ = []
    wanted = documents()
    for lang, paper in CASES:
        wanted.update(outputs(lang, paper))
    for path, data in wanted.items():
        old = path.read_bytes() if path.exists() else None
        if path.suffix == ".png" and old is not None:
            from PIL import Image

            same = Image.open(path).tobytes() == Image.open(io.BytesIO(data)).tobytes()
        else:
            same = old == data
        if not same:
            differ.append(path)
            if args.write:
                path.write_bytes(data)
    for path in differ:
        print(("wrote " if args.write else "differs: ") + str(path.relative_to(ROOT)))
    return 0 if args.write or not differ else 1


if __name__ == "__main__":
    raise SystemExit(main())
