"""The translation layer: every text a cashier or a shopper reads goes through here.

Catalogues are gettext .po files under ``terminal/locale/<lang>/<domain>.po`` whose msgids
are stable keys (``sale.refused.insufficient_points``); English is a catalogue like the others.
Babel reads them and compiles them in memory (no generated .mo files in the repo), and
formats numbers, money and dates with CLDR data for the language (Persian digits, Polish
grouping). Dates are in the language's calendar: Solar Hijri for Persian (jdatetime converts;
Babel has no Persian calendar) and the Buddhist Era for Thai (CLDR's "buddhist" calendar: the
Gregorian months and days, years counted from 543 BC); ``TILL_CALENDAR=gregorian`` chooses
the Gregorian calendar for every language. Formatted dates hold no breakable space, so a
narrow receipt never splits one across two lines.

Other packages never translate: they return a code and parameters (``Refusal.code``,
``ScanRefused.reason``) and the terminal looks the code up here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    get_date_format,
    get_datetime_format,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.support import Translations

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES: tuple[str, ...] = ("en", "el", "pl", "ro", "th", "fa")
FALLBACK = "en"
RIGHT_TO_LEFT = frozenset({"fa"})
_PLACEHOLDER = re.compile(r"{(\w+)")
# Babel picks the locale's separators for its default numbering system but always writes
# Latin digits; these are the CLDR digits of the systems our languages default to.
_DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩", "thai": "๐๑๒๓๔๕๖๗๘๙"}
# The calendar each language's readers expect on a receipt (CLDR calendar names); the others
# use the Gregorian calendar.
CALENDARS = {"fa": "persian", "th": "buddhist"}
GREGORIAN = "gregorian"
# CLDR's Buddhist calendar: Gregorian months and days, era year = Gregorian year + 543.
_BUDDHIST_ERA_OFFSET = 543
# Patterns where the CLDR default is not what the country prints: Greek receipts show a
# 24-hour clock and a four-digit year.
_DATETIME_PATTERNS = {"el": "dd/MM/y HH:mm"}
_PERSIAN_SHORT_DATE = "y/MM/dd"
# CLDR's minimumGroupingDigits where it is not 1 (Babel does not read it): Polish writes 1350
# but 12 350.
_MIN_GROUPING_DIGITS = {"pl": 2}
# Between two clauses of one message (describe(): the refusal, then what to do next).
_CLAUSE_JOIN = {"fa": "؛ "}
# A date is one unit on paper: no space in it may break a line.
_BREAKABLE = str.maketrans({" ": "\u00a0", "\u202f": "\u00a0", "\u2009": "\u00a0"})
_YEAR_FIELD = re.compile(r"'[^']*'|y+")
_PATTERN_FIELD = re.compile(r"'[^']*'|d+|M+|y+")
# CLDR's Persian minus is a left-to-right mark and a sign: the amount stays one left-to-right
# run with its sign and currency ("‎-€ ۲٫۴۰", never "€ ۲٫۴۰-"). The sign is U+002D, not
# CLDR's U+2212: the receipt fonts we ship (Noto subsets) have no glyph for U+2212.
LRM = "\u200e"
MINUS = "-"


class _Lenient(dict[str, Any]):
    """A placeholder the caller did not fill stays visible as {name} instead of crashing the
    till in front of a shopper (tests check every catalogue has the same placeholders)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class MissingTranslation(KeyError):
    """A key that no catalogue, not even English, holds: a bug, never shown to a user."""


def _compile(po_path: Path, lang: str) -> Translations:
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=po_path.stem)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain=po_path.stem)


@cache
def _catalogues(lang: str) -> tuple[Translations, ...]:
    folder = LOCALE_DIR / lang
    return tuple(_compile(p, lang) for p in sorted(folder.glob("*.po")))


def normalise_language(lang: str | None) -> str:
    """``el_GR``, ``EL``, ``el-GR`` -> ``el``; unknown or empty -> English."""
    if not lang:
        return FALLBACK
    code = lang.replace("-", "_").split("_", 1)[0].lower()
    return code if code in LANGUAGES else FALLBACK


@dataclass(frozen=True)
class Translator:
    """Texts, numbers, money and dates in one language."""

    lang: str
    _catalogues: tuple[Translations, ...] = field(repr=False, compare=False)
    _fallback: tuple[Translations, ...] = field(repr=False, compare=False)
    calendar: str = GREGORIAN

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.lang)

    @property
    def right_to_left(self) -> bool:
        return self.lang in RIGHT_TO_LEFT

    def _lookup(self, key: str, n: int | None) -> str:
        for group in (self._catalogues, self._fallback):
            for cat in group:
                text = cat.ugettext(key) if n is None else cat.ungettext(key, key, n)
                if text != key:
                    return text
        raise MissingTranslation(key)

    def __call__(self, key: str, /, **params: Any) -> str:
        """The text for ``key`` with ``{name}`` placeholders filled in."""
        return self._lookup(key, None).format_map(_Lenient(params))

    def plural(self, key: str, n: int, /, **params: Any) -> str:
        """The text for ``key`` in the plural form that ``n`` takes in this language."""
        return self._lookup(key, n).format_map(_Lenient(params, n=self.number(n)))

    def template(self, key: str) -> str:
        """The text for ``key`` with its ``{name}`` placeholders still in it."""
        return self._lookup(key, None)

    def has(self, key: str) -> bool:
        try:
            self._lookup(key, None)
        except MissingTranslation:
            return False
        return True

    def _digits(self, text: str) -> str:
        digits = _DIGITS.get(self.locale.default_numbering_system)
        return text.translate(str.maketrans("0123456789", digits)) if digits else text

    def join(self, items: list[str], style: str = "standard") -> str:
        """A list in the language's own way: "a, b and c", "a، b و c" (CLDR list patterns;
        ``style="or"`` for alternatives: "a or b", "a یا b")."""
        from babel.lists import format_list

        try:
            return format_list(items, style=style, locale=self.locale)  # type: ignore[arg-type]
        except (KeyError, ValueError):  # a locale whose CLDR list data is incomplete
            return ", ".join(items)

    def clauses(self, first: str, second: str) -> str:
        """Two clauses of one sentence: "refused — next: …"; Persian joins them with "؛"."""
        return f"{first}{_CLAUSE_JOIN.get(self.lang, ' — ')}{second}"

    def number(self, value: int) -> str:
        """An integer (points, counts) with the language's separators and digits.

        Babel's decimal context gives up past ~25 digits; such a number only comes from bad
        input (a program's field, an argument), and the message about it must still show."""
        try:
            text = format_decimal(
                abs(value),
                locale=self.locale,
                numbering_system="default",
                group_separator=self._grouped(abs(value)),
            )
        except decimal.InvalidOperation:
            text = str(abs(value))
        return self._signed(self._digits(text), value < 0)

    def _grouped(self, whole: int) -> bool:
        """Whether a number of this size is written with group separators in this language."""
        return bool(whole >= 10 ** (2 + _MIN_GROUPING_DIGITS.get(self.lang, 1)))

    def _signed(self, text: str, negative: bool) -> str:
        """A number or amount with its sign; in a right-to-left language one left-to-right run
        that starts with a left-to-right mark and CLDR's minus sign."""
        if self.right_to_left:
            return LRM + (MINUS if negative else "") + text
        return ("-" if negative else "") + text

    def money(self, amount_minor: int, currency: str) -> str:
        """Integer minor units to text, e.g. 1250 EUR -> '12,50 €' in Greek."""
        digits = get_currency_precision(currency)
        # Exact: build the decimal string from integers, never through float.
        whole, frac = divmod(abs(amount_minor), 10**digits)
        text = f"{whole}.{frac:0{digits}d}" if digits else f"{whole}"
        formatted = self._digits(
            format_currency(
                Decimal(text),
                currency,
                locale=self.locale,
                numbering_system="default",
                group_separator=self._grouped(whole),
            )
        )
        if self.right_to_left:  # CLDR's fa pattern opens with its own LRM: one is enough
            formatted = formatted.lstrip(LRM)
        return self._signed(formatted, amount_minor < 0)

    @property
    def calendar_name(self) -> str:
        """The calendar dates are shown in: the language's own unless Gregorian was chosen."""
        return GREGORIAN if self.calendar == GREGORIAN else CALENDARS.get(self.lang, GREGORIAN)

    def _day(self, day: dt.date, width: Literal["medium", "short"]) -> str:
        pattern = str(get_date_format(width, locale=self.locale).pattern)
        calendar = self.calendar_name
        if calendar == "persian":
            import jdatetime

            j = jdatetime.date.fromgregorian(date=day)
            pattern = _PERSIAN_SHORT_DATE if width == "short" else pattern
            months = jdatetime.date.j_months_fa
            return _fill(pattern, j.year, j.month, j.day, months[j.month - 1])
        if calendar == "buddhist":
            year = day.year + _BUDDHIST_ERA_OFFSET
            era = {"yy": f"{year % 100:02d}"}
            pattern = _YEAR_FIELD.sub(
                lambda m: m[0] if m[0].startswith("'") else f"'{era.get(m[0], year)}'", pattern
            )
        return format_date(day, format=pattern, locale=self.locale)

    def date(self, when: dt.date | dt.datetime, tz: dt.tzinfo | None = None) -> str:
        """A day in the language's calendar ("5 ธ.ค. 2569", "۱۴ آذر ۱۴۰۵", "Dec 5, 2026")."""
        if isinstance(when, dt.datetime):
            when = when.astimezone(tz).date() if tz else when.date()
        return self._digits(self._day(when, "medium")).translate(_BREAKABLE)

    def datetime(self, when: dt.datetime, tz: dt.tzinfo) -> str:
        """A moment in the shop's time zone, short, in the language's calendar."""
        local = when.astimezone(tz)
        if self.lang in _DATETIME_PATTERNS:
            pattern = _DATETIME_PATTERNS[self.lang]
            text = format_datetime(local, pattern, tzinfo=tz, locale=self.locale)
        elif self.calendar_name == GREGORIAN:
            text = format_datetime(local, format="short", tzinfo=tz, locale=self.locale)
        else:
            glue = str(get_datetime_format("short", locale=self.locale))
            clock = format_time(local, format="short", tzinfo=tz, locale=self.locale)
            text = glue.replace("{1}", self._day(local.date(), "short")).replace("{0}", clock)
        return self._digits(text).translate(_BREAKABLE)


def _fill(pattern: str, year: int, month: int, day: int, month_name: str) -> str:
    """A CLDR date pattern filled with the fields of a date of another calendar."""

    def field_text(m: re.Match[str]) -> str:
        f = m[0]
        if f.startswith("'"):
            return f[1:-1] or "'"
        if f[0] == "y":
            return f"{year % 100:02d}" if len(f) == 2 else str(year)
        if f[0] == "M":
            return month_name if len(f) >= 3 else f"{month:0{len(f)}d}"
        return f"{day:0{len(f)}d}"

    return _PATTERN_FIELD.sub(field_text, pattern)


def chosen_calendar() -> str:
    """``TILL_CALENDAR=gregorian`` for a shop that wants Gregorian dates in every language."""
    choice = os.environ.get("TILL_CALENDAR", "").strip().lower()
    return GREGORIAN if choice == GREGORIAN else "native"


def translator(lang: str | None = None, calendar: str | None = None) -> Translator:
    """The translator of a language, with dates in its calendar (or ``calendar``)."""
    return _translator(normalise_language(lang), calendar or chosen_calendar())


@cache
def _translator(code: str, calendar: str) -> Translator:
    return Translator(code, _catalogues(code), _catalogues(FALLBACK), calendar)


def catalogue_keys(lang: str) -> Mapping[str, str]:
    """Every key of a language and its text (tests use it to check completeness)."""
    out: dict[str, str] = {}
    for po_path in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        for message in catalog:
            if message.id:
                key = message.id if isinstance(message.id, str) else message.id[0]
                string = message.string
                text = string if isinstance(string, str) else (string[0] if string else "")
                out[key] = text
    return out


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))
