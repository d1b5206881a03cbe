"""Keys and the deny-list that head office's pull stored in the till's database are what
`till scan` trusts: a code signed with a pulled key is accepted, then refused once head office
revokes the member's card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty import outbox
from loyalty.till import Till
from scanner.codes import mint_app_code
from scanner.keys import load_private_key, public_bytes
from tests.cli_helpers import ROOT, init_data_dir, run_till


def test_pulled_keys_and_deny_list_decide_what_till_scan_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = init_data_dir(tmp_path, monkeypatch, capsys)
    key = load_private_key(ROOT / "fixtures" / "keys" / "test-2026.TEST-ONLY-private.pem")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    code = mint_app_code(key, "test-2026", "M000003", now)

    code_, out, err = run_till(capsys, "scan", "--text", code)
    assert code_ == 2 and "key" in err  # no key pulled yet: not trusted

    till = Till.open(data)
    outbox.apply_page(
        till, outbox.ChangePage("c1", public_keys=(("test-2026", public_bytes(key)),))
    )
    till.close()
    code_, out, err = run_till(capsys, "scan", "--text", code)
    assert code_ == 0, err
    assert out["member_id"] == "M000003" and out["valid"] is True

    till = Till.open(data)
    outbox.apply_page(till, outbox.ChangePage("c2", denied=(("M000003", "card stolen"),)))
    till.close()
    code_, out, err = run_till(capsys, "scan", "--text", code)
    assert code_ == 2 and out is None and err.startswith("till: ")
