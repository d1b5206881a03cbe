"""Held entries decided after review: `till headoffice held` lists what head office holds,
`--release` credits an entry exactly once (retried, and from two head-office processes at
once), `--reject` credits nothing; who, when and why are kept, the alert is acknowledged once
none of its entries is left undecided, and the till that pushed them learns the outcome at its
next pull. Real `till` processes, two tills, a head office on 127.0.0.1 (and a second one as
its own process over the same database), SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import httpx

from tests.integration.test_sync_poison import _forge
from tests.sync_fixtures import ADMIN, Shop, postgres, shop, store_url
from tests.till_processes import data_dir, run, sell, till_exe

__all__ = ["postgres", "shop", "store_url"]


def _credited(shop: Shop) -> int:
    with shop.ho.store.transaction() as tx:
        row = tx.one("SELECT COALESCE(SUM(points), 0) FROM entries WHERE member_id = 'M1'")
    return int(row[0]) if row else 0


def _till_balance(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (balance,) = conn.execute("SELECT balance FROM members WHERE member_id = 'M1'").fetchone()
    return int(balance)


def _desk(folder: Path, url: str, *argv: str) -> tuple[int, dict[str, object], str]:
    code, out, err = run(
        folder, url, "headoffice", "held", *argv, TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN
    )
    return code, out or {}, err


def _alert_acked(shop: Shop, kind: str) -> list[bool]:
    return [a.acknowledged_at is not None for a in shop.ho.alerts().alerts if a.kind == kind]


def test_held_entries_are_released_once_or_rejected_and_both_tills_agree(shop: Shop) -> None:
    t1, db1 = data_dir(shop, "T1")
    t2, db2 = data_dir(shop, "T2")
    url = shop.url
    sell(t1, url, 1)
    first = _forge(db1, 5000)  # points no program pays: held (points_beyond_program)
    second = _forge(db1, 7000)  # same push, same member: the same alert
    broken = _forge(db1, 4_006_381_333_931_00)  # beyond the protocol: held (invalid_entry)
    huge = _forge(db1, 10**11)  # within the protocol, far beyond the program's largest entry
    code, summary, err = run(t1, url, "sync", "--once")
    assert code == 0 and summary["held_by_headoffice"] == 4, err
    credited = _credited(shop)
    before = shop.ho.member("M1")

    code, out, err = _desk(t1, url)
    assert code == 0, err
    listed = {h["entry_id"]: h for h in out["held"]}  # type: ignore[union-attr]
    assert set(listed) == {first, second, broken, huge}
    assert listed[first]["held_for"] == "points_beyond_program" and listed[first]["points"] == 5000
    assert listed[broken]["held_for"] == "invalid_entry" and listed[first]["decision"] is None

    # Deciding needs a reason; an unknown entry is one clear line.
    code, _, err = _desk(t1, url, "--release", first)
    assert code == 2 and "--reason" in err
    code, _, err = _desk(t1, url, "--release", "no-such-entry", "--reason", "checked")
    assert code == 1 and "head office holds no entry no-such-entry" in err

    # Released: credited once, by head office's own entry; a retry answers the same.
    code, out, err = _desk(t1, url, "--release", first, "--reason", "receipt seen", "--by", "ana")
    assert code == 0, err
    decided = out["decided"]
    assert isinstance(decided, dict)
    assert decided["decision"] == "released" and decided["decided_by"] == "ana"
    assert decided["reason"] == "receipt seen" and decided["decided_at"]
    code, again, err = _desk(t1, url, "--release", first, "--reason", "again", "--by", "bo")
    assert code == 0 and again["decided"] == decided, err
    code, _, err = _desk(t1, url, "--reject", first, "--reason", "changed my mind")
    assert code == 1 and "already decided otherwise" in err
    assert _credited(shop) == credited + 5000
    with shop.ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT terminal_id, kind, points, reason FROM entries WHERE entry_id = ?",
            (decided["credit_entry_id"],),
        )
        held_rows = tx.one("SELECT COUNT(*) FROM held_entries")
    assert rows == [("@headoffice", "adjust", 5000, f"released:{first}")]
    assert held_rows is not None and int(held_rows[0]) == 4  # the held entries stay as pushed
    after = shop.ho.member("M1")
    assert after.balance == before.balance + 5000
    assert after.balance + sum(p for p, _ in after.pending) == _credited(shop)
    # The alert counts the three such entries of that push: acknowledged once none is left.
    assert _alert_acked(shop, "points_beyond_program") == [False]

    # Rejected: nothing credited; an entry that breaks the protocol cannot be released.
    code, _, err = _desk(t1, url, "--reject", second, "--reason", "forged", "--by", "ana")
    assert code == 0, err
    assert _alert_acked(shop, "points_beyond_program") == [False]  # huge is left
    code, _, err = _desk(t1, url, "--release", broken, "--reason", "looks fine")
    assert code == 1 and "cannot be credited as it was pushed" in err
    assert _alert_acked(shop, "invalid_entry") == [False]
    code, out, err = _desk(t1, url, "--reject", broken, "--reason", "barcode in the total")
    assert code == 0 and [h["entry_id"] for h in out["held"]] == [huge], err  # type: ignore[union-attr]
    # A careless click cannot put ten trillion points in: the program's largest entry holds.
    code, _, err = _desk(t1, url, "--release", huge, "--reason", "ok")
    assert code == 1 and "more points than the program allows in one entry" in err, err
    assert "10000000" in err
    code, out, err = _desk(t1, url, "--reject", huge, "--reason", "forged")
    assert code == 0 and out["held"] == [], err
    assert _alert_acked(shop, "points_beyond_program") == [True]
    assert _alert_acked(shop, "invalid_entry") == [True]
    assert _credited(shop) == credited + 5000
    code, out, err = _desk(t1, url, "--all")
    decisions = {h["entry_id"]: h["decision"] for h in out["held"]}  # type: ignore[union-attr]
    assert decisions == {
        first: "released",
        second: "rejected",
        broken: "rejected",
        huge: "rejected",
    }

    # The tills pull: the one that pushed them no longer counts them as held, and both show
    # head office's balance to the point.
    code, summary, err = run(t1, url, "sync", "--once")
    assert code == 0 and summary["held_by_headoffice"] == 0, err
    assert "held by head office" not in err
    code, summary, err = run(t2, url, "sync", "--once")
    assert code == 0, err
    final = shop.ho.member("M1")
    assert _till_balance(db1) == _till_balance(db2) == final.balance
    with sqlite3.connect(db1) as conn:
        kept = dict(conn.execute("SELECT entry_id, decision FROM held_by_headoffice"))
    assert kept == decisions


def test_a_release_from_two_head_office_processes_at_once_credits_once(
    shop: Shop, store_url: str, tmp_path: Path
) -> None:
    t1, db1 = data_dir(shop, "T1")
    sell(t1, shop.url, 1)
    held = _forge(db1, 5000)
    code, summary, err = run(t1, shop.url, "sync", "--once")
    assert code == 0 and summary["held_by_headoffice"] == 1, err
    credited = _credited(shop)
    env = {**os.environ, "TILL_HEADOFFICE_ADMIN_TOKEN": ADMIN, "TILL_DATA_DIR": str(tmp_path)}
    env.pop("TILL_CONFIG", None)
    other = subprocess.Popen(
        [till_exe(), "headoffice", "serve", "--db", store_url, "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert other.stdout is not None
        urls = [shop.url, json.loads(other.stdout.readline())["url"]]
        answers: list[httpx.Response] = []
        start = threading.Barrier(len(urls) * 3)

        def release(url: str) -> None:
            start.wait()
            answers.append(
                httpx.post(
                    f"{url}/v1/held/{held}/decision",
                    trust_env=False,
                    timeout=60,
                    headers={"Authorization": f"Bearer {ADMIN}"},
                    json={"decision": "release", "reason": "checked", "decided_by": "ana"},
                )  # fmt: skip
            )

        threads = [threading.Thread(target=release, args=(u,)) for u in urls * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.terminate()
        other.wait(30)
        if other.stdout is not None:
            other.stdout.close()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 6, [a.text for a in answers]
    assert len({a.json()["credit_entry_id"] for a in answers}) == 1
    assert _credited(shop) == credited + 5000
    code, summary, err = run(t1, shop.url, "sync", "--once")
    assert code == 0 and summary["held_by_headoffice"] == 0, err
    assert _till_balance(db1) == shop.ho.member("M1").balance
