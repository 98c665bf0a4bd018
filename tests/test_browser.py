"""The built board in a real browser: Debian's chromium, driven by selenium and chromedriver.

`.ci/run` installs chromium, so in CI (CI=true) a missing browser is a failure; on a developer
machine without it the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from leaderboard.build import build_site
from leaderboard.synthetic import generate

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("GREENBENCH_ARTIFACTS", REPO / "artifacts"))
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are not installed: .ci/run must install them")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile_dir = tempfile.mkdtemp(prefix="gb-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile_dir}",
        "--window-size=1400,1800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile_dir, ignore_errors=True)


def test_task_page_in_chromium(tmp_path, browser):
    from selenium.webdriver.common.by import By

    extra = generate(tmp_path / "extra", 30, seed=5, entries=8)
    site = tmp_path / "site"
    build_site(site, [extra])
    browser.get((site / "task-ag_news-cpu.html").as_uri())

    charts = browser.find_elements(By.CSS_SELECTOR, "svg.pareto")
    assert len(charts) == 5
    assert browser.find_elements(By.CSS_SELECTOR, "svg.pareto path.front")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.pareto circle.front-pt")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.board tbody tr")
    assert len(rows) >= 5

    def first_column():
        return [
            r.find_elements(By.TAG_NAME, "td")[0].text
            for r in browser.find_elements(By.CSS_SELECTOR, "table.board tbody tr")
        ]

    before = first_column()
    header = browser.find_element(By.XPATH, "//table[contains(@class,'board')]//th[contains(., 'GFLOPs')]")
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    after = first_column()
    assert after != before and sorted(after) == sorted(before)
    flops = [
        r.find_elements(By.TAG_NAME, "td")[2].get_attribute("data-sort")
        for r in browser.find_elements(By.CSS_SELECTOR, "table.board tbody tr")
    ]
    numbers = [float(v) for v in flops if v]
    assert numbers == sorted(numbers)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.find_element(By.TAG_NAME, "body")  # page fully there
    browser.get((site / "task-ag_news-cpu.html").as_uri())
    assert browser.save_screenshot(str(ARTIFACTS / "leaderboard-task.png"))
    assert (ARTIFACTS / "leaderboard-task.png").stat().st_size > 10_000

    # The entry page of a real entry opens from a point on the chart.
    link = browser.find_element(By.CSS_SELECTOR, "svg.pareto a")
    href = browser.execute_script("return arguments[0].getAttribute('href')", link)
    assert href.startswith("entry-") and (site / href.split("#")[0]).is_file()
