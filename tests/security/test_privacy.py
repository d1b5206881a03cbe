"""Privacy and the till's token, end to end over a real head office on 127.0.0.1.

* When head office erases a member, the next pull leaves no name and no phone hash anywhere in
  the till's database (any table, their receipts in the print queue included, and not in the
  file's bytes either); the ledger keeps the pseudonymous member id and the points. (A member
  enrolled at a till has ``M`` + card number as id: that number stays with the ledger.)
* A sale and a sync with every logger at DEBUG write no member name, phone number, phone hash
  or till token to the log.
* A revoked till token is refused; so is the old token after head office issued a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loyalty.db import utc_now
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, SaleResult, sale
from loyalty.till import Till
from printer import PrintQueue, Receipt
from sync.client import SyncClient, SyncFailed
from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from terminal.receipts import Shop, from_enrolment, from_sale
from tests.sync_fixtures import ADMIN, PROGRAM, headoffice

NAME = "Zenobia Quartermaine"
PHONE = "+30 210 555 0199"


class Office:
    def __init__(self, ho: HeadOffice, url: str, tmp: Path) -> None:
        self.ho, self.url, self.tmp = ho, url, tmp
        self.opened: list[Till | SyncClient] = []

    def till(self, terminal_id: str) -> tuple[Till, SyncClient, str]:
        till = Till.open(self.tmp / terminal_id, must_exist=False)
        till.initialise(terminal_id, PROGRAM, "fixtures/program.toml", phone_salt="chain-salt")
        token = self.ho.register_till(terminal_id)
        client = SyncClient(till, self.url, token, max_attempts=1)
        self.opened += [client, till]
        return till, client, token

    def admin(self, method: str, path: str, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        return httpx.request(method, self.url + path, headers=headers, **kw)  # type: ignore[arg-type]


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    ho = headoffice(str(tmp_path / "headoffice.sqlite"))
    with ServerThread(ho) as url:
        office = Office(ho, url, tmp_path)
        yield office
        for thing in office.opened:
            thing.close()
    ho.store.close()


def _buy(till: Till, member_id: str) -> SaleResult:
    return sale(till, SaleRequest(member_id, "anna", (BasketLine("OIL", "grocery", 2490),)))


def _print(till: Till, receipt: Receipt) -> None:
    """Queue a receipt in the till's own file, as the app and `till sale --print` do."""
    PrintQueue(till.db.conn, lock=till.db.lock).enqueue(receipt)


def _personal_data_in(till: Till, *needles: str) -> list[str]:
    """Where any needle appears: a table and column, or the database file's bytes."""
    found = []
    with till.db.read() as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                for needle in needles:
                    hit = conn.execute(
                        f"SELECT 1 FROM {table} WHERE instr(CAST({column} AS TEXT), ?) LIMIT 1",
                        (needle,),
                    ).fetchone()
                    if hit:
                        found.append(f"{table}.{column}")
    with till.db.lock:  # the log's pages into the file, then look at every byte of both
        till.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(till.db.path + "-wal")
    raw = Path(till.db.path).read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    found += [f"file:{n}" for n in needles if n.encode() in raw]
    return found


def test_erasure_at_head_office_leaves_no_personal_data_on_any_till(office: Office) -> None:
    shop_till, shop_client, _ = office.till("ATH01-T1")
    other_till, other_client, _ = office.till("ATH02-T1")
    enrolment = shop_till.enroll(NAME, "anna", True, language="el", phone=PHONE)
    member_id = enrolment.member.member_id
    phone_hash = enrolment.member.phone_hash
    assert phone_hash
    shop = Shop("Olive & Oak")
    _print(shop_till, from_sale(_buy(shop_till, member_id), "anna", shop_till, shop))
    balance = shop_till.balance(member_id)
    _print(shop_till, from_enrolment(enrolment, balance, "anna", shop_till, shop, utc_now()))
    shop_client.sync()
    other_client.sync()
    _buy(other_till, member_id)
    other_client.sync()
    for till in (shop_till, other_till):
        assert _personal_data_in(till, NAME, phone_hash), "the member is on both tills first"

    assert office.admin("DELETE", f"/v1/members/{member_id}").status_code == 204
    for till, client in ((shop_till, shop_client), (other_till, other_client)):
        report = client.sync()
        assert report.erased >= 1
        assert _personal_data_in(till, NAME, phone_hash) == []
        with till.db.read() as conn:
            kept = conn.execute(
                "SELECT COUNT(*), SUM(points) FROM ledger WHERE member_id = ?", (member_id,)
            ).fetchone()
        assert kept[0] >= 1 and kept[1] > 0  # the pseudonymous ledger stays


def test_a_sale_and_a_sync_log_no_personal_data_or_token(
    office: Office, caplog: pytest.LogCaptureFixture
) -> None:
    till, client, token = office.till("ATH01-T1")
    caplog.set_level(logging.DEBUG)  # the root logger: httpx, httpcore, uvicorn, ours
    enrolment = till.enroll(NAME, "anna", True, language="el", phone=PHONE)
    _buy(till, enrolment.member.member_id)
    client.sync()
    _buy(till, enrolment.member.member_id)
    client.sync()
    assert caplog.records, "DEBUG logging was captured"
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    secret = token.partition(".")[2]
    for needle in (NAME, "Zenobia", PHONE, "5550199", enrolment.member.phone_hash, secret, ADMIN):
        assert needle and needle not in text, needle


def test_a_revoked_or_replaced_till_token_is_refused(office: Office) -> None:
    till, client, token = office.till("ATH01-T1")
    client.sync()
    assert office.admin("DELETE", "/v1/tills/ATH01-T1").status_code == 204
    with pytest.raises(SyncFailed) as refused:
        client.sync()
    assert refused.value.code == "till_revoked"
    assert refused.value.params["status"] == 403

    # Head office issues a new token: it works, the old one is refused.
    answer = office.admin("POST", "/v1/tills", json={"terminal_id": "ATH01-T1", "replace": True})
    assert answer.status_code == 201
    new = answer.json()["token"]
    with SyncClient(till, office.url, new, max_attempts=1) as fresh:
        fresh.sync()
    with pytest.raises(SyncFailed) as old:
        client.sync()
    assert old.value.code == "unauthorised" and old.value.params["status"] == 401
    # A token naming another till, or no token at all, gets nowhere either.
    for bad in (f"Bearer ATH02-T1.{token.partition('.')[2]}", "Bearer ATH01-T1.", "Basic x"):
        r = httpx.get(f"{office.url}/v1/changes", headers={"Authorization": bad})
        assert r.status_code == 401, bad
