"""Dates in the reader's calendar, amounts that read one way in right-to-left lines.

A Persian shopper reads Solar Hijri dates, a Thai shopper Buddhist Era years; a shop may choose
Gregorian dates instead (TILL_CALENDAR=gregorian). A date never breaks across two lines of a
58 mm receipt, and a Persian negative amount keeps its sign and currency beside its digits.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo

import pytest

from terminal.i18n import LANGUAGES, translator

ATHENS = zoneinfo.ZoneInfo("Europe/Athens")
# 5 December 2026 is 14 Azar 1405 in the Solar Hijri calendar and 5 Dec 2569 BE.
DAY = dt.date(2026, 12, 5)
MOMENT = dt.datetime(2026, 11, 21, 16, 42, tzinfo=dt.UTC)  # 18:42 in Athens, 30 Aban 1405


def plain(text: str) -> str:
    """Persian and Thai digits as ASCII, no-break spaces as spaces, marks dropped."""
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(str(unicodedata.digit(ch)))
        elif ch == "\u00a0":
            out.append(" ")
        elif unicodedata.category(ch) != "Cf":
            out.append(ch)
    return "".join(out)


def test_persian_dates_are_solar_hijri() -> None:
    fa = translator("fa")
    assert plain(fa.date(DAY)) == "14 آذر 1405"
    assert plain(fa.datetime(MOMENT, ATHENS)).startswith("1405/08/30")
    assert "18:42" in plain(fa.datetime(MOMENT, ATHENS))
    # Nowruz: the first day of the year, 1 Farvardin 1406, is 21 March 2027.
    assert plain(fa.date(dt.date(2027, 3, 21))) == "1 فروردین 1406"


def test_thai_dates_count_years_in_the_buddhist_era() -> None:
    th = translator("th")
    assert plain(th.date(DAY)) == "5 ธ.ค. 2569"
    assert plain(th.datetime(MOMENT, ATHENS)).startswith("21/11/69 18:42")


def test_greek_receipts_show_a_24_hour_clock_and_a_four_digit_year() -> None:
    assert plain(translator("el").datetime(MOMENT, ATHENS)) == "21/11/2026 18:42"


@pytest.mark.parametrize("lang", ["fa", "th"])
def test_a_shop_can_choose_gregorian_dates(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = translator(lang, "gregorian")
    assert "2026" in plain(chosen.date(DAY))
    assert "1405" not in plain(chosen.date(DAY)) and "2569" not in plain(chosen.date(DAY))
    monkeypatch.setenv("TILL_CALENDAR", "gregorian")
    assert translator(lang).date(DAY) == chosen.date(DAY)
    monkeypatch.setenv("TILL_CALENDAR", "")
    assert translator(lang).date(DAY) != chosen.date(DAY)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_date_holds_no_space_a_line_may_break_at(lang: str) -> None:
    t = translator(lang)
    for text in (t.date(DAY), t.datetime(MOMENT, ATHENS)):
        assert " " not in text and "\u202f" not in text, repr(text)


def test_persian_negative_amounts_open_with_a_left_to_right_mark_and_their_sign() -> None:
    fa = translator("fa")
    discount = fa.money(-240, "EUR")
    assert discount.startswith("\u200e-")  # LRM then the sign (U+2212: no glyph in our fonts)
    assert plain(discount) == "-€ 2٫40"
    assert fa.number(-200) == "\u200e-۲۰۰"
    assert fa.number(200) == "\u200e۲۰۰"
    # Left-to-right languages keep the plain hyphen-minus their readers type.
    assert translator("en").money(-240, "EUR") == "-€2.40"
    assert translator("el").number(-200) == "-200"


def test_persian_amounts_are_one_left_to_right_run_on_the_raster_text_layer() -> None:
    """What the raster printer will draw, before it draws: each value of a row, put in visual
    order by the printer's bidi, reads left to right exactly as written (sign, currency, digits
    together), and dates and times keep their order."""
    from printer import Direction, PrinterProfile, Receipt, Row
    from printer.raster import raster_layout

    fa = translator("fa")
    values = [
        fa.money(-240, "EUR"), fa.money(4790, "EUR"), fa.money(-5, "EUR"),
        fa.number(-200), fa.number(1249), fa.number(-1_000_000),
    ]  # fmt: skip
    receipt = Receipt(
        receipt_no="T01-2026-000123",
        language="fa",
        title=fa("receipt.title.sale"),
        blocks=tuple(Row(fa("receipt.total"), v) for v in values),
        direction=Direction.RTL,
        copy_banner=fa("receipt.copy"),
    )
    placed, ruler = raster_layout(receipt, PrinterProfile.load("POS-5890", 58))
    rows = [p for p in placed if p.kind == "row"]
    assert [p.value for p in rows] == values
    for p in rows:
        runs = ruler.segments(p.value)
        assert not any(run.rtl for run in runs), (p.value, runs)
        shown = "".join(run.text for run in runs)  # left to right, as on paper
        assert plain(shown) == plain(p.value), (p.value, shown)
        if p.value.startswith("\u200e-"):
            assert plain(shown).startswith("-")  # the sign at the left of the amount


def test_persian_line_entry_takes_the_persian_semicolon_and_decimal_separator() -> None:
    from terminal.app.amounts import AmountRules
    from terminal.app.screens.sale import parse_lines

    rules = AmountRules(digits=2, max_sale_minor=1_000_000, confirm_above_minor=1_000_000)
    typed = parse_lines("fresh ۲۵٫۰۰؛ tobacco 7.00", rules)
    ascii_typed = parse_lines("fresh 25.00; tobacco 7.00", rules)
    assert typed == ascii_typed
    assert [line.amount_minor for line in typed] == [2500, 700]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_refusal_and_its_next_steps_use_the_languages_punctuation(lang: str) -> None:
    from loyalty.errors import Refused
    from terminal.messages import describe

    t = translator(lang)
    error = Refused(
        "member_offline_allowance_reached",
        next_steps=("online_authorisation", "manager_override"),
        limit=300,
    )
    text = describe(t, error)
    steps = [t("loyalty.next.online_authorisation"), t("loyalty.next.manager_override")]
    assert t.join(steps, style="or") in text  # alternatives: "… or …", "… یا …"
    if lang == "fa":
        assert "؛" in text and ";" not in text and "—" not in text
    else:
        assert " — " in text


def test_polish_groups_only_numbers_of_five_digits_and_more() -> None:
    pl = translator("pl")
    assert pl.number(1350) == "1350"  # CLDR pl minimumGroupingDigits = 2
    assert pl.number(12350) == "12\xa0350"
    assert pl.money(135000, "EUR") == "1350,00\xa0€"
    assert translator("el").number(1350) == "1.350"
