"""A head-office failure reads as words, never as a raw ``{placeholder}`` (issue 14, item 5):
every ``sync.error.*`` message of all six catalogues, rendered as the app renders it
(terminal.messages.sync_reason) with the parameters the failure carried, names what it should,
and one whose detail did not come (an answer without it, or a till-side failure) falls back to
a whole sentence rather than show ``{entry_id}``."""

from __future__ import annotations

import pytest

from terminal.i18n import LANGUAGES, catalogue_keys, placeholders, translator
from terminal.messages import sync_reason

TILL = "ATH01-T1"
FALLBACK = "app.sync.unknown_answer"
# What head office and the sync client put in a failure's parameters, per name: text, or an
# int the till shows in the language's digits.
SAMPLES: dict[str, object] = {"seq": 41, "expected_seq": 42, "status": 502, "limit": 2500}


def sync_keys(lang: str) -> list[str]:
    return sorted(k for k in catalogue_keys(lang) if k.startswith("sync.error."))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sync_message_renders_without_a_placeholder(lang: str) -> None:
    t = translator(lang)
    keys = sync_keys(lang)
    assert len(keys) > 30  # the catalogues were read
    for key in keys:
        code = key.removeprefix("sync.error.")
        wanted = placeholders(t.template(key))
        carried = {name: SAMPLES.get(name, f"x-{name}") for name in wanted - {"terminal_id"}}
        text = sync_reason(t, code, carried, TILL, FALLBACK)
        assert "{" not in text and "}" not in text, (key, text)
        assert text != t(FALLBACK), key  # the message itself, not the fallback
        for name, value in carried.items():
            shown = t.number(value) if isinstance(value, int) else str(value)
            assert shown in text, (key, name, text)
        # Without any parameter (a failure that lost them): whole words still.
        bare = sync_reason(t, code, {}, TILL, FALLBACK)
        assert "{" not in bare and "}" not in bare, (key, bare)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_revoked_till_is_named_by_its_own_id(lang: str) -> None:
    t = translator(lang)
    text = sync_reason(t, "till_revoked", {}, TILL, FALLBACK)
    assert TILL in text and text != t(FALLBACK)
    assert sync_reason(t, "no_such_code", {"a": 1}, TILL, FALLBACK) == t(FALLBACK)


def test_long_text_from_head_office_is_cut() -> None:
    t = translator("en")
    text = sync_reason(t, "unknown_held_entry", {"entry_id": "e" * 500}, TILL, FALLBACK)
    assert "e" * 80 in text and "e" * 81 not in text
