"""Head office's desk from the command line, over its admin token: the alerts (list them,
acknowledge one), suspending a till under investigation, and deciding the entries head office
holds (release or reject after review). Failures are ``SyncFailed``."""

from __future__ import annotations

from typing import Any

import httpx

from sync import protocol as p
from sync import protocol_referrals as pr
from sync.client import SyncFailed, Timeouts, _decoder, _problem


def _call(
    base_url: str,
    admin_token: str,
    method: str,
    path: str,
    content: bytes | None = None,
    params: dict[str, Any] | None = None,
) -> bytes:
    headers = {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"}
    with httpx.Client(
        base_url=base_url.rstrip("/"), timeout=Timeouts().httpx(), trust_env=False,
        headers=headers,
    ) as http:  # fmt: skip
        try:
            resp = http.request(method, path, content=content, params=params)
        except httpx.TimeoutException:
            raise SyncFailed("timeout") from None
        except httpx.TransportError:
            raise SyncFailed("unreachable") from None
    if not 200 <= resp.status_code < 300:
        problem = _problem(resp.content)
        extra = dict(problem.params) if problem else {}
        raise SyncFailed(problem.code if problem else f"http_{resp.status_code}", **extra)
    return resp.content


def alerts(base_url: str, admin_token: str, after: int = 0) -> p.AlertsAnswer:
    data = _call(base_url, admin_token, "GET", "/v1/alerts", params={"after": after})
    answer: p.AlertsAnswer = _decoder(p.AlertsAnswer).decode(data)
    return answer


def referrals(base_url: str, admin_token: str, status: str | None = None) -> pr.ReferralsAnswer:
    params = {"status": status} if status else None
    data = _call(base_url, admin_token, "GET", "/v1/referrals", params=params)
    answer: pr.ReferralsAnswer = _decoder(pr.ReferralsAnswer).decode(data)
    return answer


def acknowledge_alert(base_url: str, admin_token: str, alert_id: int) -> None:
    _call(base_url, admin_token, "POST", f"/v1/alerts/{alert_id}/ack")


def suspend_till(
    base_url: str, admin_token: str, terminal_id: str, reason: str = "", suspended: bool = True
) -> None:
    path = f"/v1/tills/{terminal_id}/suspension"
    if suspended:
        _call(base_url, admin_token, "POST", path, p.encode(p.SuspendRequest(reason)))
    else:
        _call(base_url, admin_token, "DELETE", path)


def held(base_url: str, admin_token: str, decided: bool = False) -> p.HeldAnswer:
    data = _call(base_url, admin_token, "GET", "/v1/held", params={"decided": int(decided)})
    answer: p.HeldAnswer = _decoder(p.HeldAnswer).decode(data)
    return answer


def decide_held(
    base_url: str, admin_token: str, entry_id: str, decision: str, reason: str, decided_by: str
) -> p.HeldEntry:
    """Release or reject a held entry (``decision``: ``release`` or ``reject``)."""
    body = p.encode(p.HeldDecisionRequest(decision, reason, decided_by))  # type: ignore[arg-type]
    data = _call(base_url, admin_token, "POST", f"/v1/held/{entry_id}/decision", body)
    answer: p.HeldEntry = _decoder(p.HeldEntry).decode(data)
    return answer
