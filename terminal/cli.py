"""The ``till`` command: JSON on stdout for scripting sub-commands, one translated line on
stderr and a non-zero exit for bad input. The line echoes what was typed through
``terminal.shown``: a newline or an escape sequence in an argument cannot split it or reach
the terminal."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from loyalty.errors import LoyaltyError
from sync.redact import redact
from terminal.cli_argparse import translate_argparse
from terminal.cli_language import cli_language
from terminal.errors import CommandError
from terminal.i18n import translator
from terminal.messages import describe
from terminal.shown import shown

# Sub-command modules under terminal/commands, in the order `till --help` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "run",
    "init",
    "enroll",
    "engage",
    "sale",
    "refund",
    "balance",
    "scan",
    "receipt",
    "sync",
    "api",
    "headoffice",
    "display",
)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other error of `till`
    (argparse's own is the usage and then the error, two lines or more)."""

    def error(self, message: str) -> NoReturn:
        t = translator(cli_language())
        line = t("cli.error.arguments", problem=" ".join(message.split()), command=self.prog)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {shown(line)}\n")


def build_parser() -> argparse.ArgumentParser:
    translate_argparse()
    parser = _Parser(prog="till", description="The loyalty till.")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="where the till keeps its database (default: TILL_DATA_DIR, else platformdirs)",
    )
    parser.add_argument("--config", default=None, help="a TOML config file (default: TILL_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"terminal.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"terminal.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


# Characters json leaves raw that a terminal would act on: DEL and C1 controls (CSI, OSC...),
# bidi embeddings, overrides and isolates, and the Unicode line and paragraph separators.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def emit(result: Any) -> None:
    """Print a result as JSON on stdout (the scripting contract). Characters a terminal would
    act on are written as JSON escapes: a script reads exactly what is stored, a terminal shows
    them as harmless text (C0 controls json escapes itself)."""
    text = json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True)
    sys.stdout.write(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def undecodable(argv: Sequence[str]) -> str | None:
    """The first argument that is not UTF-8 (Python keeps its bytes as lone surrogates), as it
    may be shown; None when every argument is text."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:60]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    t = translator(cli_language())
    bad = undecodable(argv)
    if bad is not None:
        line = t("cli.error.undecodable_argument", argument=bad)
        print(f"till: {shown(line)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except CommandError as exc:
        print(f"till: {shown(redact(t(exc.key, **exc.params)))}", file=sys.stderr)
        return exc.exit_code
    except LoyaltyError as exc:
        print(f"till: {shown(redact(describe(t, exc)))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    if result is not None:
        try:
            emit(result)
        except BrokenPipeError:  # `till ... | head`: the reader left; not our error
            sys.stderr.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
