"""The catalogues use the glossary's one word per idea (terminal/locale/GLOSSARY.md).

Wherever the English text of a key names an idea of the glossary (points, balance, tier, reward,
receipt, till, head office ...), every other language's text of that key contains that language's
fixed term. A synonym ("แต้ม" beside "คะแนน", "پاداش" for a reward) fails here.
"""

from __future__ import annotations

import re

import pytest

from terminal.i18n import LANGUAGES, LOCALE_DIR, catalogue_keys

_PLACEHOLDER = re.compile(r"{\w+}")
OTHERS = [lang for lang in LANGUAGES if lang != "en"]
# Code the English text quotes ('till init', [cashiers.<id>]): not the word.
_CODE = re.compile(r"'[^']*'|\[[^\]]*\]")
_REFUND_OF = "the original receipt's number on a slip already titled with the refund word"
# (idea, language) -> keys whose text rightly does without the term, and why.
WITHOUT: dict[tuple[str, str], dict[str, str]] = {
    **{("refund", lang): {"receipt.refund_of": _REFUND_OF} for lang in LANGUAGES},
    ("receipt", "pl"): {"receipt.title.sale": "a loyalty slip is not a fiscal 'paragon'"},
}


def glossary() -> dict[str, tuple[re.Pattern[str], dict[str, list[str]]]]:
    """idea -> (the English pattern, the stems per language)."""
    text = (LOCALE_DIR / "GLOSSARY.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    out = {}
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        idea, english, *langs = cells
        (pattern,) = re.findall(r"`([^`]+)`", english)
        stems = {
            lang: re.findall(r"`([^`]+)`", cell) for lang, cell in zip(OTHERS, langs, strict=True)
        }
        out[idea] = (re.compile(pattern.replace("\\|", "|"), re.IGNORECASE), stems)
    return out


GLOSSARY = glossary()
ENGLISH = catalogue_keys("en")


def test_the_glossary_has_every_idea_of_the_issue() -> None:
    ideas = {"point", "balance", "pending", "tier", "reward", "bonus", "receipt", "till"}
    ideas |= {"cashier", "member", "sync", "head office", "refund"}
    assert set(GLOSSARY) == ideas
    for _idea, (_pattern, stems) in GLOSSARY.items():
        assert all(stems[lang] for lang in OTHERS)


@pytest.mark.parametrize("lang", OTHERS)
def test_every_catalogue_uses_the_glossary_terms(lang: str) -> None:
    theirs = catalogue_keys(lang)
    wrong = []
    for idea, (pattern, stems) in GLOSSARY.items():
        excused = WITHOUT.get((idea, lang), {})
        for key, english in ENGLISH.items():
            # A placeholder ({points}, {receipt}) is a value, not the word.
            if not pattern.search(_CODE.sub("", _PLACEHOLDER.sub("", english))) or key in excused:
                continue
            text = _PLACEHOLDER.sub("", theirs[key]).lower()
            if not any(stem.lower() in text for stem in stems[lang]):
                wrong.append(f"{idea}: {key}: {theirs[key]}")
    assert not wrong, f"{lang} strays from its glossary:\n" + "\n".join(wrong)
