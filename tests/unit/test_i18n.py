"""Every user-visible text exists in all six languages with the same placeholders."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from terminal.i18n import LANGUAGES, MissingTranslation, catalogue_keys, placeholders, translator

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = catalogue_keys("en")


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_language_has_every_key_with_the_same_placeholders(lang: str) -> None:
    theirs = catalogue_keys(lang)
    missing = sorted(set(ENGLISH) - set(theirs))
    assert not missing, f"{lang} lacks {missing}"
    extra = sorted(set(theirs) - set(ENGLISH))
    assert not extra, f"{lang} has keys English lacks: {extra}"
    for key, text in theirs.items():
        assert text.strip(), f"{lang}: {key} is empty"
        assert placeholders(text) == placeholders(ENGLISH[key]), f"{lang}: {key} placeholders"


# Literal keys handed to the translator or to CommandError anywhere in our code.
_KEY_USE = re.compile(
    r"""(?:\bt|\bplural|CommandError|_T)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']"""
)


def test_every_key_the_code_uses_exists_in_english() -> None:
    used: set[str] = set()
    for package in ("loyalty", "scanner", "printer", "sync", "terminal"):
        for path in (ROOT / package).rglob("*.py"):
            used.update(_KEY_USE.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan for keys found nothing: the pattern is broken"
    missing = sorted(k for k in used if k not in ENGLISH)
    assert not missing, f"keys used in code but not in the English catalogue: {missing}"


def test_unknown_key_is_an_error_not_a_silent_key_on_screen() -> None:
    with pytest.raises(MissingTranslation):
        translator("el")("no.such.key")


def test_language_codes_are_normalised_and_unknown_ones_fall_back_to_english() -> None:
    assert translator("el_GR.UTF-8").lang == "el"
    assert translator("PL").lang == "pl"
    assert translator("xx").lang == "en"
    assert translator(None).lang == "en"


def test_money_is_exact_and_local() -> None:
    assert translator("el").money(123450, "EUR") == "1.234,50\xa0€"
    assert translator("pl").money(-5, "PLN") == "-0,05\xa0zł"
    # Persian: the language's own digits and separators.
    assert "۱٬۲۳۴٫۵۰" in translator("fa").money(123450, "EUR")
    # No float on the way: a huge amount keeps every digit.
    assert translator("en").money(123456789012345678, "EUR").endswith("1,234,567,890,123,456.78")


def test_dates_follow_the_language() -> None:
    day = dt.date(2026, 12, 31)
    assert translator("en").date(day) == "Dec\xa031,\xa02026"
    assert translator("fa").date(day).startswith("۱۰")  # 10 Dey 1405, Solar Hijri
