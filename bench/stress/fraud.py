"""Double spending and fraud against the offline policy and head office.

Head office is the real ASGI app on 127.0.0.1 (uvicorn in a thread, SQLite); tills are real
till files syncing over HTTP. Members get spendable points from a head-office channel ("HQ-WEB",
as the web shop would), every till pulls them, then the tills go offline and try to spend.

Scenarios, each printing the overdraft it allowed and the bound the offline policy promises:
- ``N tills offline``: 2, 3 and 5 tills redeem for one member as long as each till lets them;
  bound: N x min(member allowance, till budget).
- ``till budget``: 2 tills, 6 members each redeeming up to their allowance; each till's budget
  caps what it lets out whatever the number of members; bound: tills x budget.
- ``clock +4 / -4 days``: tills whose clock is wrong by days (since before their last sync):
  the snapshot's age is measured on head office's clock, so they behave as if it were right;
  ``clock set back``: a till offline for 5 days whose clock is then set back 4 days, so that its
  snapshot looks fresh: the till cannot tell offline, and the allowance still bounds the loss.
- ``replayed batch``: an old push replayed with its key, with a new key, and forged (old seqs,
  new entry ids): head office stores nothing new.
- ``stolen token``: a till's token with another till id in the batch, and after revocation.
- ``velocity``: one member redeems many times in a day across tills; a velocity alert must
  reach head office (GET /v1/alerts).

    .venv/bin/python bench/stress/fraud.py [--allowance 1000] [--budget 2500] [--velocity-limit 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import PROGRAM_FILE  # noqa: E402

from loyalty import ledger  # noqa: E402
from loyalty.db import utc_now  # noqa: E402
from loyalty.errors import Refused  # noqa: E402
from loyalty.rules import BasketLine  # noqa: E402
from loyalty.sales import SaleRequest, sale  # noqa: E402
from loyalty.till import Till  # noqa: E402
from sync import protocol as p  # noqa: E402
from sync.client import SyncClient  # noqa: E402
from sync.headoffice.serve import ServerThread  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402

ADMIN = "fraud-admin"
COFFEE = 250  # points of the cheapest reward redeemed here


@dataclass
class Outcome:
    scenario: str
    redeemed: int  # points the tills let out
    overdraft: int  # beyond what the member(s) had
    bound: int  # what the offline policy promises at most
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.overdraft <= self.bound


class Chain:
    """Head office on 127.0.0.1 and tills that sync with it."""

    def __init__(self, folder: Path, allowance: int, budget: int, velocity_limit: int) -> None:
        text = PROGRAM_FILE.read_text("utf-8")
        text = text.replace(
            "member_allowance_points = 1000", f"member_allowance_points = {allowance}"
        )
        text = text.replace("terminal_budget_points = 20000", f"terminal_budget_points = {budget}")
        self.program, self.allowance, self.budget = text, allowance, budget
        self.folder = folder
        self.ho = HeadOffice(
            open_store(str(folder / "ho.sqlite")), admin_token=ADMIN, velocity_limit=velocity_limit
        )
        self.ho.publish_program(text)
        self.server = ServerThread(self.ho)
        self.url = self.server.start()
        self.tills: dict[str, tuple[Till, SyncClient, str]] = {}
        self.hq = self.till("HQ-WEB")

    def till(self, terminal_id: str) -> Till:
        till = Till.open(self.folder / terminal_id, must_exist=False)
        till.initialise(terminal_id, self.program, "program.toml")
        token = self.ho.register_till(terminal_id)
        client = SyncClient(till, self.url, token, max_attempts=2)
        self.tills[terminal_id] = (till, client, token)
        client.sync()
        return till

    def sync(self, till: Till) -> None:
        self.tills[till.terminal_id][1].sync()

    def member(self, member_id: str, points: int) -> None:
        """A member with ``points`` spendable at once (an adjustment from the HQ channel)."""
        self.ho.upsert_member(member_id, p.MemberRequest(display_name="Fraud " + member_id))
        self.sync(self.hq)
        self.hq.adjust(member_id, points, "welcome points", "hq")
        self.sync(self.hq)

    def balance(self, member_id: str) -> int:
        return self.ho.member(member_id).balance

    def close(self) -> None:
        for till, client, _ in self.tills.values():
            client.close()
            till.close()
        self.server.stop()
        self.ho.store.close()


def redeem_until_refused(
    till: Till, member_id: str, now: dt.datetime | None = None, limit: int = 100
) -> int:
    """Coffees for one member at one offline till until the till refuses; points let out."""
    out = 0
    for _ in range(limit):
        req = SaleRequest(member_id, "eve", (BasketLine("CAFE-001", "drinks", 280),), "coffee")
        try:
            r = sale(till, req, now)
        except Refused:
            return out
        out += r.pricing.redeemed_points
    return out


def n_tills_offline(chain: Chain, n: int, balance: int) -> Outcome:
    member = f"MN{n}"
    chain.member(member, balance)
    tills = [chain.till(f"N{n}-T{i}") for i in range(n)]
    redeemed = sum(redeem_until_refused(t, member) for t in tills)
    for t in tills:
        chain.sync(t)
    final = chain.balance(member)
    assert final == balance - redeemed, (final, balance, redeemed)
    return Outcome(
        f"{n} tills offline, one member",
        redeemed,
        max(0, -final),
        n * min(chain.allowance, chain.budget),
        f"balance {balance} -> {final}",
    )


def till_budget(chain: Chain, members: int, balance: int) -> Outcome:
    ids = [f"MB{i}" for i in range(members)]
    for m in ids:
        chain.member(m, balance)
    tills = [chain.till(f"B-T{i}") for i in range(2)]
    redeemed = 0
    for t in tills:
        for m in ids:
            redeemed += redeem_until_refused(t, m)
    for t in tills:
        chain.sync(t)
    overdraft = sum(max(0, -chain.balance(m)) for m in ids)
    bound = sum(min(chain.budget, members * chain.allowance) for _ in tills)
    return Outcome(
        f"till budget: 2 tills x {members} members",
        redeemed,
        overdraft,
        bound,
        f"each till let out at most {chain.budget}",
    )


@contextlib.contextmanager
def till_clock(offset: dt.timedelta) -> Iterator[None]:
    """The till's clock (every till operation's default ``now``) is off by ``offset``; head
    office's clock is right."""
    with mock.patch("loyalty.till.utc_now", lambda: utc_now() + offset):
        yield


def wrong_clock(
    chain: Chain, days: int, balance: int, offline_days: int = 0, set_back: int = 0
) -> Outcome:
    """Two tills whose clocks are off by ``days`` since before their last sync, then offline
    for ``offline_days``; with ``set_back``, someone then sets their clocks back that many days
    to make the member's snapshot look fresh."""
    member = f"MC{days + 10}{offline_days}{set_back}"
    chain.member(member, balance)
    with till_clock(dt.timedelta(days=days)):
        tills = [chain.till(f"C{days + 10}{offline_days}{set_back}-T{i}") for i in (0, 1)]
    offline = dt.timedelta(days=offline_days)
    with till_clock(dt.timedelta(days=days) + offline - dt.timedelta(days=set_back)):
        redeemed = sum(redeem_until_refused(t, member) for t in tills)
        for t in tills:
            chain.sync(t)
    final = chain.balance(member)
    assert final == balance - redeemed
    if set_back:
        name = f"clock set back {set_back} days after {offline_days} offline"
    elif offline_days:
        name = f"{offline_days} days offline, clock right"
    else:
        name = f"clock {days:+d} days since before the last sync"
    verdict = "refused: snapshot too old" if redeemed == 0 else "allowed up to the allowance"
    return Outcome(
        name + ", 2 tills",
        redeemed,
        max(0, -final),
        2 * min(chain.allowance, chain.budget),
        verdict,
    )


def _post(chain: Chain, token: str, body: bytes, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}
    if key:
        headers[p.IDEMPOTENCY_HEADER] = key
    return httpx.post(
        f"{chain.url}/v1/push", content=gzip.compress(body), headers=headers, trust_env=False
    )


def replayed_batch(chain: Chain, balance: int) -> Outcome:
    member = "MR"
    chain.member(member, balance)
    till = chain.till("R-T1")
    redeem_until_refused(till, member)
    with till.db.read() as conn:
        sent = [p.wire_entry(e) for e in ledger.unacked(conn, "R-T1", 1000)]
    body = p.encode(p.PushRequest(terminal_id="R-T1", entries=sent))
    chain.sync(till)
    before, count = chain.balance(member), chain.ho.entry_count()
    token = chain.tills["R-T1"][2]
    same = _post(chain, token, body, p.idempotency_key(body))
    fresh = _post(chain, token, body, "another-key")
    forged_entries = [
        p.WireEntry(
            **{**{f: getattr(e, f) for f in e.__struct_fields__}, "entry_id": f"forged-{e.seq}"}
        )
        for e in sent
    ]
    forged = p.encode(p.PushRequest(terminal_id="R-T1", entries=forged_entries))
    forged_answer = _post(chain, token, forged, None)
    statuses = sorted({r["status"] for r in fresh.json()["results"]})
    forged_statuses = sorted({r["status"] for r in forged_answer.json()["results"]})
    after, count_after = chain.balance(member), chain.ho.entry_count()
    assert same.status_code == fresh.status_code == forged_answer.status_code == 200
    assert count_after == count and after == before, (count, count_after, before, after)
    return Outcome(
        "replayed batch (same key, new key, forged ids)",
        0,
        before - after,
        0,
        f"new key: {statuses}; forged: {forged_statuses}; stored 0 new",
    )


def stolen_token(chain: Chain, balance: int) -> Outcome:
    member = "MS"
    chain.member(member, balance)
    victim = chain.till("S-T1")
    thief = chain.till("S-T2")
    redeem_until_refused(thief, member)
    with thief.db.read() as conn:
        entries = [p.wire_entry(e) for e in ledger.unacked(conn, "S-T2", 1000)]
    body = p.encode(p.PushRequest(terminal_id="S-T2", entries=entries))
    victim_token = chain.tills["S-T1"][2]
    as_other = _post(chain, victim_token, body, None)  # S-T1's token, S-T2's batch
    chain.ho.revoke_till("S-T1")
    revoked = _post(chain, victim_token, body, None)
    before = chain.balance(member)
    codes = [as_other.json().get("code"), revoked.json().get("code")]
    assert as_other.status_code == 403 and revoked.status_code == 403, codes
    assert before == balance
    del victim
    return Outcome("stolen till token from another till id", 0, 0, 0, f"refused: {codes}")


def velocity(chain: Chain, tills: int, balance: int) -> tuple[Outcome, list[p.Alert]]:
    member = "MV"
    chain.member(member, balance)
    used = [chain.till(f"V-T{i}") for i in range(tills)]
    redeemed = sum(redeem_until_refused(t, member) for t in used)
    for t in used:
        chain.sync(t)
    resp = httpx.get(
        f"{chain.url}/v1/alerts", headers={"Authorization": f"Bearer {ADMIN}"}, trust_env=False
    )
    resp.raise_for_status()
    alerts = [
        a for a in p.decoder(p.AlertsAnswer).decode(resp.content).alerts if a.member_id == member
    ]
    final = chain.balance(member)
    note = f"{redeemed // COFFEE} redemptions; alerts: " + ", ".join(
        f"{a.kind} {a.member_id} {a.day} count={a.count}" for a in alerts
    )
    outcome = Outcome(
        f"velocity: one member at {tills} tills",
        redeemed,
        max(0, -final),
        tills * min(chain.allowance, chain.budget),
        note,
    )
    return outcome, alerts


def run(
    allowance: int = 1000, budget: int = 2500, velocity_limit: int = 10, workdir: Path | None = None
) -> tuple[list[Outcome], list[p.Alert]]:
    tmp = Path(tempfile.mkdtemp(prefix="stress-fraud-", dir=workdir))
    chain = Chain(tmp, allowance, budget, velocity_limit)
    try:
        small = allowance // 2  # less than one till's allowance: any double spend overdraws
        out = [n_tills_offline(chain, n, small) for n in (2, 3, 5)]
        out.append(till_budget(chain, 6, small))
        out.append(wrong_clock(chain, 4, small))
        out.append(wrong_clock(chain, -4, small))
        out.append(wrong_clock(chain, 0, small, offline_days=5))
        out.append(wrong_clock(chain, 0, small, offline_days=5, set_back=4))
        out.append(replayed_batch(chain, small))
        out.append(stolen_token(chain, small))
        v, alerts = velocity(chain, 3, 20 * allowance)
        out.append(v)
    finally:
        chain.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out, alerts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--allowance", type=int, default=1000, help="member offline allowance")
    ap.add_argument("--budget", type=int, default=2500, help="till offline budget")
    ap.add_argument("--velocity-limit", type=int, default=10, help="redemptions a day for an alert")
    a = ap.parse_args()
    started = time.monotonic()
    outcomes, alerts = run(a.allowance, a.budget, a.velocity_limit)
    print(
        f"offline policy: member allowance {a.allowance}, till budget {a.budget}; "
        f"velocity limit {a.velocity_limit}/day"
    )
    print(f"{'scenario':<48} {'redeemed':>8} {'overdraft':>9} {'bound':>6}  ok  note")
    for o in outcomes:
        print(
            f"{o.scenario:<48} {o.redeemed:>8} {o.overdraft:>9} {o.bound:>6}  "
            f"{'yes' if o.ok else 'NO '} {o.note}"
        )
    print(f"velocity alerts at head office: {len(alerts)}")
    print(f"seconds {time.monotonic() - started:.1f}")
    return 0 if all(o.ok for o in outcomes) and alerts else 1


if __name__ == "__main__":
    raise SystemExit(main())
