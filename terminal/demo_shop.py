"""The demo's head office: the reference server in a child process on 127.0.0.1, holding the
sample members with their opening balances, and the demo till registered with it.

Opening balances reach head office the way any other channel's points do: a head-office
import channel (a till of its own, "HQ-IMPORT") pushes one adjustment per member.
"""

from __future__ import annotations

import csv
import secrets
from pathlib import Path

import httpx

from loyalty.members import phone_hash
from loyalty.till import Till
from sync.client import SyncClient
from sync.credentials import register_till, save_token
from sync.testing import ServerProcess

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def start_headoffice(folder: Path, till_data: Path, terminal_id: str) -> ServerProcess:
    """Start head office, load the sample members and balances, register the demo till and
    pull once. Raises RuntimeError (or an httpx/SyncFailed error) when any step fails."""
    admin = secrets.token_urlsafe(16)
    server = ServerProcess(
        str(folder / "headoffice.sqlite"),
        admin,
        program=str(FIXTURES / "program.toml"),
        log=folder / "headoffice.log",
    )
    url = server.start()
    try:
        token = register_till(url, terminal_id, admin)
        save_token(till_data, token)
        key, country = _learn_phone_key(till_data, url, token)
        rows = list(csv.DictReader((FIXTURES / "members.csv").open(encoding="utf-8")))
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {admin}"}, trust_env=False, timeout=10
        ) as http:
            for row in rows:
                body = {
                    "card_number": row["card_number"],
                    "display_name": row["display_name"],
                    "language": row["language"],
                    "status": row["status"] or "active",
                    "birthday": row["birthday"] or None,
                    "phone_hash": phone_hash(key, row["phone"], country) if row["phone"] else None,
                }
                http.put(f"/v1/members/{row['member_id']}", json=body).raise_for_status()
        _opening_balances(folder / "hq-import", url, admin, rows)
        till = Till.open(till_data)
        try:
            with SyncClient(till, url, token) as client:
                client.sync()
        finally:
            till.close()
    except BaseException:
        server.stop()
        raise
    return server


def _learn_phone_key(till_data: Path, url: str, token: str) -> tuple[str, str | None]:
    """The chain's phone key, as the demo till pulled it: head office's members are hashed
    with it, as any till would hash a phone typed at the counter."""
    till = Till.open(till_data)
    try:
        with SyncClient(till, url, token) as client:
            client.sync()
        return till.phone_keys()[-1][1], till.country
    finally:
        till.close()


def _opening_balances(folder: Path, url: str, admin: str, rows: list[dict[str, str]]) -> None:
    till = Till.open(folder, must_exist=False)
    try:
        till.initialise(
            "HQ-IMPORT",
            (FIXTURES / "program.toml").read_text(encoding="utf-8"),
            str(FIXTURES / "program.toml"),
        )
        with SyncClient(till, url, register_till(url, "HQ-IMPORT", admin)) as client:
            client.sync()  # learn the members
            for row in rows:
                balance = int(row["balance"] or 0)
                if balance and row["status"] != "blocked":
                    till.adjust(row["member_id"], balance, "opening balance", "hq")
            client.sync()
    finally:
        till.close()
