"""Persian on screen in visual order (issue 14, item 7): most terminals draw cells left to
right as sent, so the app reorders each rendered line with python-bidi (``[display] bidi =
"app"``, the default); a terminal that reorders itself gets the text as written (``bidi =
"terminal"``), so it is not reversed twice. The Persian snapshots at 80x24 and 120x40
(test_snapshots.py) show whole screens."""

from __future__ import annotations

import html
import re
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.color import Color

from terminal.app.bidi import VisualOrder, visual
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import make_app, make_services
from tests.ui.test_flows import settle, sign_in

BOLD = Style(bold=True)
SOLD = "فروش‌ها (۱۲ مورد)"  # "sales (12 items)": a bracket pair, Persian digits, a ZWNJ


def text(segments: tuple[Segment, ...] | list[Segment]) -> str:
    return "".join(s.text for s in segments)


def test_a_persian_line_is_reversed_into_cells_with_mirrored_brackets_and_its_styles() -> None:
    out = visual(((SOLD, None),), True)
    # Read right to left, the cells say the sentence; "(" opens on the right, drawn ")".
    assert text(out) == "(دروم ۱۲) اه\u200cشورف"
    mixed = visual((("  ", None), ("صندوق‌دار ", None), ("Anna", BOLD), (" (12)", None)), True)
    assert text(mixed) == "  Anna (12) راد\u200cقودنص"  # a Latin name and number stay readable
    assert [s.text for s in mixed if s.style == BOLD] == ["Anna"]  # bold stays on the name
    assert text(mixed).startswith("  ")  # leading blanks stay: aligned text stays aligned


def test_an_english_till_shows_a_persian_name_in_order_and_leaves_latin_lines_alone() -> None:
    out = visual((("Member: ", None), ("سارا رضایی", BOLD), (" · points 120", None)), False)
    assert text(out) == "Member: ییاضر اراس · points 120"  # only the name's run is reversed
    latin = [Segment("Sale 12.50 (EUR)", None)]
    assert VisualOrder(lambda: True).apply(latin, Color(0, 0, 0)) is latin


def screen_text(app: object) -> str:
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    return html.unescape(" ".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


async def test_a_persian_till_reorders_unless_the_terminal_does(
    tmp_path: Path, printer_server: FakeNetworkPrinter
) -> None:
    title = "کارت یا کد اپلیکیشن عضو را اسکن کنید"  # the idle screen's prompt, as written
    for setting, shown in (
        ({}, title[::-1]),
        ({"display": {"bidi": "app"}}, title[::-1]),
        ({"display": {"bidi": "terminal"}}, title),
    ):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        services = make_services(folder, printer_server.url, **setting)
        app = make_app(services, "fa")
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot)
            await settle(pilot)
            assert shown in screen_text(app), setting
            other = title if shown != title else title[::-1]
            assert other not in screen_text(app)


async def test_an_unknown_bidi_setting_is_said_and_the_app_reorders(
    tmp_path: Path, printer_server: FakeNetworkPrinter
) -> None:
    services = make_services(tmp_path, printer_server.url, display={"bidi": "sideways"})
    app = make_app(services, "fa")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any('bidi = "sideways"' in str(x) for x in said), said
        assert "ورود"[::-1] in screen_text(app)  # the sign-in screen's title, reordered
        assert app.get_line_filters()[-1].enabled
