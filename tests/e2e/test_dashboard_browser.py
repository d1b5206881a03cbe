"""The head-office dashboard in a real browser (Debian's chromium, headless, driven by Selenium
through chromium-driver; nothing is downloaded): an admin signs in, the worked example's
figures of docs/kpis.md are shown, the charts are drawn, a till is drilled into, the Persian
page runs right to left, and the CSV downloaded is byte for byte what ``till headoffice
report --format csv`` prints. Screenshots are left in the test's tmp_path (KPIS_SHOTS=dir
keeps a copy there, to look at)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.engagement_at_till import record
from printer.shaping import FONT_DIR
from sync.client import SyncClient
from sync.headoffice.serve import ServerThread
from terminal.commands.headoffice_serve import dashboard_words
from tests.integration.test_reports import worked_example
from tests.sync_fixtures import ADMIN, Shop, headoffice

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DRIVER = "/usr/bin/chromedriver"
TILL = str(Path(sys.executable).with_name("till"))
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,2200",
)  # fmt: skip
PERIOD = "from=2026-11-01&to=2026-11-20&by=week"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    if not (Path(DRIVER).exists() and shutil.which("chromium")):
        pytest.skip("chromium and chromium-driver are not installed (./dev test installs them)")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    prefs = {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    yield driver
    driver.quit()


def shot(driver: object, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    keep = os.environ.get("KPIS_SHOTS")
    if keep:
        shutil.copy(path, Path(keep) / path.name)


def test_an_admin_reads_the_dashboard_and_downloads_the_csv(
    browser: object, tmp_path: Path
) -> None:
    db = str(tmp_path / "headoffice.sqlite")
    ho = headoffice(db)
    server = ServerThread(ho, words=dashboard_words, fonts=FONT_DIR)
    url = server.start()
    shop = Shop(ho, url, tmp_path)
    try:
        clock, who = worked_example(shop)
        d: object = browser
        d.get(f"{url}/dashboard?lang=en")  # type: ignore[attr-defined]
        find = d.find_element  # type: ignore[attr-defined]
        find(By.ID, "token").send_keys("not-the-token")
        find(By.ID, "sign-in").click()
        # The click only starts the form's post: wait for the answer's page, not the old one.
        WebDriverWait(d, 30).until(lambda drv: drv.find_elements(By.ID, "error"))
        assert "not head office's admin token" in find(By.ID, "error").text
        find(By.ID, "token").send_keys(ADMIN)
        find(By.ID, "sign-in").click()
        WebDriverWait(d, 30).until(lambda drv: drv.find_elements(By.ID, "kpi-points-issued"))
        d.get(f"{url}/dashboard?lang=en&{PERIOD}")  # type: ignore[attr-defined]

        def figure(key: str) -> str:
            return str(find(By.CSS_SELECTOR, f"#kpi-{key} .figure").text)

        assert figure("points-issued") == "1,105"
        assert figure("points-redeemed") == "200"
        assert figure("redemption-rate") == "18%"
        assert figure("repeat-rate") == "33%"
        assert figure("outstanding") == "735"
        assert figure("enrolments") == "3"
        assert figure("referrals") == "0"
        bars = d.find_elements(By.CSS_SELECTOR, "#chart-points rect.bar")  # type: ignore[attr-defined]
        drawn = [b for b in bars if float(b.get_attribute("height")) > 0]
        assert len(bars) == 8 and len(drawn) == 3  # W45 issued, W47 issued and redeemed
        assert drawn[0].size["height"] > 20  # laid out on the page, not only in the markup
        cells = d.find_elements(By.CSS_SELECTOR, "#cohorts td")  # type: ignore[attr-defined]
        assert [c.text for c in cells] == ["3", "100%"]
        tiers = d.find_elements(By.CSS_SELECTOR, "#tiers tr")  # type: ignore[attr-defined]
        assert [t.text for t in tiers] == ["Oak 1", "Olive 2"]  # the program's own names
        rewards = find(By.CSS_SELECTOR, "#rewards tr:nth-child(2)").text
        assert rewards == "Donate EUR 2 to the food bank 1 200 €2.00"
        assert find(By.ID, "donations").text.endswith("Athens Food Bank €2.00")
        shot(d, tmp_path, "dashboard-en")

        find(By.ID, "csv").click()
        downloads = tmp_path / "downloads"
        deadline = time.monotonic() + 30
        while not list(downloads.glob("*.csv")) and time.monotonic() < deadline:
            time.sleep(0.2)
        (downloaded,) = downloads.glob("*.csv")
        printed = subprocess.run(
            [TILL, "headoffice", "report", "--db", db, "--from", "2026-11-01",
             "--to", "2026-11-20", "--by", "week", "--format", "csv"],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
        assert downloaded.read_text(encoding="utf-8") == printed

        find(By.XPATH, "//a[@class='drill' and text()='ATH1']").click()
        WebDriverWait(d, 30).until(lambda drv: "ATH1" in drv.find_element(By.ID, "scope").text)
        assert figure("points-issued") == "395"
        shot(d, tmp_path, "dashboard-ath1")

        d.get(f"{url}/dashboard?lang=fa&{PERIOD}")  # type: ignore[attr-defined]
        assert find(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
        assert figure("points-issued") == "۱٬۱۰۵"
        assert "بلوط" in find(By.ID, "tiers").text  # Oak, as the program names it in Persian
        shot(d, tmp_path, "dashboard-fa")

        d.get(f"{url}/dashboard?lang=el&from=2026-11-20&to=2026-11-01")  # type: ignore[attr-defined]
        assert "τελειώνει" in find(By.ID, "error").text

        # Engagement by action: cashiers in Athens and Warsaw each record Ann's profile
        # completed (once ever: head office takes the second back), shown in Thai under the
        # program's own name.
        d.get(f"{url}/dashboard?lang=en&{PERIOD}")  # type: ignore[attr-defined]
        assert find(By.ID, "engagement").text == "Engagement by action\n–"  # none yet
        for client in [c for c in shop.opened if isinstance(c, SyncClient)]:
            record(client.till, who["ann"], "profile_completed", "cashier1", now=clock.at)
            client.sync()
        d.get(f"{url}/dashboard?lang=th&{PERIOD}")  # type: ignore[attr-defined]
        row = find(By.CSS_SELECTOR, "#engagement tr:nth-child(2)").text
        assert row == "กรอกโปรไฟล์ครบถ้วน 2 200 1 100"
        # Thai is drawn in the font head office serves, not in empty boxes for want of a
        # system font (this machine has none with Thai).
        loaded = d.execute_async_script(  # type: ignore[attr-defined]
            "const done = arguments[arguments.length - 1];"
            "document.fonts.load(\"16px 'Till Thai'\", 'คะแนน')"
            ".then(f => done(f.length), () => done(-1));"
        )
        assert loaded == 1
        d.execute_async_script(  # type: ignore[attr-defined]
            "const done = arguments[arguments.length - 1]; document.fonts.ready.then(() => done());"
        )
        shot(d, tmp_path, "dashboard-th")
    finally:
        shop.close()
        server.stop()
        ho.store.close()
