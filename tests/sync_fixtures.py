"""Fixtures of the sync tests: a throw-away PostgreSQL, head office on a real socket, tills in
tmp_path. Imported by the sync tests' conftest files."""

from __future__ import annotations

import atexit
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, SaleResult, sale
from loyalty.till import Till
from sync import protocol as p
from sync.client import SyncClient
from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from sync.testing import TempPostgres

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
ADMIN = "admin-secret"


_POSTGRES: list[TempPostgres | str] = []


def _stop_postgres() -> None:
    for pg in _POSTGRES:
        if isinstance(pg, TempPostgres):
            pg.stop()


@pytest.fixture(scope="session")
def postgres() -> TempPostgres | str:
    """One server for the whole run (each test module imports this fixture, so the instance
    lives at module level), or the reason it could not start (its tests skip with it)."""
    if not _POSTGRES:
        try:
            _POSTGRES.append(TempPostgres())
        except RuntimeError as exc:
            _POSTGRES.append(str(exc))
        atexit.register(_stop_postgres)
    return _POSTGRES[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "headoffice.sqlite")
    pg = request.getfixturevalue("postgres")
    if isinstance(pg, str):
        pytest.skip(f"PostgreSQL cannot start here: {pg}")
    url: str = pg.empty_database()
    return url


@dataclass
class Shop:
    """One head office on 127.0.0.1 and helpers to make tills that sync with it."""

    ho: HeadOffice
    url: str
    tmp: Path
    opened: list[Till | SyncClient] = field(default_factory=list)

    def till(
        self,
        terminal_id: str,
        pull: bool = True,
        country: str | None = None,
        **client_options: object,
    ) -> tuple[Till, SyncClient]:
        """A new till registered with head office; it pulls the members unless told not to."""
        till = Till.open(self.tmp / terminal_id, must_exist=False)
        till.initialise(terminal_id, PROGRAM, "fixtures/program.toml", country=country)
        token = self.ho.register_till(terminal_id)
        url = str(client_options.pop("url", self.url))
        client = SyncClient(till, url, token, **client_options)  # type: ignore[arg-type]
        self.opened += [client, till]
        if pull:
            client.sync()
        return till, client

    def close(self) -> None:
        for thing in self.opened:
            thing.close()

    def member(self, member_id: str, **fields: object) -> None:
        self.ho.upsert_member(member_id, p.MemberRequest(**fields))  # type: ignore[arg-type]


def headoffice(store_url: str) -> HeadOffice:
    ho = HeadOffice(open_store(store_url), admin_token=ADMIN, mint_code=lambda m: f"APP.{m}")
    ho.publish_program(PROGRAM)
    return ho


@pytest.fixture
def shop(store_url: str, tmp_path: Path) -> Iterator[Shop]:
    ho = headoffice(store_url)
    server = ServerThread(ho)
    url = server.start()
    shop = Shop(ho, url, tmp_path)
    yield shop
    shop.close()
    server.stop()
    ho.store.close()


def buy(
    till: Till,
    member_id: str,
    amount_minor: int = 2500,
    now: dt.datetime | None = None,
    **kw: object,
) -> SaleResult:
    line = BasketLine("SKU-1", "grocery", amount_minor)
    return sale(till, SaleRequest(member_id, "cashier1", (line,), **kw), now)  # type: ignore[arg-type]


def stored_entries(ho: HeadOffice) -> list[tuple[str, str, int]]:
    with ho.store.transaction() as tx:
        rows = tx.all("SELECT entry_id, terminal_id, seq FROM entries ORDER BY terminal_id, seq")
    return [(r[0], r[1], int(r[2])) for r in rows]


def till_entry_ids(till: Till) -> list[str]:
    with till.db.read() as conn:
        return [r[0] for r in conn.execute("SELECT entry_id FROM ledger ORDER BY seq")]


def assert_exactly_once(ho: HeadOffice, *tills: Till) -> None:
    """Every entry of every till is at head office once, and nothing else is (but head
    office's own entries: compensations and job results, under ``@headoffice``)."""
    stored = [e for e in stored_entries(ho) if e[1] != "@headoffice"]
    ids = [e for e, _, _ in stored]
    assert len(ids) == len(set(ids)), "an entry is stored twice"
    mine = [e for till in tills for e in till_entry_ids(till)]
    assert sorted(ids) == sorted(mine)
    for till in tills:
        seqs = [s for _, t, s in stored if t == till.terminal_id]
        assert seqs == list(range(1, len(seqs) + 1)), "head office's seqs have a gap"
