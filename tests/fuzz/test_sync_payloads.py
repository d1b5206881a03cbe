"""Hostile bodies against both sides of the sync protocol.

Head office decodes requests strictly: whatever the bytes, a body is either refused with a
problem code (400 malformed_json, 422 invalid_body) or decoded into values that match every
pattern of the protocol *as the whole text* (a trailing newline once slipped through "$").
The till decodes answers tolerantly: whatever head office says, a page is applied or the sync
fails with a ``SyncFailed`` code; it never raises anything else and never stores a member id
that is not one.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import outbox
from loyalty.db import to_text
from loyalty.till import Till
from sync import client
from sync import protocol as p
from sync.headoffice.rows import ApiProblem
from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice, decode_request
from sync.headoffice.store import open_store

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "fixtures" / "program.toml"
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Strings that have broken parsers before: SQL, control characters, bidi overrides, newlines
# after a valid id, other scripts' digits, very long text.
NASTY = st.sampled_from(
    [
        "M1\n",
        "M1\r\n",
        "'; DROP TABLE members; --",
        "M1\x00",
        "\u202eM1",
        "١٢٣٤٥٦٧٨٩٠١٢",
        "400000000002\n",
        "2026-11-25T09:30:00.000000Z\n",
        "x" * 10_000,
        "",
        "en\n",
        "\x1b[2J",
    ]
)
TEXT = st.one_of(NASTY, st.text(max_size=40))
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _patterns(kind: Any) -> dict[str, re.Pattern[str]]:
    """Each field of a request struct that has a pattern, compiled for fullmatch."""
    out: dict[str, re.Pattern[str]] = {}
    schema = msgspec.json.schema(kind)
    defs = schema.get("$defs", {})
    props = defs.get(kind.__name__, schema).get("properties", {})
    for name, prop in props.items():
        for option in prop.get("anyOf", [prop]):
            if "pattern" in option:
                out[name] = re.compile(option["pattern"].removeprefix("^").removesuffix(r"\Z"))
    return out


REQUESTS = [p.HoldRequest, p.MemberRequest, p.TillRequest, p.KeyRequest, p.DenyRequest]
FIELDS = {
    p.HoldRequest: {"member_id": TEXT, "points": st.integers(), "ttl_seconds": st.integers()},
    p.MemberRequest: {
        "card_number": TEXT,
        "display_name": TEXT,
        "language": TEXT,
        "phone_hash": TEXT,
        "birthday": TEXT,
        "status": TEXT,
    },  # fmt: skip
    p.TillRequest: {"terminal_id": TEXT, "replace": st.booleans()},
    p.KeyRequest: {"key_id": TEXT, "public_key": TEXT},
    p.DenyRequest: {"code": TEXT, "reason": TEXT},
}


@st.composite
def request_body(draw: st.DrawFn) -> tuple[type[Any], bytes]:
    kind = draw(st.sampled_from(REQUESTS))
    fields = {
        name: draw(strategy) for name, strategy in FIELDS[kind].items() if draw(st.booleans())
    }
    if draw(st.booleans()):
        fields[draw(TEXT)] = draw(JSONISH)  # an unknown field, or a known one with any value
    body = json.dumps(fields).encode()
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.binary(max_size=200))
    elif (
        draw(st.integers(0, 4)) == 0
    ):  # invalid UTF-8 inside a string (msgspec: UnicodeDecodeError)
        body = body.replace(
            b'"', b'"' + draw(st.sampled_from([b"\xd1", b"\xff", b"\xed\xa0\x80"])), 1
        )
    return kind, body


@SETTINGS
@given(request_body())
def test_head_office_decodes_a_request_strictly_or_refuses_it(
    case: tuple[type[Any], bytes],
) -> None:
    kind, body = case
    try:
        value = decode_request(kind, body)
    except ApiProblem as problem:
        assert (problem.status, problem.code) in ((400, "malformed_json"), (422, "invalid_body"))
        return
    for name, pattern in _patterns(kind).items():
        got = getattr(value, name)
        assert got is None or pattern.fullmatch(got), (name, got)


def test_a_trailing_newline_is_not_an_identifier() -> None:
    for kind, body in [
        (p.HoldRequest, b'{"member_id": "M1\\n", "points": 5}'),
        (p.TillRequest, b'{"terminal_id": "T1\\n"}'),
        (p.MemberRequest, b'{"language": "en\\n"}'),
        (p.DenyRequest, b'{"code": "M1\\n"}'),
    ]:
        with pytest.raises(ApiProblem) as refused:
            decode_request(kind, body)
        assert refused.value.code == "invalid_body"


def test_the_openapi_document_keeps_json_schema_anchors() -> None:
    from sync.headoffice.openapi import openapi_document

    text = json.dumps(openapi_document())
    assert r"\\Z" not in text and '"pattern": "^[A-Za-z0-9_-]{1,32}$"' in text


# -- the till's side: answers ------------------------------------------------------------------
@st.composite
def member_state(draw: st.DrawFn) -> dict[str, Any]:
    state: dict[str, Any] = {"member_id": draw(st.one_of(st.just("M000001"), TEXT)),
                             "snapshot_at": to_text(NOW)}  # fmt: skip
    optional = {
        "card_number": st.one_of(st.none(), TEXT),
        "display_name": TEXT,
        "language": st.one_of(st.just("el"), TEXT),
        "status": st.sampled_from(["active", "blocked", "gone"]),
        "balance": st.integers(min_value=-(2**63), max_value=2**64 - 1),
        "pending": st.lists(st.tuples(st.integers(-(10**15), 10**15), TEXT), max_size=2),
        "tier_id": st.one_of(st.none(), TEXT),
        "tier_progress": st.integers(min_value=-(2**63), max_value=2**64 - 1),
        "birthday": st.one_of(st.none(), TEXT),
        "phone_hash": st.one_of(st.none(), TEXT),
        "unknown_field": JSONISH,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            state[name] = draw(strategy)
    return state


@st.composite
def changes_body(draw: st.DrawFn) -> bytes:
    answer: dict[str, Any] = {"cursor": draw(TEXT), "more": False}
    if draw(st.booleans()):
        answer["members"] = draw(st.lists(member_state(), max_size=3))
    if draw(st.booleans()):
        answer["erased"] = draw(st.lists(TEXT, max_size=3))
    if draw(st.booleans()):
        answer["programs"] = draw(st.lists(TEXT, max_size=2))
    if draw(st.booleans()):
        answer["public_keys"] = draw(
            st.lists(st.fixed_dictionaries({"key_id": TEXT, "public_key": TEXT}), max_size=2)
        )
    if draw(st.booleans()):
        answer["denied"] = draw(st.lists(st.fixed_dictionaries({"code": TEXT}), max_size=2))
    if draw(st.booleans()):
        answer["server_time"] = draw(TEXT)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    body = json.dumps(answer).encode()
    if draw(st.integers(0, 4)) == 0:
        body = body.replace(b'"', b'"\xd1', draw(st.integers(1, 3)))
    return body


@pytest.fixture(scope="module")
def till(tmp_path_factory: pytest.TempPathFactory) -> Till:
    t = Till.open(tmp_path_factory.mktemp("till"), must_exist=False)
    t.initialise("ATH01-T1", PROGRAM.read_text(encoding="utf-8"), str(PROGRAM), NOW)
    return t


@SETTINGS
@given(body=changes_body())
def test_the_till_applies_any_page_or_refuses_it_with_a_code(till: Till, body: bytes) -> None:
    try:
        answer = client._decoder(p.ChangesAnswer).decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return  # the client turns these into SyncFailed("protocol_error"): see below
    page = p.change_page(answer, client._snapshots(answer.members))
    outbox.apply_page(till, page, NOW)
    with till.db.read() as conn:
        ids = [r[0] for r in conn.execute("SELECT member_id FROM members")]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,32}", i) for i in ids), ids


@SETTINGS
@given(
    start=st.one_of(st.integers(-3, 3), st.integers(2**62, 2**80), st.integers()),
    phase=st.sampled_from(["s", "c", "x"]),
    after=st.one_of(st.just(""), JSONISH),
)
def test_a_forged_cursor_is_refused_with_a_code(
    headoffice: HeadOffice, start: int, phase: str, after: object
) -> None:
    """A till can send any cursor: one with head office's epoch and a change id beyond 64 bits
    once overflowed the database driver (a 500)."""
    epoch = headoffice.changes(None).cursor
    epoch_value = json.loads(base64.urlsafe_b64decode(epoch + "=" * (-len(epoch) % 4)))[0]
    raw = json.dumps([epoch_value, phase, start, after]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    try:
        headoffice.changes(cursor, 10, "T1")
    except ApiProblem as problem:
        assert problem.code in ("malformed_cursor", "cursor_expired")


@pytest.fixture(scope="module")
def headoffice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadOffice]:
    ho = HeadOffice(open_store(str(tmp_path_factory.mktemp("ho") / "ho.sqlite")), admin_token="a")
    ho.publish_program(PROGRAM.read_text(encoding="utf-8"))
    yield ho
    ho.store.close()


class _Answers(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    "body",
    [
        b'{"cursor": "\xd1a", "more": false}',  # invalid UTF-8 in a string (found by atheris)
        b'{"cursor": "c", "more": false, "members": [{"member_id": "M1\\n", "snapshot_at": 1}]}',
        b"[" * 100_000,
        b"",
    ],
)
def test_a_hostile_answer_over_http_is_a_protocol_error(till: Till, body: bytes) -> None:
    """Through the client's own request path on a real socket: never another exception."""
    handler = type("Handler", (_Answers,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with (
            client.SyncClient(till, url, "ATH01-T1.x", max_attempts=1) as sync_client,
            pytest.raises(client.SyncFailed) as failed,
        ):
            sync_client._pull()
        assert failed.value.code == "protocol_error"
    finally:
        server.shutdown()
        server.server_close()


def test_head_office_answers_invalid_utf8_with_400(headoffice: HeadOffice) -> None:
    token = headoffice.register_till("T-UTF8")
    with ServerThread(headoffice) as url:
        for path, body in [
            ("/v1/push", b'{"terminal_id": "\xd1"}'),
            ("/v1/holds", b'{"member_id": "\xff"}'),
        ]:
            answer = httpx.post(
                url + path, content=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 400 and answer.json()["code"] == "malformed_json", path
