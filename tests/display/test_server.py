"""The display's server on a real socket: the page and its own assets, the current view to
every browser that connects or reconnects, live changes, the blank after a sale."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from display.hub import Hub
from display.server import DisplayServer, DisplayUnavailable
from display.view import Figure, MemberCard, SaleEnd, ShopperView

IDLE = ShopperView("idle", "en", "ltr", "Olive & Oak Rewards", "Scan your code here")


def member(name: str, points: str) -> ShopperView:
    card = MemberCard(name, f"Hello, {name}", "Olive", figures=(Figure("Points", points),))
    return ShopperView("member", "en", "ltr", "Olive & Oak Rewards", member=card)


@pytest.fixture
def served() -> Iterator[tuple[Hub, DisplayServer]]:
    hub = Hub(IDLE)
    server = DisplayServer(hub)
    server.start()
    yield hub, server
    server.stop()


def views(response: httpx.Response) -> Iterator[dict[str, object]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


def test_the_page_and_its_assets_come_from_the_till(served: tuple[Hub, DisplayServer]) -> None:
    _hub, server = served
    with httpx.Client(base_url=server.url, trust_env=False, timeout=5) as http:
        page = http.get("/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for src in ("/static/display.js", "/static/display.css"):
            assert src in page.text
            assert http.get(src).status_code == 200
        assert "//" not in page.text.replace("http://", "").split("<head>")[1].split("</head>")[0]


def test_a_browser_gets_the_current_view_at_once_then_each_change(
    served: tuple[Hub, DisplayServer],
) -> None:
    hub, server = served
    hub.publish(member("Eleni", "1,200"))
    with httpx.stream("GET", server.url + "events", trust_env=False, timeout=5) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = views(response)
        assert next(seen)["member"]["first_name"] == "Eleni"  # type: ignore[index]
        hub.publish(member("Piotr", "5,000"))
        assert next(seen)["member"]["first_name"] == "Piotr"  # type: ignore[index]
    # Reconnecting: the current view at once, nothing of the shopper before.
    with httpx.stream("GET", server.url + "events", trust_env=False, timeout=5) as response:
        first = next(views(response))
        assert first["member"]["first_name"] == "Piotr"  # type: ignore[index]
        assert "Eleni" not in json.dumps(first)


def test_a_hostile_name_reaches_the_page_as_a_json_string(
    served: tuple[Hub, DisplayServer],
) -> None:
    hub, server = served
    hub.publish(member("<script>alert(1)</script>\u202eevil", "1"))
    body = httpx.get(server.url + "state", trust_env=False).json()
    assert body["member"]["first_name"] == "<script>alert(1)</script>"
    assert "\u202e" not in json.dumps(body, ensure_ascii=False)


def test_the_end_of_sale_blanks_to_idle(served: tuple[Hub, DisplayServer]) -> None:
    hub, server = served
    done = ShopperView(
        "done", "en", "ltr", "Olive & Oak Rewards",
        end=SaleEnd("Thank you", (Figure("New balance", "1,250"),), "https://app.example/me"),
        blank_after_s=0.2,
    )  # fmt: skip
    with httpx.stream("GET", server.url + "events", trust_env=False, timeout=5) as response:
        seen = views(response)
        assert next(seen)["screen"] == "idle"
        hub.publish(done, then=IDLE)
        assert next(seen)["screen"] == "done"
        qr = httpx.get(server.url + "qr.svg", trust_env=False)
        assert qr.status_code == 200 and qr.text.startswith("<svg")
        after = next(seen)
        assert after["screen"] == "idle" and after["end"] is None


def test_a_new_view_before_the_blank_is_kept() -> None:
    hub = Hub(IDLE)
    shown: list[str] = []
    hub.listen(lambda view: shown.append(view.screen))
    done = ShopperView("done", "en", "ltr", "P", end=SaleEnd("Thanks", ()), blank_after_s=0.05)
    hub.publish(done, then=IDLE)
    hub.publish(member("Ioana", "300"))
    time.sleep(0.3)  # well past the blank the done view asked for
    assert shown == ["done", "member"]
    assert hub.view.screen == "member"


def test_a_taken_port_is_a_clear_failure(served: tuple[Hub, DisplayServer]) -> None:
    _hub, server = served
    with pytest.raises(DisplayUnavailable):
        DisplayServer(Hub(), port=server.port).start()
