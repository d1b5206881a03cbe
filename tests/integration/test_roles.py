"""Head office's roles: admin, till and channel tokens. Every route is walked with every role
(and none) against a real head office on 127.0.0.1: a role a route does not serve is refused
before anything happens, a role it serves is let through, and the OpenAPI document states the
same roles. A till's enrolment never overwrites another member's personal data."""

from __future__ import annotations

import gzip

import httpx

from sync import protocol as p
from sync.headoffice.app import create_app
from sync.headoffice.openapi import openapi_document
from sync.headoffice.roles import ROUTE_ROLES
from tests.sync_fixtures import ADMIN, Shop, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]

# Path parameters nothing is stored under: an allowed call is refused for its input at most.
_PARAMS = {
    "{member_id}": "NOBODY9",
    "{hold_id}": "no-such-hold",
    "{terminal_id}": "NOTILL9",
    "{key_id}": "no-such-key",
    "{code}": "NO-SUCH-CODE",
    "{alert_id}": "999999",
    "{entry_id}": "no-such-entry",
    "{channel_id}": "NOCHANNEL9",
}
_ROLE_REFUSALS = {"admin_only", "role_not_allowed", "unauthorised"}


def _path(template: str) -> str:
    for name, value in _PARAMS.items():
        template = template.replace(name, value)
    return template


def _code(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def test_every_route_with_every_role(shop: Shop) -> None:
    app = create_app(headoffice=shop.ho)
    served = {
        (method, route.path)  # type: ignore[attr-defined]
        for route in app.routes
        for method in route.methods or ()  # type: ignore[attr-defined]
        if method != "HEAD"
    }
    assert served == set(ROUTE_ROLES), "every route states its roles, and only routes do"
    tokens = {
        "admin": ADMIN,
        "till": shop.ho.register_till("T1"),
        "channel": shop.ho.register_channel("web"),
        None: None,
    }
    with httpx.Client(base_url=shop.url, trust_env=False, timeout=30) as http:
        for (method, template), allowed in sorted(ROUTE_ROLES.items()):
            for role, token in tokens.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                body = b"{}" if method in ("POST", "PUT") else None
                if template == "/v1/push":
                    body = gzip.compress(b"{}")
                    headers["Content-Encoding"] = "gzip"
                resp = http.request(method, _path(template), content=body, headers=headers)
                where = f"{method} {template} as {role}"
                assert resp.status_code < 500, where
                if not allowed or role in allowed:
                    assert _code(resp) not in _ROLE_REFUSALS, where
                elif role is None and allowed != {"admin"}:
                    assert (resp.status_code, _code(resp)) == (401, "unauthorised"), where
                else:
                    assert resp.status_code == 403, where
                    assert _code(resp) in ("admin_only", "role_not_allowed"), where
    # The till's token still works after the walk: no route it may not call did anything.
    assert shop.ho.principal(str(tokens["till"])) == ("till", "T1")


def test_the_openapi_document_states_each_operations_roles() -> None:
    doc = openapi_document()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            roles = ROUTE_ROLES[(method.upper(), path)]
            assert operation["x-roles"] == sorted(roles)
            assert "Roles:" in operation["description"]
            if not roles:
                assert operation["security"] == []


def test_a_channel_reads_members_and_posts_nothing(shop: Shop) -> None:
    shop.member("M1", display_name="Anna")
    token = shop.ho.register_channel("web")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=shop.url, trust_env=False, timeout=30, headers=headers) as http:
        assert http.get("/v1/members/M1").json()["display_name"] == "Anna"
        refused = http.post("/v1/push", content=b"{}")
        assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")
    admin = {"Authorization": f"Bearer {ADMIN}"}
    again = httpx.post(
        f"{shop.url}/v1/channels", json={"channel_id": "web"}, headers=admin, trust_env=False
    )
    assert (again.status_code, again.json()["code"]) == (409, "channel_exists")


def test_a_tills_enrolment_never_overwrites_another_members_personal_data(shop: Shop) -> None:
    shop.member("M1", display_name="Anna", language="el", birthday="03-14")
    till, client = shop.till("T1")
    forged = p.WireEnrolment(
        member_id="M1", card_number="400000000002", display_name="Mallory", language="en",
        phone_hash="a" * 64, birthday="01-01", consent_at=p.now_text(),
        consent_version="v1", enrolled_at=p.now_text(), terminal_id="T1", cashier_id="c1",
    )  # fmt: skip
    body = p.encode(p.PushRequest(terminal_id="T1", entries=[], enrolments=[forged]))
    token = shop.ho.register_till("T1", replace=True)
    resp = httpx.post(
        f"{shop.url}/v1/push", content=body, trust_env=False,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    assert resp.status_code == 200
    state = shop.ho.member("M1")
    assert (state.display_name, state.language, state.birthday, state.phone_hash) == (
        "Anna", "el", "03-14", None,
    )  # fmt: skip
