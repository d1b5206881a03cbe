"""`till headoffice events post|list` on a head office database: a post goes through the same
rules and exactly-once keys as a channel's over HTTP; each refusal is one translated line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync import protocol as p
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.cli_helpers import run_till
from tests.sync_fixtures import ADMIN, PROGRAM


def test_post_and_list_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "headoffice.sqlite")
    ho = HeadOffice(open_store(db), admin_token=ADMIN)
    ho.publish_program(PROGRAM)
    ho.upsert_member("ANN", p.MemberRequest())
    ho.register_channel("web")
    ho.store.close()
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    monkeypatch.delenv("TILL_CONFIG", raising=False)

    def post(
        event_id: str, action: str = "social_follow", member: str = "ANN"
    ) -> tuple[int, Any, str]:
        return run_till(capsys, "headoffice", "events", "post", "--db", db, "--channel", "web",
                        "--member", member, "--action", action, "--event-id", event_id)  # fmt: skip

    code, first, err = post("F-1")
    assert code == 0, err
    assert first["points"] == 20 and first["entries"][0]["reason"] == "engage:social_follow"
    assert post("F-1")[1] == first  # the same post again: the same answer, nothing new
    code, out, err = post("F-2")
    assert (code, out) == (2, None)
    assert err.strip().endswith("nothing was credited (limit: 1)") and "social_follow" in err
    code, _, err = post("F-3", member="NOBODY")
    assert code == 2 and "\n" not in err.strip()
    code, _, err = post("F-4", action="liked_a_post")
    assert "no engagement rule for liked_a_post" in err

    code, listed, err = run_till(capsys, "headoffice", "events", "list", "--db", db)
    assert code == 0, err
    (event,) = listed["events"]
    assert (event["member_id"], event["action"], event["event_id"], event["source"]) == (
        "ANN", "social_follow", "F-1", "@channel:web")  # fmt: skip
    assert (event["period"], event["points"]) == ("ever", 20)
    code, listed, _ = run_till(capsys, "headoffice", "events", "list", "--db", db,
                               "--action", "review_written")  # fmt: skip
    assert listed["events"] == []
