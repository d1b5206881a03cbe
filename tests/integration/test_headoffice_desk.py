"""Head office's desk: `till headoffice alerts` lists and acknowledges the alerts tampering
raised; `till headoffice suspend` refuses a till's pushes with a clear code until `resume`,
and its outbox waits with nothing lost. Real `till` processes and a head office on 127.0.0.1,
SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3

from tests.sync_fixtures import ADMIN, Shop, postgres, shop, store_url
from tests.till_processes import data_dir, run, sell

__all__ = ["postgres", "shop", "store_url"]


def test_alerts_are_listed_and_acknowledged_and_a_suspended_till_waits(shop: Shop) -> None:
    folder, db = data_dir(shop)
    url = shop.url
    sell(folder, url, 1)
    with sqlite3.connect(db) as conn:  # a dishonest till edits an unsent entry
        conn.execute("DROP TRIGGER ledger_no_update")
        conn.execute(
            "UPDATE ledger SET points = 90000 WHERE entry_id = "
            "(SELECT entry_id FROM ledger WHERE acked_at IS NULL ORDER BY seq LIMIT 1)"
        )
    assert run(folder, url, "sync", "--once")[0] == 0

    code, out, err = run(folder, url, "headoffice", "alerts")
    assert code == 2 and "TILL_HEADOFFICE_ADMIN_TOKEN" in err
    code, out, err = run(folder, url, "headoffice", "alerts", TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN)
    assert code == 0, err
    (alert,) = [a for a in out["alerts"] if a["kind"] == "chain_broken"]
    assert alert["member_id"] == "M1" and alert["terminal_ids"] == ["T1"]
    assert alert["acknowledged_at"] is None
    code, out, err = run(
        folder, url, "headoffice", "alerts", "--ack", str(alert["alert_id"]),
        TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN,
    )  # fmt: skip
    assert code == 0, err
    (acked,) = [a for a in out["alerts"] if a["alert_id"] == alert["alert_id"]]
    assert acked["acknowledged_at"] is not None
    code, _, err = run(
        folder, url, "headoffice", "alerts", "--ack", "999999", TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN
    )
    assert code == 1 and "no alert 999999" in err
    code, _, err = run(folder, url, "headoffice", "alerts", TILL_HEADOFFICE_ADMIN_TOKEN="wrong")
    assert code == 1 and "refused the admin token" in err

    # Suspended: the till's pushes are refused with a clear line; its sales wait.
    code, out, err = run(
        folder, url, "headoffice", "suspend", "T1", "--reason", "chain broken",
        TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN,
    )  # fmt: skip
    assert code == 0 and out == {"terminal_id": "T1", "suspended": True}, err
    sell(folder, url, 1)
    code, _, err = run(folder, url, "sync", "--once")
    assert code == 1 and "head office has suspended this till" in err
    with sqlite3.connect(db) as conn:
        waiting = conn.execute("SELECT COUNT(*) FROM ledger WHERE acked_at IS NULL").fetchone()[0]
    assert waiting >= 1
    code, _, err = run(folder, url, "headoffice", "resume", "T1", TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN)
    assert code == 0, err
    code, out, err = run(folder, url, "sync", "--once")
    assert code == 0 and out["outbox"] == 0 and out["pushed"] == waiting, err
    code, _, err = run(
        folder, url, "headoffice", "suspend", "T9", TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN
    )
    assert code == 1 and "no till T9" in err
