"""Persian on screen shaped and in visual order (issue 14, item 7): most terminals draw cells
left to right as sent, one glyph per character, so the app shapes each rendered line's letters
(arabic-reshaper) and reorders it with python-bidi (``[display] bidi = "app"``, the default); a
terminal that reorders and shapes itself gets the text as written (``bidi = "terminal"``), so
neither is done twice. The Persian snapshots at 80x24 and 120x40
(test_snapshots.py) show whole screens."""

from __future__ import annotations

import html
import re
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.color import Color

from terminal.app.bidi import VisualOrder, shape, visual
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
    assert text(out) == "(ﺩﺭﻮﻣ ۱۲) ﺎﻫ\u200cﺵﻭﺮﻓ"  # shaped: the letters joined
    mixed = visual((("  ", None), ("صندوق‌دار ", None), ("Anna", BOLD), (" (12)", None)), True)
    assert text(mixed) == "  Anna (12) ﺭﺍﺩ\u200cﻕﻭﺪﻨﺻ"  # a Latin name and number stay readable
    assert [s.text for s in mixed if s.style == BOLD] == ["Anna"]  # bold stays on the name
    assert text(mixed).startswith("  ")  # leading blanks stay: aligned text stays aligned


def test_an_english_till_shows_a_persian_name_in_order_and_leaves_latin_lines_alone() -> None:
    out = visual((("Member: ", None), ("سارا رضایی", BOLD), (" · points 120", None)), False)
    assert text(out) == "Member: ﯽﯾﺎﺿﺭ ﺍﺭﺎﺳ · points 120"  # only the name's run is reversed
    latin = [Segment("Sale 12.50 (EUR)", None)]
    assert VisualOrder(lambda: True).apply(latin, Color(0, 0, 0)) is latin


def test_persian_letters_take_their_joined_forms_and_the_non_joiner_breaks_the_join() -> None:
    # پ چ ژ گ ی ک: initial pe, medial che, final zhe (which joins no letter after it), then
    # initial gaf, medial Farsi yeh, final keheh: Persian letters, not their Arabic cousins.
    assert shape("پچژگیک") == "\ufb58\ufb7d\ufb8b\ufb94\ufbff\ufb8f"
    # "می‌خواهم": the ZWNJ ends the first word's join (final yeh), the next starts afresh.
    assert shape("می\u200cخواهم") == "\ufee3\ufbfd\u200c\ufea7\ufeee\ufe8d\ufeeb\ufee2"
    assert shape("لا") == "\ufedf\ufe8e"  # lam-alef as two cells: no ligature to mislay
    assert shape("Sale 12.50") == "Sale 12.50"
    # Joined across style runs (a bold name inside a word's line), one cell per letter.
    out = visual((("کا", BOLD), ("رت", None)), True)
    assert text(out) == "\ufe95\ufead\ufe8e\ufb90"
    assert [s.text for s in out if s.style == BOLD] == ["\ufe8e\ufb90"]


def screen_text(app: object) -> str:
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    return html.unescape(" ".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


async def test_a_persian_till_reorders_unless_the_terminal_does(
    tmp_path: Path, printer_server: FakeNetworkPrinter
) -> None:
    title = "کارت یا کد اپلیکیشن عضو را اسکن کنید"  # the idle screen's prompt, as written
    for setting, shown in (
        ({}, shape(title)[::-1]),
        ({"display": {"bidi": "app"}}, shape(title)[::-1]),
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
            other = title if shown != title else shape(title)[::-1]
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
        assert shape("ورود")[::-1] in screen_text(app)  # the sign-in screen's title, reordered
        assert app.get_line_filters()[-1].enabled
