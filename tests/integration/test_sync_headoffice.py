"""Head office over real HTTP on 127.0.0.1, against SQLite and a throw-away PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import threading

import httpx
import msgspec
import pytest

from loyalty import outbox
from sync import protocol as p
from sync.client import SyncFailed
from tests.sync_fixtures import ADMIN, Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


def _push_body(till_entries: list[p.WireEntry], terminal_id: str) -> bytes:
    return p.encode(p.PushRequest(terminal_id=terminal_id, entries=till_entries))


def _post_push(url: str, token: str, body: bytes, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}
    if key:
        headers[p.IDEMPOTENCY_HEADER] = key
    return httpx.post(f"{url}/v1/push", content=gzip.compress(body), headers=headers)


def test_push_stores_each_entry_once_and_returns_authoritative_balances(shop: Shop) -> None:
    shop.member("M1")
    till, client = shop.till("T1")
    client.sync()
    sales = [buy(till, "M1", 2500), buy(till, "M1", 1000)]
    earned = sum(s.points_earned for s in sales)
    assert earned == 25 + 100 + 10  # base, the welcome bonus, base
    report = client.sync()
    assert report.pushed == sum(len(s.entries) for s in sales)
    assert outbox.state(till).outbox == 0
    assert report.clock_drift_ms is not None
    assert_exactly_once(shop.ho, till)
    # Head office's balance (pending for the return window) is now the till's.
    state = shop.ho.member("M1")
    assert sum(pts for pts, _ in state.pending) == earned
    assert till.balance("M1").pending == earned
    assert till.balance("M1").unsynced_points == 0
    # Syncing again changes nothing.
    again = client.sync()
    assert (again.pushed, again.duplicates) == (0, 0)
    assert_exactly_once(shop.ho, till)


def test_replay_returns_the_stored_answer_and_a_reused_key_is_refused(shop: Shop) -> None:
    shop.member("M1")
    till, _ = shop.till("T1")
    token = shop.ho.register_till("T1", replace=True)
    buy(till, "M1")
    entries = [p.wire_entry(e) for e in outbox.pending_entries(till, 10)]
    body = _push_body(entries, "T1")
    key = p.idempotency_key(body)
    first = _post_push(shop.url, token, body, key)
    assert first.status_code == 200
    answer = p.decoder(p.PushAnswer).decode(first.content)
    assert all(r.status == "stored" and r.chain_ok for r in answer.results)
    replay = _post_push(shop.url, token, body, key)
    assert replay.status_code == 200
    assert replay.content == first.content
    other = _push_body(entries[:1], "T1")
    refused = _post_push(shop.url, token, other, key)
    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency_key_reused"
    # Without the key, a resend is answered entry by entry as duplicates.
    again = p.decoder(p.PushAnswer).decode(_post_push(shop.url, token, body).content)
    assert {r.status for r in again.results} == {"duplicate"}
    assert again.acked_seq == entries[-1].seq
    assert_exactly_once(shop.ho, till)


def test_a_gap_is_answered_with_the_expected_seq(shop: Shop) -> None:
    shop.member("M1")
    till, _ = shop.till("T1")
    token = shop.ho.register_till("T1", replace=True)
    for _ in range(3):
        buy(till, "M1")
    entries = [p.wire_entry(e) for e in outbox.pending_entries(till, 10)]
    resp = _post_push(shop.url, token, _push_body(entries[2:], "T1"))
    assert resp.status_code == 409
    assert resp.json() == {"code": "seq_gap", "params": {"expected_seq": 1}}
    assert shop.ho.entry_count() == 0


def test_the_client_repairs_a_gap_when_head_office_lost_entries(shop: Shop) -> None:
    """Head office restored from an older backup: it expects seq 1 again although the till saw
    those entries acknowledged. The client resends from there."""
    shop.member("M1")
    till, client = shop.till("T1")
    buy(till, "M1")
    client.sync()
    with shop.ho.store.transaction() as tx:  # the "restore": head office forgets them
        tx.run("DELETE FROM entries")
        tx.run("DELETE FROM push_requests")
    buy(till, "M1")
    client.sync()
    assert_exactly_once(shop.ho, till)


def test_tills_are_refused_with_unknown_revoked_or_anothers_identity(shop: Shop) -> None:
    shop.member("M1")
    till, client = shop.till("T1")
    _, other = shop.till("T2")
    buy(till, "M1")
    entries = [p.wire_entry(e) for e in outbox.pending_entries(till, 10)]
    t2_token = shop.ho.register_till("T2", replace=True)
    resp = _post_push(shop.url, t2_token, _push_body(entries, "T1"))
    assert (resp.status_code, resp.json()["code"]) == (403, "wrong_terminal")
    resp = _post_push(shop.url, "T1.not-the-token", _push_body(entries, "T1"))
    assert (resp.status_code, resp.json()["code"]) == (401, "unauthorised")
    shop.ho.revoke_till("T1")
    with pytest.raises(SyncFailed) as failed:
        client.sync()
    assert failed.value.code == "till_revoked"
    assert shop.ho.entry_count() == 0
    assert outbox.state(till).outbox == len(entries)


def test_concurrent_replays_of_one_batch_store_it_once(shop: Shop) -> None:
    shop.member("M1")
    till, _ = shop.till("T1")
    token = shop.ho.register_till("T1", replace=True)
    for _ in range(20):
        buy(till, "M1")
    body = _push_body([p.wire_entry(e) for e in outbox.pending_entries(till, 100)], "T1")
    statuses: list[int] = []

    def send(key: str | None) -> None:
        statuses.append(_post_push(shop.url, token, body, key).status_code)

    threads = [threading.Thread(target=send, args=(k,)) for k in ("k1", "k1", None, "k2") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * len(threads)
    assert_exactly_once(shop.ho, till)


def test_holds_stop_two_channels_spending_the_same_points(shop: Shop) -> None:
    shop.member("M1")
    till, client = shop.till("T1")
    _, web = shop.till("WEB")
    # 600 spendable points, from an adjustment head office holds.
    till.adjust("M1", 600, "welcome gift", "cashier1")
    client.sync()
    hold = client.authorise("M1", 500)
    with pytest.raises(SyncFailed) as refused:
        web.authorise("M1", 500)
    assert refused.value.code == "insufficient_points"
    assert refused.value.params["available"] == 100
    # The till redeems online with that hold; the capture ties it to the receipt.
    result = buy(till, "M1", 2000, reward_id="five-off", authorisation=hold)
    assert result.mode == "online"
    client.capture(hold, result.receipt_no)
    client.sync()
    assert shop.ho.member("M1").balance == 100
    with pytest.raises(SyncFailed):
        web.authorise("M1", 101)
    web.authorise("M1", 100)


def test_a_hold_expires_and_a_released_hold_frees_the_points(shop: Shop) -> None:
    shop.member("M1")
    till, client = shop.till("T1")
    till.adjust("M1", 300, "gift", "cashier1")
    client.sync()
    hold = client.authorise("M1", 300, ttl_seconds=5)
    with pytest.raises(SyncFailed):
        client.authorise("M1", 1)
    client.release(hold)
    hold = client.authorise("M1", 300, ttl_seconds=5)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
    shop.ho.clock = lambda: later
    again = client.authorise("M1", 300)
    with pytest.raises(SyncFailed) as expired:
        client.capture(hold, "T1-000001")
    assert expired.value.code == "hold_expired"
    client.release(again)


def test_an_offline_overdraft_is_stored_flagged_and_offset_by_later_earnings(shop: Shop) -> None:
    shop.member("M1")
    a, ca = shop.till("A")
    b, cb = shop.till("B")
    a.adjust("M1", 500, "gift", "cashier1")
    ca.sync()
    cb.sync()
    # Both tills redeem the same 500 points offline.
    earned = buy(a, "M1", 2000, reward_id="five-off").points_earned
    earned += buy(b, "M1", 2000, reward_id="five-off").points_earned
    earned -= 100  # both tills paid the welcome bonus; head office takes the second back
    ca.sync()
    report = cb.sync()
    assert report.overdrafts == 1
    # The flag is recorded beside the entry (head office's ledger is append-only too).
    with shop.ho.store.transaction() as tx:
        flagged = tx.all(
            "SELECT e.terminal_id, e.kind, e.points, o.member_id FROM overdrafts o "
            "JOIN entries e ON e.entry_id = o.entry_id"
        )
    assert [tuple(r) for r in flagged] == [("B", "redeem", -500, "M1")]
    # And head office's staff see it: an alert naming the member and the till.
    alerts = [a for a in shop.ho.alerts().alerts if a.kind == "overdraft"]
    assert [(a.member_id, a.terminal_ids, a.count) for a in alerts] == [("M1", ["B"], 1)]
    # 500 - 500 - 500: the debt of 500 is offset by the sales' earnings at once.
    state = shop.ho.member("M1")
    assert state.overdrawn and state.balance == -(500 - earned)
    assert b.balance("M1").available == state.balance
    # A later credit pays off the rest of the debt first.
    b.adjust("M1", 700, "goodwill", "cashier1")
    cb.sync()
    state = shop.ho.member("M1")
    assert (state.balance, state.overdrawn) == (700 - (500 - earned), False)
    assert_exactly_once(shop.ho, a, b)


def test_pull_pages_snapshot_then_changes_and_restarts_after_an_expired_cursor(
    shop: Shop,
) -> None:
    for i in range(25):
        shop.member(f"M{i:03d}", display_name=f"Member {i}")
    key = base64.b64encode(bytes(range(32))).decode()
    shop.ho.add_key("k1", key)
    shop.ho.deny("M003", "lost card")
    till, client = shop.till("T1", pull=False, page_size=10)
    report = client.sync()
    assert report.pages >= 3 and report.members == 25
    assert outbox.public_keys(till) == {"k1": bytes(range(32))}
    assert "M003" in outbox.deny_list(till)
    # Changes: a block, an erasure, a revoked key, an undenied code, a new program.
    shop.member("M001", status="blocked")
    shop.ho.erase_member("M002")
    shop.ho.revoke_key("k1")
    shop.ho.deny("M003", "", active=False)
    shop.ho.publish_program(PROGRAM_V2)
    report = client.sync()
    assert report.erased == 1 and report.program_version == "2026.12.1"
    assert till.member("M001", denied_ok=True).blocked
    assert outbox.public_keys(till) == {}
    assert "M003" not in outbox.deny_list(till) and "M001" in outbox.deny_list(till)
    with pytest.raises(Exception, match="unknown_member"):
        till.member("M002")
    # Head office forgets old changes: the till's cursor has expired and it starts over.
    shop.member("M010", display_name="Renamed")
    shop.ho.erase_member("M011")
    with shop.ho.store.transaction() as tx:
        top = tx.one("SELECT MAX(change_id) FROM changes")
    shop.ho.prune_changes(int(top[0]) if top else 0)
    report = client.sync()
    assert report.restarted
    assert till.member("M010").display_name == "Renamed"
    # The erasure happened in the forgotten window: the snapshot still carries it.
    with pytest.raises(Exception, match="unknown_member"):
        till.member("M011")
    assert client.sync().members == 0


def test_app_codes_come_from_the_injected_minter(shop: Shop) -> None:
    shop.member("M1")
    resp = httpx.post(
        f"{shop.url}/v1/members/M1/app-code", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert resp.status_code == 201
    assert resp.json() == {"member_id": "M1", "code": "APP.M1"}
    denied = httpx.post(
        f"{shop.url}/v1/members/M1/app-code", headers={"Authorization": "Bearer nope"}
    )
    assert denied.status_code == 403


def test_openapi_document_is_served(shop: Shop) -> None:
    doc = httpx.get(f"{shop.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/v1/push" in doc["paths"] and "PushRequest" in doc["components"]["schemas"]


PROGRAM_V2 = __import__("tests.sync_fixtures", fromlist=["PROGRAM"]).PROGRAM.replace(
    'version = "2026.11.1"', 'version = "2026.12.1"'
)


def test_an_entry_id_held_by_another_entry_is_held_not_a_silent_ack(shop: Shop) -> None:
    """Another till's entry replayed under T2: its hash does not cover T2's facts, so head
    office holds it (not credited, alerted) instead of storing it a second time."""
    shop.member("M1")
    till, client = shop.till("T1")
    buy(till, "M1")
    client.sync()
    stolen = p.wire_entry(outbox.entries_from(till, 1, 1)[0])
    token = shop.ho.register_till("T2")
    forged = msgspec.structs.replace(stolen, terminal_id="T2", seq=1)
    resp = _post_push(shop.url, token, _push_body([forged], "T2"))
    answer = p.decoder(p.PushAnswer).decode(resp.content)
    assert [r.status for r in answer.results] == ["held"]
    assert_exactly_once(shop.ho, till)
    alerts = [a for a in shop.ho.alerts().alerts if a.kind == "chain_broken"]
    assert [a.terminal_ids for a in alerts] == [["T2"]]
