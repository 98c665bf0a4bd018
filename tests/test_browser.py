"""The built board in a real browser: Debian's chromium, driven by selenium and chromedriver.

`.ci/run` installs chromium, so in CI (CI=true) a missing browser is a failure; on a developer
machine without it the test is skipped. Screenshots of every page type at 1,440 and 390 px go
to ``$GREENBENCH_ARTIFACTS`` (default ``artifacts/``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from test_board_safety import build_injected

from leaderboard.build import build_site
from leaderboard.synthetic import generate

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("GREENBENCH_ARTIFACTS", REPO / "artifacts"))
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
PHONE, DESKTOP = 390, 1440


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
        "--hide-scrollbars",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(DESKTOP, 1000)
    yield driver
    driver.quit()
    shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A board with sweeps, seed repeats, a floor, estimated and measured energy."""
    tmp = tmp_path_factory.mktemp("board")
    records = generate(tmp / "records", 720, seed=5, entries=8)
    build_site(tmp / "site", [records], methodology="# Method\n\n| a | b |\n| - | - |\n| " + "x" * 300 + " | y |\n")
    return tmp / "site"


def _open(browser, page: Path, width: int = DESKTOP) -> None:
    browser.set_window_size(width, 1000)
    browser.get(page.as_uri())


def _visible_rows(browser) -> list:
    from selenium.webdriver.common.by import By

    return [r for r in browser.find_elements(By.CSS_SELECTOR, "table.board tbody tr") if r.is_displayed()]


def test_injected_records_run_no_script(tmp_path, browser):
    site, _, _ = build_injected(tmp_path)
    browser.get_log("browser")  # drop earlier messages
    for page in sorted(site.glob("*.html")):
        for width in (DESKTOP, PHONE):
            _open(browser, page, width)
            assert browser.execute_script("return window.__xss === undefined"), page.name
            assert browser.execute_script("return document.querySelectorAll('img[onerror], [onload]').length") == 0
            refused = [m["message"] for m in browser.get_log("browser") if "Refused" in m["message"]]
            assert not refused, (page.name, refused)  # nothing even reached CSP: escaping held on its own
    _open(browser, next(site.glob("task-*.html")))
    count = browser.execute_script("return document.getElementById('count').textContent")
    assert "matching rows" in count  # our own script still runs under the CSP


def test_no_page_overflows_at_390_px(site, browser):
    pages = ["index.html", "methodology.html", "task-ag_news-cpu.html", "entry-synthetic-003.html"]
    for name in pages:
        _open(browser, site / name, PHONE)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE, (name, width)


def test_no_two_chart_labels_overlap(site, browser):
    for width in (DESKTOP, PHONE):
        for page in sorted(site.glob("task-*.html")):
            _open(browser, page, width)
            boxes = browser.execute_script(
                "return Array.from(document.querySelectorAll('svg.pareto')).map(s =>"
                " Array.from(s.querySelectorAll('text.ptlabel')).map(t => {const r = t.getBoundingClientRect();"
                " return [r.left, r.top, r.right, r.bottom];}))"
            )
            assert any(boxes), page.name
            for chart in boxes:
                for i, a in enumerate(chart):
                    for b in chart[i + 1 :]:
                        overlap = a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5
                        assert not overlap, (page.name, width, a, b)


def test_search_and_filters_change_the_rows(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site / "task-ag_news-cpu.html")
    everything = len(_visible_rows(browser))
    search = browser.find_element(By.ID, "search")
    search.send_keys("synthetic-003")
    rows = _visible_rows(browser)
    assert 0 < len(rows) < everything and all("synthetic-003" in r.text for r in rows)
    search.clear()
    search.send_keys(" ")  # clear() fires no input event
    browser.find_element(By.ID, "f-front").click()
    front = _visible_rows(browser)
    assert 0 < len(front) < everything and all(r.get_attribute("data-front") is not None for r in front)
    browser.find_element(By.ID, "f-front").click()
    browser.find_element(By.ID, "f-baseline").click()
    assert not [r for r in _visible_rows(browser) if r.get_attribute("data-baseline") is not None]
    browser.find_element(By.ID, "f-measured").click()
    measured = _visible_rows(browser)
    assert 0 < len(measured) < everything and all(r.get_attribute("data-measured") is not None for r in measured)
    boxes = browser.find_elements(By.CSS_SELECTOR, "input.cmp")
    for box in [b for b in boxes if b.is_displayed()][:2]:
        box.click()
    browser.find_element(By.ID, "compare").click()
    assert browser.find_element(By.CSS_SELECTOR, "#comparison table.compare").is_displayed()


def test_accuracy_sorts_descending_first(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site / "task-ag_news-cpu.html")

    def column(key: str) -> list[float]:
        index = browser.execute_script(
            f"return Array.from(document.querySelectorAll('#board thead th')).findIndex(t => t.dataset.key === '{key}')"
        )
        cells = [r.find_elements(By.CSS_SELECTOR, "th, td")[index].text for r in _visible_rows(browser)]
        return [float(v.split()[0].replace(",", "")) for v in cells if v[:1].isdigit()]

    header = browser.find_element(By.CSS_SELECTOR, "#board th[data-key='accuracy']")
    assert header.get_attribute("aria-sort") == "descending"  # the default sort is shown
    values = column("accuracy")
    assert values == sorted(values, reverse=True)
    browser.find_element(By.CSS_SELECTOR, "#board th[data-key='energy_kwh_per_1k'] button").click()
    energy = column("energy_kwh_per_1k")
    assert energy == sorted(energy)  # lower is better: cheapest first
    header.find_element(By.TAG_NAME, "button").click()
    assert header.get_attribute("aria-sort") == "descending"
    values = column("accuracy")
    assert values == sorted(values, reverse=True)


def test_download_links_resolve_to_files_that_parse(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site / "task-ag_news-cpu.html")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "footer a[download]")]
    assert len(links) == 3
    for link in links:
        path = Path(link.removeprefix("file://"))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
            assert rows and float(rows[0]["accuracy"]) > 0
        elif path.suffix == ".json":
            assert json.loads(text)["points"]
        else:
            assert all(json.loads(line)["job_key"] for line in text.splitlines())


def test_seed_pair_renders_as_one_point_with_error_bars(tmp_path, browser):
    from selenium.webdriver.common.by import By

    records = generate(tmp_path / "r", 180, seed=3, entries=2)  # majority-class + one entry, 15 turns per board
    keep = [p for p in sorted(records.rglob("run.json")) if "/ag_news/cpu/synthetic-001/" in str(p)]
    pair = [p for p in keep if json.loads(p.read_text())["submission"]["params"]["width"] == 0]
    assert len(pair) == 2 and {json.loads(p.read_text())["config"]["seed"] for p in pair} == {0, 1}
    for path in keep:
        if path not in pair:
            shutil.rmtree(path.parent)
    build_site(tmp_path / "site", [records])
    _open(browser, tmp_path / "site" / "task-ag_news-cpu.html")
    chart = browser.find_elements(By.CSS_SELECTOR, "svg.pareto")[0]
    assert len(chart.find_elements(By.CSS_SELECTOR, ".pt")) == 1
    assert len(chart.find_elements(By.CSS_SELECTOR, "path.err")) == 1
    rows = [r for r in _visible_rows(browser) if "synthetic-001" in r.text]
    assert len(rows) == 1 and "2 seeds" in rows[0].text
    chart.find_element(By.CSS_SELECTOR, ".pt").click()  # a tap shows the point's figures
    tip = browser.find_elements(By.CSS_SELECTOR, "p.tip")[0]
    assert tip.is_displayed() and "mean of 2 seeds" in tip.text


def test_screenshots_of_every_page_type(site, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "task-ag_news-cpu.html", "entry-synthetic-003.html", "methodology.html"):
        for width in (DESKTOP, PHONE):
            _open(browser, site / name, width)
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(width, min(height, 3000))
            shot = ARTIFACTS / f"leaderboard-{name[:-5]}-{width}.png"
            assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 5_000


CONTRAST_JS = """
function lum(c) {
  const m = c.match(/[\\d.]+/g).map(Number);
  const [r, g, b] = m.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const bg = getComputedStyle(e).backgroundColor;
    if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
  }
  return 'rgb(255, 255, 255)';
}
const bad = [];
for (const el of document.querySelectorAll('body *')) {
  const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || el.closest('[hidden]') || el.closest('svg.defs')) continue;
  const style = getComputedStyle(el);
  const ink = el instanceof SVGElement ? style.fill : style.color;
  if (!ink.startsWith('rgb')) continue;
  const [a, b] = [lum(ink), lum(background(el))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) bad.push([el.tagName, el.className.baseVal ?? el.className, el.textContent.slice(0, 30), ratio.toFixed(2)]);
}
return bad;
"""


def test_text_contrast_is_at_least_4_5(site, browser):
    for name in ("index.html", "task-ag_news-cpu.html", "entry-synthetic-003.html"):
        _open(browser, site / name)
        assert browser.execute_script(CONTRAST_JS) == [], name


def test_table_header_and_first_column_stick(site, browser):
    _open(browser, site / "task-ag_news-cpu.html", PHONE)
    moved = browser.execute_script(
        "const w = document.querySelector('.tablewrap'); w.scrollTop = 400; w.scrollLeft = 300;"
        "const head = document.querySelector('#board thead th:nth-child(3)').getBoundingClientRect();"
        "const first = document.querySelector('#board tbody tr th').getBoundingClientRect();"
        "const box = w.getBoundingClientRect();"
        "return [w.scrollTop, w.scrollLeft, head.top - box.top, first.left - box.left];"
    )
    assert moved[0] > 0 and moved[1] > 0  # the table did scroll both ways
    assert abs(moved[2]) < 2 and abs(moved[3]) < 2  # yet the header row and the entry column stayed put
