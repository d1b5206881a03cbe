"""Every error code a package can return has a message in all six languages (issue 14, item 5).

The codes are read from the code itself: the raise sites of the loyalty, sync, printer and
scanner errors (a constant code argument), the program parser's problems, the printer's
``Problem`` enum, the scanner's refusal reasons, and every code head office answers with (its
``ApiProblem`` raise sites, the refusals of its roles and path parameters, the states a hold
can be refused in), which reach the till as sync codes. A new code without a msgid in every
catalogue fails here, instead of reaching a cashier as "an answer the till does not know"."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from printer.errors import Problem
from scanner.codes import Reason
from sync.protocol import Hold
from terminal.i18n import LANGUAGES, catalogue_keys

ROOT = Path(__file__).resolve().parents[2]

# Constructor name -> (key prefix, index of the code among the positional arguments).
RAISERS = {
    "BadInput": ("loyalty.", 0),
    "NotFound": ("loyalty.", 0),
    "Refused": ("loyalty.", 0),
    "LoyaltyError": ("loyalty.", 0),
    "NotInitialised": ("loyalty.", 0),
    "ProgramError": ("loyalty.problem.", 2),
    "SyncFailed": ("sync.error.", 0),
    "ScanError": ("scan.error.", 0),
}
PACKAGES = ("loyalty", "sync", "printer", "scanner")


def python_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from (ROOT / package).rglob("*.py")


def raised_codes() -> set[str]:
    """Each ``Raiser("code", ...)`` and ``fail(field, "problem")`` call with a constant code,
    and each error class's own ``code = "..."``."""
    keys: set[str] = set()
    for path in python_files():
        if "headoffice" in path.parts:
            continue  # head office's answers reach the till as sync codes (below)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "fail" and len(node.args) >= 2:
                    prefix, index = "loyalty.problem.", 1
                elif name in RAISERS:
                    prefix, index = RAISERS[name]
                else:
                    continue
                if len(node.args) > index:
                    arg = node.args[index]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        keys.add(prefix + arg.value)
            elif isinstance(node, ast.ClassDef) and path.name == "errors.py":
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and [getattr(t, "id", "") for t in stmt.targets] == ["code"]
                        and isinstance(stmt.value, ast.Constant)
                    ):
                        keys.add(f"loyalty.{stmt.value.value}")
    return keys


# Head office's raisers: name -> index of the code among the positional arguments.
# A report's refusal (sync/headoffice/reports/period.py) is answered as a 422 with its code.
HEADOFFICE_RAISERS = {"ApiProblem": 1, "_path_param": 3, "ReportError": 0}


def headoffice_codes() -> set[str]:
    """Each code head office answers with: ``ApiProblem(status, "code", ...)``, a path
    parameter's ``_path_param(request, name, kind, "code")``, a role's refusal
    ``return 403, "code"``, and ``hold_<state>`` for each state a hold is refused in. Any other
    code that is not a constant fails the test, so a new kind of answer site is not missed."""
    keys: set[str] = set()
    unread: list[str] = []
    for path in (ROOT / "sync" / "headoffice").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                index = HEADOFFICE_RAISERS.get(name)
                if index is None or len(node.args) <= index:
                    continue
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    keys.add(f"sync.error.{arg.value}")
                elif ast.unparse(arg) == "f'hold_{status}'":
                    states = set(get_args(get_type_hints(Hold)["status"])) - {"held"}
                    keys |= {f"sync.error.hold_{state}" for state in states}
                elif not isinstance(arg, ast.Name):  # a name passes a code along (re-raise)
                    unread.append(f"{path.name}:{node.lineno} {ast.unparse(arg)}")
            elif (
                isinstance(node, ast.Return)
                and isinstance(node.value, ast.Tuple)
                and [type(e) for e in node.value.elts] == [ast.Constant, ast.Constant]
            ):
                status, code = (e.value for e in node.value.elts)  # type: ignore[attr-defined]
                if isinstance(status, int) and 400 <= status < 600 and isinstance(code, str):
                    keys.add(f"sync.error.{code}")
    assert not unread, f"head office answers with codes this test cannot read: {unread}"
    return keys


def all_codes() -> set[str]:
    keys = raised_codes() | headoffice_codes()
    keys |= {f"printer.problem.{p.value}" for p in Problem}
    keys |= {f"scan.refused.{r.value}" for r in Reason}
    return keys


def test_the_scan_finds_the_codes_it_should() -> None:
    """The reader of raise sites works: known codes of each package are among its finds."""
    keys = all_codes()
    assert {"loyalty.not_found", "loyalty.insufficient_points", "sync.error.busy"} <= keys
    assert "scan.error.unreadable_image" in keys
    assert "printer.problem.out_of_paper" in keys
    assert any(k.startswith("loyalty.problem.") for k in keys)
    assert {"sync.error.epoch_stale", "sync.error.seq_gap", "sync.error.cursor_expired"} <= keys
    assert {"sync.error.role_not_allowed", "sync.error.malformed_key_id"} <= keys
    assert {"sync.error.hold_expired", "sync.error.hold_settled"} <= keys


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_error_code_has_a_message(lang: str) -> None:
    have = catalogue_keys(lang)
    missing = sorted(k for k in all_codes() if k not in have)
    assert not missing, f"{lang}: no message for {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unknown_sync_code_is_not_shown_raw(lang: str) -> None:
    """A code head office sends that the till has no message for reads sync.error.other,
    which names no code: the cashier never sees "velocity_limit" or "http_502"."""
    for key in ("sync.error.other", "app.sync.unknown_answer"):  # `till` commands, the app
        text = catalogue_keys(lang)[key]
        assert "{code}" not in text and "{" not in text
