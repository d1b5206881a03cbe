"""A count never sits beside a fixed noun or verb form, in any language.

"{n} points available" is wrong for 1 in English, for 2-4 in Polish and for 20 and up in
Romanian ("20 de puncte"). Every message that receives a count either is a gettext plural entry
(``Translator.plural``, msgid_plural) or uses label wording, "Points available: {n}", where
the number stands alone after a colon and no word has to agree with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from terminal.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]

# Counts that reach messages through loyalty's error parameters (messages.describe turns every
# int into a number) or through a variable; the code scan below finds the rest.
DECLARED_COUNTS = {
    "available", "limit", "minimum", "maximum", "step", "digits", "lost", "n",
}  # fmt: skip
# `name=t.number(...)` or `name=self.t.number(...)`: a placeholder that receives a count.
_NUMBER_ARG = re.compile(r"\b(\w+)=\s*(?:self\.)?t\.number\(")
# Label wording: the count follows a colon (with an optional sign), e.g. "Points: {points}",
# "punkty: +{points}", "(maximum: {maximum})".
_LABEL = r"[:：]\s?[+\-−]?"
# Thai nouns do not change with a number and Persian takes the singular after every numeral, so
# a unit word may follow the count there; elsewhere only a fixed abbreviation may ("5 s", "5 pkt").
NO_AGREEMENT = {"th", "fa"}
_AFTER_OK = re.compile(r"(?:\s(?:s|pkt|δευτ)\b|[^\w]|$)")


def counts_in_code() -> set[str]:
    found: set[str] = set()
    for package in ("terminal", "loyalty", "sync", "scanner", "printer"):
        for path in (ROOT / package).rglob("*.py"):
            found.update(_NUMBER_ARG.findall(path.read_text(encoding="utf-8")))
    return found


COUNTS = DECLARED_COUNTS | counts_in_code()


def messages(lang: str) -> list[tuple[str, str, bool]]:
    """(key, text, is a plural entry) for every message of a language."""
    out = []
    for po_path in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        for m in catalog:
            if not m.id:
                continue
            key = m.id if isinstance(m.id, str) else m.id[0]
            texts = [m.string] if isinstance(m.string, str) else list(m.string)
            for text in texts:
                out.append((key, text, m.pluralizable))
    return out


def test_the_code_scan_finds_the_counts() -> None:
    # If the pattern broke, every message would pass for want of counts.
    assert {"points", "balance", "unsynced", "members"} <= counts_in_code()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_count_is_a_plural_entry_or_a_label(lang: str) -> None:
    wrong = []
    for key, text, plural in messages(lang):
        if plural:
            continue
        for name in COUNTS:
            for m in re.finditer(r"\{" + name + r"\}", text):
                before, after = text[: m.start()], text[m.end() :]
                if not re.search(_LABEL + r"$", before) or (
                    lang not in NO_AGREEMENT
                    and re.match(r"\s\w", after)
                    and not _AFTER_OK.match(after)
                ):
                    wrong.append(f"{key}: {text}")
    assert not wrong, f"{lang}: counts beside words that must agree with them:\n" + "\n".join(
        sorted(set(wrong))
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_entries_have_the_languages_number_of_forms(lang: str) -> None:
    from babel.messages.plurals import get_plural

    expected = get_plural(lang).num_plurals  # gettext's table (CLDR counts fractions too)
    for po_path in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        assert catalog.num_plurals == expected, f"{po_path}: Plural-Forms header"
        for m in catalog:
            if m.id and m.pluralizable:
                assert len(m.string) == expected, f"{lang}: {m.id[0]}"
                assert all(s.strip() for s in m.string), f"{lang}: {m.id[0]} has an empty form"
