"""Who may call what at head office: every route names the roles it serves.

- ``admin``: head office's own staff and tools (one token, given at start).
- ``till``: a till, by its own token (``<terminal_id>.<secret>``); it acts only as itself.
- ``channel``: another sales channel (web shop, app), by its own token
  (``channel:<channel_id>.<secret>``, issued by an admin). A channel reads a member's state
  and posts its purchases, refunds, redemptions and engagement events (channels.py).

app.py enforces this table before any handler runs, and the OpenAPI document states each
operation's roles (``x-roles``) from the same table, so the two cannot disagree."""

from __future__ import annotations

ADMIN, TILL, CHANNEL = "admin", "till", "channel"
ROLES = (ADMIN, TILL, CHANNEL)
PUBLIC: frozenset[str] = frozenset()  # no token needed
CHANNEL_PREFIX = "channel:"

ADMIN_ONLY = frozenset({ADMIN})
_A, _T, _C = ADMIN_ONLY, frozenset({TILL}), frozenset({CHANNEL})
ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/v1/health"): PUBLIC,
    ("POST", "/v1/push"): _T,
    ("POST", "/v1/epochs"): _T,
    ("GET", "/v1/changes"): _T,
    ("POST", "/v1/holds"): _T,
    ("POST", "/v1/holds/{hold_id}/capture"): _T,
    ("POST", "/v1/holds/{hold_id}/release"): _T,
    ("GET", "/v1/members/{member_id}"): frozenset({ADMIN, TILL, CHANNEL}),
    ("PUT", "/v1/members/{member_id}"): _A,
    ("DELETE", "/v1/members/{member_id}"): _A,
    ("POST", "/v1/members/{member_id}/app-code"): _A,
    ("POST", "/v1/tills"): _A,
    ("DELETE", "/v1/tills/{terminal_id}"): _A,
    ("POST", "/v1/tills/{terminal_id}/suspension"): _A,
    ("DELETE", "/v1/tills/{terminal_id}/suspension"): _A,
    ("POST", "/v1/channels"): _A,
    ("DELETE", "/v1/channels/{channel_id}"): _A,
    ("POST", "/v1/channel/purchases"): _C,
    ("POST", "/v1/channel/refunds"): _C,
    ("POST", "/v1/channel/redemptions"): _C,
    ("POST", "/v1/channel/events"): _C,
    ("GET", "/v1/events"): _A,
    ("POST", "/v1/programs"): _A,
    ("POST", "/v1/keys"): _A,
    ("DELETE", "/v1/keys/{key_id}"): _A,
    ("POST", "/v1/deny-list"): _A,
    ("DELETE", "/v1/deny-list/{code}"): _A,
    ("GET", "/v1/alerts"): _A,
    ("GET", "/v1/referrals"): _A,
    ("POST", "/v1/alerts/{alert_id}/ack"): _A,
    ("GET", "/v1/held"): _A,
    ("POST", "/v1/held/{entry_id}/decision"): _A,
    ("GET", "/v1/reports/kpis"): _A,
    ("GET", "/v1/offers"): _A,
    ("POST", "/v1/offers"): _A,
    # The dashboard's HTML pages sign admins in themselves (the admin token in a form, then a
    # session cookie: dashboard/routes.py); they are not part of the API's document.
    ("GET", "/dashboard"): PUBLIC,
    ("POST", "/dashboard/sign-in"): PUBLIC,
    ("POST", "/dashboard/sign-out"): PUBLIC,
    ("GET", "/dashboard/kpis.csv"): PUBLIC,
    ("GET", "/dashboard/fonts/{name}"): PUBLIC,
}


def refusal(role: str, allowed: frozenset[str]) -> tuple[int, str]:
    """The status and code for ``role`` calling a route that serves ``allowed``."""
    if allowed == _A:
        return 403, "admin_only"
    return 403, "role_not_allowed"
