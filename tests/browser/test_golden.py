"""Screenshots of the shopper display in the six languages (fixtures/display/golden/), checked
by what the page says (its DOM), that the till's own fonts drew it (no missing glyphs), and a
perceptual comparison with the golden picture: both scaled down to a thumbnail in grey, at
most 1 % of its cells may differ by more than an eighth of the grey scale. Anti-aliasing and a
changed pixel here and there pass; a missing section, a mirrored page, a shifted block or
boxes instead of letters do not (another language's page differs in 5-8 % of its cells).

``UPDATE_GOLDEN=1`` writes new goldens: look at each before committing it."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from display.hub import Hub
from display.server import DisplayServer
from display.view import ShopperView
from loyalty.program import localised
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, preview
from terminal import shopper_views as views
from terminal.i18n import LANGUAGES
from tests.browser.conftest import until
from tests.ui.conftest import NOW, make_services

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "display" / "golden"
# One member of the sample list per language: their own name in their own script.
MEMBERS = {
    "en": "M000007",  # James Walker
    "el": "M000008",  # Νίκος Παπαδόπουλος
    "pl": "M000009",  # Agnieszka Wiśniewska
    "ro": "M000010",  # Ștefan Țurcanu
    "th": "M000011",  # สมหญิง ใจดี
    "fa": "M000012",  # رضا احمدی
}
FONTS = {"th": '"Till Thai"', "fa": '"Till Naskh"'}
SETTLED = """
const done = arguments[arguments.length - 1];
const faces = ['"Till Sans"', '"Till Thai"', '"Till Naskh"'];
const loads = faces.flatMap((f) => [document.fonts.load("20px " + f, document.body.innerText),
                                    document.fonts.load("700 20px " + f, document.body.innerText)]);
Promise.all(loads).then(() => document.fonts.ready)
  .then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));
"""
THUMBNAIL = (160, 95)
GREY_STEP = 32
MAX_DIFFERENCE = 0.01


def basket_view(services: Any, lang: str) -> ShopperView:
    till = services.till
    member = till.member(MEMBERS[lang])
    balance = till.balance(member.member_id, NOW)
    request = SaleRequest(member.member_id, "anna", (BasketLine("L1", "general", 4250),))
    result = preview(till, request, NOW)
    shopper = views.Shopper(lang, member.display_name, balance)
    return views.basket(till.program, shopper, result, NOW)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from printer.shaping import FONT_DIR

    services = make_services(tmp_path_factory.mktemp("golden"), "dummy:")
    hub = Hub()
    server = DisplayServer(hub, fonts=FONT_DIR)
    server.start()
    yield services, hub, server
    server.stop()
    services.close()


def difference(a: Image.Image, b: Image.Image) -> float:
    """The share of thumbnail cells whose grey levels differ by more than GREY_STEP."""
    small = [im.convert("L").resize(THUMBNAIL, Image.Resampling.BOX) for im in (a, b)]
    changed = ImageChops.difference(*small).point(lambda p: 255 if p > GREY_STEP else 0)
    return changed.histogram()[255] / (THUMBNAIL[0] * THUMBNAIL[1])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_display_in_each_language_matches_its_golden(
    browser: Any, served: Any, lang: str
) -> None:
    services, hub, server = served
    browser.get(server.url)
    view = basket_view(services, lang)
    hub.publish(view)
    until(browser, lambda d: d.execute_script("return document.documentElement.lang") == lang)
    # Every face the page uses, loaded and painted (a face is fetched only once text needs it).
    browser.set_script_timeout(15)
    browser.execute_async_script(SETTLED)
    # What the page says.
    assert browser.execute_script("return document.documentElement.dir") == view.direction
    assert view.direction == ("rtl" if lang == "fa" else "ltr")
    first = services.till.member(MEMBERS[lang]).display_name.split()[0]
    assert (
        browser.execute_script("return document.getElementById('first-name').textContent") == first
    )
    body = browser.execute_script("return document.body.innerText")
    program = localised(services.till.program.name, lang)
    for expected in (program, view.basket.heading, view.basket.total.label, view.member.tier):
        assert expected in body
    assert "{" not in body
    # Drawn with the till's own fonts, every glyph found.
    family = FONTS.get(lang, '"Till Sans"')
    sample = view.member.greeting
    assert browser.execute_script(
        f"return document.fonts.check('20px {family}', arguments[0])", sample
    )
    with Image.open(io.BytesIO(browser.get_screenshot_as_png())) as image:
        image.load()
        shot = image.convert("RGB")
    golden = GOLDEN / f"{lang}.png"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        shot.save(golden, optimize=True)
    assert golden.exists(), f"no golden for {lang}: run with UPDATE_GOLDEN=1 and look at it"
    expected_shot = load(golden)
    assert shot.size == expected_shot.size
    assert difference(shot, expected_shot) <= MAX_DIFFERENCE


def load(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image.copy()


def test_the_perceptual_check_tells_languages_apart() -> None:
    """The check is not blind: each golden differs from every other by more than it allows."""
    shots = {lang: load(GOLDEN / f"{lang}.png") for lang in LANGUAGES}
    mirrored = shots["en"].transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert difference(shots["en"], mirrored) > MAX_DIFFERENCE
    assert difference(shots["en"], shots["fa"]) > MAX_DIFFERENCE
    blank = Image.new("RGB", shots["en"].size, (246, 243, 234))
    assert difference(shots["en"], blank) > MAX_DIFFERENCE
    shifted = shots["en"].copy()
    shifted.paste(shots["en"].crop((0, 0, shifted.width, shifted.height - 40)), (0, 40))
    assert difference(shots["en"], shifted) > MAX_DIFFERENCE
    assert difference(shots["en"], shots["en"].copy()) == 0
