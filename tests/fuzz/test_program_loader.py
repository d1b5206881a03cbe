"""The program loader against hostile documents: head office publishes programs and every till
parses what it pulls, so a bad document must be a ProgramError (a field and a problem code),
never another exception and never half a program, and its problem has a translated text.

Two strategies: any text, and the sample program with one value replaced by a hostile TOML
value or one line dropped (which keeps most of the document valid, so the checks deep inside
the loader are reached).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.errors import ProgramError
from loyalty.program import Program, parse_program
from terminal.i18n import translator
from terminal.messages import describe

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
LINES = SAMPLE.splitlines()
VALUE_LINES = [i for i, line in enumerate(LINES) if " = " in line and not line.startswith("#")]
HOSTILE_VALUES = [
    "-1", "0", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
    "1.5", "nan", "inf", "-inf", "true", '""', '" "', '"x"', "[]", "{}", '[""]', "[1, 2]",
    '{ en = "" }', '{ el = "x" }', "1979-05-27", "1979-05-27T07:32:00Z", "07:32:00",
    '"Europe/../../etc/passwd"', '"UTC\\u0000"', '"\\u202eEUR"', "\"' OR 1=1 --\"",
    '"' + "x" * 10_000 + '"', '"zz"', '"XXX"', '"mon"', '["tue", "tue"]', '["someday"]',
]  # fmt: skip


def _check(text: str) -> None:
    try:
        program = parse_program(text, "fuzz")
    except ProgramError as exc:
        assert exc.code and exc.field and exc.problem, exc
        for lang in ("en", "fa"):  # a clear message in the cashier's language, every time
            assert translator(lang).has(f"loyalty.problem.{exc.problem}"), exc.problem
            assert describe(translator(lang), exc)
        return
    assert isinstance(program, Program)
    assert program.tiers and program.version


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_program_or_a_program_error(text: str) -> None:
    _check(text)


@settings(max_examples=400, deadline=None)
@given(
    line=st.sampled_from(VALUE_LINES),
    value=st.one_of(st.sampled_from(HOSTILE_VALUES), st.integers().map(str)),
    drop=st.booleans(),
)
def test_the_sample_with_one_hostile_value_is_a_program_or_a_program_error(
    line: int, value: str, drop: bool
) -> None:
    lines = list(LINES)
    key = lines[line].split(" = ", 1)[0]
    if drop:
        del lines[line]
    else:
        lines[line] = f"{key} = {value}"
    _check("\n".join(lines))


def test_the_sample_itself_loads() -> None:
    assert parse_program(SAMPLE).version
