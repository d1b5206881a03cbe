"""Referrals from the command line, as a cashier and head office's staff use them: real `till`
processes and a head office on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.sync_fixtures import ADMIN, Shop, postgres, shop, store_url
from tests.till_processes import data_dir, run

__all__ = ["postgres", "shop", "store_url"]


def test_a_cashier_enrols_with_a_code_and_head_office_lists_what_became_of_it(
    shop: Shop,
) -> None:
    folder, _ = data_dir(shop)
    url = shop.url
    code, anna, err = run(folder, url, "enroll", "--name", "Anna", "--consent")
    assert code == 0, err
    mine = anna["referral_code"]
    assert len(mine) == 9 and mine[4] == "-"
    # A careless cashier: one character wrong. Refused, with what to do, and nobody enrolled.
    wrong = mine[:2] + ("3" if mine[2] != "3" else "4") + mine[3:]
    code, out, err = run(folder, url, "enroll", "--name", "Bea", "--consent",
                         "--referral-code", wrong)  # fmt: skip
    assert code == 2 and out is None  # bad input
    assert "referral code is mistyped" in err
    code, bea, err = run(folder, url, "enroll", "--name", "Bea", "--consent",
                         "--referral-code", mine.lower().replace("-", " "))  # fmt: skip
    assert code == 0, err
    assert bea["referred_by"] == mine and bea["referral_code"] != mine
    code, _, err = run(folder, url, "sale", "--member", bea["member_id"], "--total", "30.00")
    assert code == 0, err
    assert run(folder, url, "sync", "--once")[0] == 0
    code, out, err = run(folder, url, "headoffice", "referrals", TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN)
    assert code == 0, err
    (row,) = out["referrals"]
    assert (row["member_id"], row["referrer_id"], row["status"], row["code"]) == (
        bea["member_id"], anna["member_id"], "credited", mine,
    )  # fmt: skip
    assert row["message"] == "both members were credited"
    code, out, err = run(folder, url, "headoffice", "referrals", "--status", "refused",
                         TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN, TILL_LANGUAGE="el")  # fmt: skip
    assert code == 0 and out == {"referrals": []}, err
    code, anna_now, err = run(folder, url, "balance", anna["member_id"])
    assert code == 0, err
    assert anna_now["pending"] == 200, anna_now
