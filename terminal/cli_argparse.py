"""argparse's own messages ("the following arguments are required: ...") in the language of
the command line, so a translated usage error is not half English.

argparse looks its messages up through the module's ``_`` (gettext) at the moment it reports
an error; :func:`translate_argparse` points it at our catalogues (``cli.argparse.*`` keys in
cli.po, whose texts keep argparse's %-placeholders). A message we have no key for stays as
argparse wrote it.
"""

from __future__ import annotations

import argparse

from terminal.cli_language import cli_language
from terminal.i18n import translator

# argparse's message templates (CPython 3.11-3.13) -> our keys.
KEYS: dict[str, str] = {
    "the following arguments are required: %s": "cli.argparse.required",
    "unrecognized arguments: %s": "cli.argparse.unrecognized",
    "argument %(argument_name)s: %(message)s": "cli.argparse.argument",
    "invalid choice: %(value)r (choose from %(choices)s)": "cli.argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "cli.argparse.invalid_value",
    "expected one argument": "cli.argparse.expected_one",
    "expected at least one argument": "cli.argparse.expected_at_least_one",
    "expected at most one argument": "cli.argparse.expected_at_most_one",
    "one of the arguments %s is required": "cli.argparse.one_of_required",
    "not allowed with argument %s": "cli.argparse.not_allowed_with",
    "ambiguous option: %(option)s could match %(matches)s": "cli.argparse.ambiguous",
    "ignored explicit argument %r": "cli.argparse.ignored_explicit",
}


def argparse_text(message: str) -> str:
    """argparse's template ``message`` in the command line's language."""
    key = KEYS.get(message)
    if key is None:
        return message
    return translator(cli_language())(key)


def translate_argparse() -> None:
    argparse._ = argparse_text  # type: ignore[attr-defined]
