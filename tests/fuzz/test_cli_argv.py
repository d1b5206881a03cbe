"""`till` with random arguments, in-process (terminal.cli.main), on a real data dir.

Whatever the arguments: the exit code is 0, 1 or 2; never a traceback; an error is one line on
stderr starting with "till: ", and a success prints JSON (or --help's text).

Left out on purpose: `demo` and `run` (they start the app), `headoffice serve` and `sync` (they
serve or loop), `init --headoffice` and `scan --camera/--video` (network and devices); values
never hold "/" (so files are written only inside the test's folder) or NUL (no real argv can).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loyalty.till import Till
from terminal.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "fixtures" / "program.toml"

HOSTILE = [
    "", " ", "-", "--", "-1", "0", "12.50", "1e309", "nan", "-0", "99999999999999999999999",
    "M000001", "400000000002", "+30 210 555 0199", "ATH01-T1-000001", "five-off",
    "SKU,grocery,12.50", "SKU,,", ",,,", "x" * 10_000, "Robert'); DROP TABLE members;--",
    "\u202eevil", "\x1b[2J", "a\nb", "el", "fa", "zz", "13-45", "2026-02-30T25:00",
    "%s%n{0}", "{name}", "..", "prog.toml", "out.png",
]  # fmt: skip
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_characters="/\\\x00", exclude_categories=["Cs"]), max_size=20),
)
OPTIONS = {
    "enroll": ["--name", "--phone", "--language", "--birthday", "--consent", "--cashier"],
    "sale": ["--member", "--total", "--line", "--redeem", "--pay-points", "--cashier",
             "--override-manager", "--override-reason", "--preview", "--print"],
    "refund": ["--receipt", "--line", "--cashier"],
    "balance": [],
    "scan": ["--image", "--text", "--keys", "--demo-keys", "--deny", "--decoder", "--at",
             "--skew", "--timeout"],
    "receipt": ["--text", "--png", "--print"],
    "init": ["--terminal-id", "--program", "--members"],
    "headoffice": ["token", "--valid", "--key", "--key-id", "--at", "--png"],
}  # fmt: skip
COMMANDS = sorted(OPTIONS)


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    out: list[str] = []
    if draw(st.integers(0, 9)) == 0:
        out += [draw(st.sampled_from(["--data-dir", "--config"])), draw(VALUE)]
    command = draw(st.sampled_from(COMMANDS))
    out.append(command)
    words = OPTIONS[command] + ["--help", "--bogus"]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            out.append(draw(VALUE))  # a positional (or junk)
        else:
            out.append(draw(st.sampled_from(words)))
            if kind > 1:
                out.append(draw(VALUE))
    return out


@pytest.fixture(scope="module")
def data_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    till = Till.open(data, must_exist=False)
    till.initialise("ATH01-T1", PROGRAM.read_text(encoding="utf-8"), str(PROGRAM))
    till.import_members(ROOT / "fixtures" / "members.csv")
    till.close()
    return data


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=argv())
@example(args=["balance", "a\nb"])
@example(args=["sale", "--member", "\x1b[2J\u202e", "--total", "1"])
@example(args=["enroll", "--name", "x", "--language", "e\nl", "--consent"])
def test_random_arguments_exit_cleanly_with_one_line_or_json(
    args: list[str],
    data_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(data_template, work / "data")
    monkeypatch.chdir(work)
    for name in ("TILL_CONFIG", "TILL_HEADOFFICE", "TILL_CAMERA", "TILL_PRINTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TILL_DATA_DIR", str(work / "data"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    monkeypatch.setenv("TILL_CASHIER", "anna")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
            code = exc.code if isinstance(exc.code, int) else 2
    stdout, stderr = out.getvalue(), err.getvalue()
    assert code in (0, 1, 2), (args, code, stderr)
    if code == 0:
        if "--help" not in args and stdout.strip():
            json.loads(stdout)
    else:
        assert stderr.startswith("till") and stderr.count("\n") == 1, (args, stderr)
        assert "Traceback" not in stderr and "\x1b" not in stderr and "\u202e" not in stderr
