"""Fonts per script and right-to-left order: checked against raqm/FriBiDi themselves."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageOps, features

from printer import PrinterError, Problem
from printer.shaping import check_shaping, families, font, levels, segments


def test_pillow_here_can_shape() -> None:
    assert features.check("raqm")
    check_shaping()  # does not raise


def test_each_script_gets_a_font_that_has_its_glyphs() -> None:
    assert families("Σύνολο: 12,50 €") == ["latin"] * 15
    thai = families("ยอดรวม €47.90")
    assert thai[:6] == ["thai"] * 6 and thai[7:] == ["latin"] * 6  # Noto Sans Thai has no €
    fa = families("جمع کل R-12")
    assert fa[:6] == ["arabic"] * 6 and fa[-4:] == ["latin"] * 4


def test_a_character_no_font_has_is_a_code_not_a_box() -> None:
    with pytest.raises(PrinterError) as err:
        families("日本")
    assert err.value.problem is Problem.UNSUPPORTED_CHARACTER
    assert err.value.params["codepoint"] == "U+65E5"


def _ink(text: str, direction: str, rtl: bool | None = None) -> Image.Image:
    """Draw text with the Naskh font, whole (FriBiDi orders it) or as our segments."""
    f = font("arabic", False, 32)
    img = Image.new("L", (900, 60), 255)
    draw = ImageDraw.Draw(img)
    if rtl is None:
        draw.text((10, 45), text, font=f, fill=0, anchor="ls", direction=direction)
    else:
        x = 10.0
        for seg in segments(text, rtl, family="arabic"):
            d = "rtl" if seg.rtl else "ltr"
            draw.text((x, 45), seg.text, font=f, fill=0, anchor="ls", direction=d)
            x += f.getlength(seg.text, direction=d)
    return img


@pytest.mark.parametrize(
    "text",
    [
        "مانده جدید ۱٬۲۴۹",
        "۱۲۰ امتیاز تا طلایی تا ۳۱ دسامبر ۲۰۲۶",
        "صندوق 12 و 345: پایان",
        "امتیاز کسب‌شده: ۴۵.",
        "۲۰۲۶/۱۱/۲۱،‏ ۱۸:۴۲",
        "12 مانده",
        "مانده جدید: 45.",
        "(پایه) 12",
        "۴۵ امتیاز، 30 روز",
        "1. پایه و 2. سطح",
    ],
)
def test_our_right_to_left_runs_land_where_fribidi_puts_them(text: str) -> None:
    whole = _ink(text, "rtl")
    ours = _ink(text, "rtl", rtl=True)
    # Same glyphs in the same places (a few pixels of anti-aliasing at run joins aside).
    assert ImageOps.invert(whole).getbbox() == ImageOps.invert(ours).getbbox()
    mismatch = sum(
        1 for a, b in zip(whole.tobytes(), ours.tobytes(), strict=True) if abs(a - b) > 128
    )
    assert mismatch < 20, mismatch


def test_the_comparison_above_can_fail() -> None:
    text = "12 مانده"
    left_to_right = _ink(text, "rtl", rtl=False)
    mismatch = sum(
        1
        for a, b in zip(_ink(text, "rtl").tobytes(), left_to_right.tobytes(), strict=True)
        if abs(a - b) > 128
    )
    assert mismatch > 200


def test_levels_follow_the_bidi_algorithm() -> None:
    # Arabic letters level 1, embedded numbers and Latin level 2.
    assert levels("ab", True) == [2, 2]
    assert levels("سلام 12", True) == [1, 1, 1, 1, 1, 2, 2]
    assert levels("Total 12", False) == [0] * 8
    # A Latin receipt number inside Persian keeps its left-to-right order.
    segs = segments("رسید R-12", True)
    assert [s.text for s in segs] == ["R-12", "رسید "]
    assert [s.rtl for s in segs] == [False, True]


def test_thai_marks_stack_instead_of_overlapping() -> None:
    f = font("thai", False, 48)

    def top(text: str) -> int:
        img = Image.new("L", (200, 120), 255)
        ImageDraw.Draw(img).text((20, 90), text, font=f, fill=0, anchor="ls")
        box = ImageOps.invert(img).getbbox()
        assert box is not None
        return box[1]

    # The tone mark alone sits low; over an upper vowel raqm lifts it above the vowel.
    assert top("ที่") < top("ท่") < top("ท")
    # Marks take no room of their own.
    assert f.getlength("ที่") == f.getlength("ท")
