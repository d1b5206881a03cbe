"""The translation layer: every text a cashier or a shopper reads goes through here.

Catalogues are gettext .po files under ``terminal/locale/<lang>/<domain>.po`` whose msgids
are stable keys (``sale.refused.insufficient_points``); English is a catalogue like the others.
Babel reads them and compiles them in memory (no generated .mo files in the repo), and
formats numbers, money and dates with CLDR data for the language (Persian digits, Thai
calendar-free Gregorian dates, Polish grouping).

Other packages never translate: they return a code and parameters (``Refusal.code``,
``ScanRefused.reason``) and the terminal looks the code up here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
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

    def has(self, key: str) -> bool:
        try:
            self._lookup(key, None)
        except MissingTranslation:
            return False
        return True

    def _digits(self, text: str) -> str:
        digits = _DIGITS.get(self.locale.default_numbering_system)
        return text.translate(str.maketrans("0123456789", digits)) if digits else text

    def join(self, items: list[str]) -> str:
        """A list in the language's own way: "a, b and c", "a، b و c" (CLDR list patterns)."""
        from babel.lists import format_list

        try:
            return format_list(items, style="standard", locale=self.locale)
        except (KeyError, ValueError):  # a locale whose CLDR list data is incomplete
            return ", ".join(items)

    def number(self, value: int) -> str:
        """An integer (points, counts) with the language's separators and digits.

        Babel's decimal context gives up past ~25 digits; such a number only comes from bad
        input (a program's field, an argument), and the message about it must still show."""
        try:
            text = format_decimal(value, locale=self.locale, numbering_system="default")
        except decimal.InvalidOperation:
            text = str(value)
        return self._digits(text)

    def money(self, amount_minor: int, currency: str) -> str:
        """Integer minor units to text, e.g. 1250 EUR -> '12,50 €' in Greek."""
        digits = get_currency_precision(currency)
        # Exact: build the decimal string from integers, never through float.
        sign = "-" if amount_minor < 0 else ""
        whole, frac = divmod(abs(amount_minor), 10**digits)
        text = f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
        return self._digits(
            format_currency(Decimal(text), currency, locale=self.locale, numbering_system="default")
        )

    def date(self, when: dt.date | dt.datetime, tz: dt.tzinfo | None = None) -> str:
        if isinstance(when, dt.datetime):
            when = when.astimezone(tz).date() if tz else when.date()
        return self._digits(format_date(when, format="medium", locale=self.locale))

    def datetime(self, when: dt.datetime, tz: dt.tzinfo) -> str:
        text = format_datetime(when.astimezone(tz), format="short", tzinfo=tz, locale=self.locale)
        return self._digits(text)


@cache
def translator(lang: str | None = None) -> Translator:
    code = normalise_language(lang)
    return Translator(code, _catalogues(code), _catalogues(FALLBACK))


def catalogue_keys(lang: str) -> Mapping[str, str]:
    """Every key of a language and its text (tests use it to check completeness)."""
    out: dict[str, str] = {}
    for po_path in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        for message in catalog:
            if message.id:
                key = message.id if isinstance(message.id, str) else message.id[0]
                text = message.string if isinstance(message.string, str) else message.string[0]
                out[key] = text
    return out


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))
