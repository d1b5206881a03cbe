"""The program document: the fixture loads, and every kind of mistake names file and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty.errors import ProgramError
from loyalty.program import load_program, parse_program
from loyalty.till import Till

PROGRAM = Path(__file__).resolve().parents[2] / "fixtures" / "program.toml"
TEXT = PROGRAM.read_text(encoding="utf-8")


def test_the_chain_program_loads_with_what_the_shop_uses() -> None:
    p = load_program(str(PROGRAM))
    assert [t.id for t in p.tiers] == ["olive", "oak", "laurel"]
    assert len(p.rewards) >= 6
    effects = {r.effect for r in p.rewards}
    assert {"donation", "percent_discount", "fixed_discount", "free_item", "experience"} <= effects
    assert p.earn.excluded_categories >= {"gift_card", "tobacco"}
    assert p.offline.member_allowance_points == 1000
    assert p.pending_days == 14


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (("per_minor = 100", "per_minor = 0"), "earn.per_minor", "below_minimum"),
        (("per_minor = 100", 'per_minor = "100"'), "earn.per_minor", "not_an_integer"),
        (('rounding = "down"', 'rounding = "up"'), "earn.rounding", "not_one_of"),
        (
            ('timezone = "Europe/Athens"', 'timezone = "Mars/Olympus"'),
            "program.timezone",
            "unknown_time_zone",
        ),
        # Longer than a file name may be: zoneinfo's own OSError, not a crash.
        (
            ('timezone = "Europe/Athens"', f'timezone = "{"x" * 5000}"'),
            "program.timezone",
            "unknown_time_zone",
        ),
        (('timezone = "Europe/Athens"', 'timezone = "Europe"'), "program.timezone",
         "unknown_time_zone"),  # fmt: skip
        (("threshold = 50000", "threshold = 0"), "tiers[1].threshold", "not_ascending"),
        (("cost_points = 250", "cost_points = -5"), "rewards[0].cost_points", "below_minimum"),
        (("\npercent = 10\n", "\npercent = 120\n"), "rewards[3].percent", "not_a_percent"),
        (('tiers = ["laurel"]', 'tiers = ["platinum"]'), "rewards[5].tiers", "unknown_tier"),
        (('weekdays = ["tue"]', 'weekdays = ["tuesday"]'), "promotions[0].weekdays", "not_one_of"),
        (("ends = 2027-12-31", "ends = 2025-12-31"), "promotions[0].ends", "before_start"),
        (('id = "five-off"', 'id = "coffee"'), "rewards[1].id", "duplicate_id"),
        (
            ("max_snapshot_age_hours = 72", "max_snapshot_age_hours = true"),
            "offline.max_snapshot_age_hours",
            "not_an_integer",
        ),
        (("[offline]", "[offline_typo]"), "offline", "missing"),
        # A birthday or first-purchase bonus must say how often it pays one member.
        (('scope = "once_per_year"', ""), "promotions[2].scope", "ambiguous_scope"),
        (('scope = "once_per_member"', ""), "promotions[3].scope", "ambiguous_scope"),
        (
            ('scope = "once_per_year"', 'scope = "per_sale"'),
            "promotions[2].scope",
            "scope_not_allowed",
        ),  # fmt: skip
        (
            ('scope = "once_per_member"', 'scope = "once_per_year"'),
            "promotions[3].scope",
            "scope_not_allowed",
        ),  # fmt: skip
        (('scope = "once_per_year"', 'scope = "yearly"'), "promotions[2].scope", "not_one_of"),
        (
            ("stackable = false", 'stackable = false\nscope = "once_per_member"'),
            "promotions[0].scope",
            "scope_not_allowed",
        ),  # fmt: skip
    ],
)
def test_a_bad_field_is_named_with_what_was_wrong(
    change: tuple[str, str], field: str, problem: str
) -> None:
    old, new = change
    assert old in TEXT
    with pytest.raises(ProgramError) as info:
        parse_program(TEXT.replace(old, new, 1), "head-office.toml")
    assert (info.value.source, info.value.field, info.value.problem) == (
        "head-office.toml",
        field,
        problem,
    )


def test_not_toml_and_unreadable_files_are_refused_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ProgramError) as info:
        parse_program("[program\nversion=", "broken.toml")
    assert info.value.problem == "not_toml"
    with pytest.raises(ProgramError) as info:
        load_program(str(tmp_path / "missing.toml"))
    assert info.value.problem == "unreadable"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProgramError) as info:
        load_program(str(binary))
    assert info.value.problem == "not_utf8"


def test_a_bad_new_program_leaves_the_previous_one_in_force(till: Till) -> None:
    before = till.program.version
    bad = TEXT.replace('version = "2026.11.1"', 'version = "2026.12.1"').replace(
        "per_minor = 100", "per_minor = -1"
    )
    with pytest.raises(ProgramError):
        till.install_program(bad, "update.toml")
    assert till.program.version == before
    good = TEXT.replace('version = "2026.11.1"', 'version = "2026.12.1"')
    assert till.install_program(good, "update.toml").version == "2026.12.1"
    assert till.program.version == "2026.12.1"


def test_a_reused_version_with_other_content_is_refused(till: Till) -> None:
    changed = TEXT.replace("per_minor = 100", "per_minor = 200")
    with pytest.raises(ProgramError) as info:
        till.install_program(changed, "update.toml", dt.datetime.now(dt.UTC))
    assert info.value.problem == "version_reused"
    assert till.program.earn.per_minor == 100
