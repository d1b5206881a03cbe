"""A usage error of `till` is in one language: argparse's own messages are translated."""

from __future__ import annotations

import argparse
import inspect
import re

import pytest

from terminal.cli import main
from terminal.cli_argparse import KEYS
from terminal.i18n import LANGUAGES, catalogue_keys

_PERCENT = re.compile(r"%(?:\(\w+\))?[sr]")


def test_every_template_we_translate_is_one_argparse_uses() -> None:
    source = inspect.getsource(argparse)
    for template in KEYS:
        assert repr(template) in source or f"'{template}'" in source, template


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_argparses_placeholders(lang: str) -> None:
    theirs = catalogue_keys(lang)
    for template, key in KEYS.items():
        assert sorted(_PERCENT.findall(theirs[key])) == sorted(_PERCENT.findall(template)), key


@pytest.mark.parametrize(
    ("argv", "english"),
    [
        (["sale", "--total"], "expected one argument"),
        (["sale", "--total", "5"], "the following arguments are required"),
        (["sale", "--member", "M1", "--total", "5", "--bogus"], "unrecognized arguments"),
    ],
)
def test_a_polish_usage_error_has_no_english_in_it(
    argv: list[str],
    english: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TILL_LANGUAGE", "pl")
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert english not in err, err
    assert "till" in err and "--help" in err
