"""The Receipt document and its layout, independent of paper width."""

from __future__ import annotations

from pathlib import Path

import pytest

from printer import Align, Code, Direction, Emphasis, Line, Receipt, Row, Separator
from printer.document import Receipt as ReceiptClass
from printer.layout import cells, clusters, layout, measure_cells, wrap

RECEIPTS = Path(__file__).resolve().parents[2] / "fixtures" / "receipts"


@pytest.mark.parametrize("lang", ["en", "el", "pl", "ro", "th", "fa"])
def test_json_round_trip_keeps_every_field(lang: str) -> None:
    r = Receipt.from_json((RECEIPTS / f"{lang}.json").read_text(encoding="utf-8"))
    assert ReceiptClass.from_json(r.to_json()) == r
    copy = r.as_copy(2)
    assert Receipt.from_json(copy.to_json()) == copy


def test_a_copy_carries_its_banner_and_never_kicks_the_drawer() -> None:
    r = Receipt("R-1", "en", "Receipt", (Line("x"),), copy_banner="COPY", kick_drawer=True)
    c = r.as_copy(1)
    assert (c.copy, c.kick_drawer) == (1, False)
    assert "COPY" in c.texts() and "COPY" not in r.texts()
    assert r.as_copy(2, banner="KOPIA").copy_banner == "KOPIA"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        Receipt.from_json('{"format": 99}')


def test_rows_that_fit_stay_one_line_and_others_wrap_label_then_value() -> None:
    r = Receipt(
        "R-1",
        "en",
        "T",
        (
            Row("Total", "12.50"),
            Row("A very long reward name that cannot fit", "-2.40"),
            Separator("="),
            Separator("blank"),
            Code("R-1", "R-1"),
        ),
    )
    placed = layout(r, 20, measure_cells, gap=1)
    kinds = [(p.kind, p.text, p.value, p.align) for p in placed]
    assert kinds[1] == ("row", "Total", "12.50", Align.START)
    assert kinds[2:5] == [
        ("text", "A very long reward", "", Align.START),
        ("text", "name that cannot fit", "", Align.START),
        ("text", "-2.40", "", Align.END),
    ]
    assert [p.kind for p in placed[5:]] == ["rule", "blank", "code", "text"]


def test_large_text_counts_double() -> None:
    assert measure_cells("Total", Emphasis.LARGE) == 10
    assert wrap("Total due today", 10, measure_cells, Emphasis.LARGE) == ["Total", "due", "today"]


def test_thai_marks_take_no_cell_and_are_never_split_from_their_letter() -> None:
    word = "ที่สุดสัปดาห์"
    assert cells(word) == 8
    assert clusters("ที่") == ["ที่"]
    lines = wrap(word, 3, measure_cells, Emphasis.NORMAL)
    assert "".join(lines) == word
    assert all(cells(line) <= 3 for line in lines)
    assert all(line[0] not in "\u0e34\u0e35\u0e48" for line in lines)


def test_direction_is_part_of_the_document() -> None:
    r = Receipt("R-1", "fa", "رسید", direction=Direction.RTL)
    assert Receipt.from_json(r.to_json()).direction is Direction.RTL
