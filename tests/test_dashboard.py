"""The classroom dashboard in a real browser: ``crmsim dashboard`` driven by Playwright.

The server is the real command (``crmsim dashboard --port N``) started as a subprocess, so the
test covers what a student gets: the Solara page, the process pool behind it and the
leaderboard folder of a real tournament. The browser is Debian's chromium (``make test`` and
``.ci/run`` install it; Playwright's own browser download is not used). Chinese labels render
with the Noto Sans CJK font that mplfonts ships, made visible to chromium through fontconfig.

Runs are kept small by uploading a small scenario first (the upload is itself under test). A
screenshot of every view is saved under ``out/test-results/<test name>/``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from crmsim import tournament

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT = 90_000  # ms: a cold worker start and a run on a busy 2-core machine

SMALL = """\
extends: retail_baseline.yaml
name: small_shop
customers:
  initial: 300
horizon: 120
acquisition:
  rate: 1.0
"""
TYPO = """\
extends: retail_baseline.yaml
satisfaction:
  servce_quality: 0.9
"""
HUGE = """\
extends: retail_baseline.yaml
name: huge_shop
customers:
  initial: 500000
"""
INTERVAL = re.compile(r"^([+-]?[\d,.]+) \[([+-]?[\d,.]+), ([+-]?[\d,.]+)\]$")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def league(tmp_path_factory) -> Path:
    """A real tournament's output: the example class and its three submissions."""
    folder = tmp_path_factory.mktemp("league")
    tournament.write_example(folder / "class")
    result = tournament.run_tournament(folder / "class" / "class.yaml",
                                       folder / "class" / "submissions", progress=False)
    result.write(folder / "league")
    return folder / "league"


@dataclass
class Server:
    url: str
    pid: int  # `crmsim dashboard` replaces itself by the Solara server: the same process


@pytest.fixture(scope="module")
def server(league, tmp_path_factory):
    """``crmsim dashboard`` on a free port, in its own process group; stopped at the end."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "crmsim.cli", "dashboard", "--port", str(port),
             "--host", "127.0.0.1", "--workers", "2", "--league", str(league)],
            stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start:\n{log.read_text()}")
            time.sleep(0.5)
        assert f"open http://localhost:{port}" in log.read_text()
        yield Server(url, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install "
                    "chromium); the browser tests do not skip")
    from playwright.sync_api import sync_playwright

    fonts = Path(str(files("mplfonts") / "fonts"))
    config = tmp_path_factory.mktemp("fontconfig") / "fonts.conf"
    config.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{fonts}</dir>
  <cachedir>{config.parent / "cache"}</cachedir>
</fontconfig>
""")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            env={**os.environ, "FONTCONFIG_FILE": str(config)})
        yield chromium
        chromium.close()


@pytest.fixture
def shots(request) -> Path:
    """This test's output folder for screenshots."""
    folder = ROOT / "out" / "test-results" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto(server.url)
    page.locator(".crmsim-run").wait_for()
    yield page
    context.close()


TABS = (".crmsim-results", ".crmsim-comparison", ".crmsim-league")


def shoot(page, tab: str, path: Path) -> None:
    """Screenshot once the tab switch has finished sliding (the other tabs hidden)."""
    for other in TABS:
        if other != tab:
            page.locator(other).wait_for(state="hidden")
    page.screenshot(path=path, full_page=True)


def upload(page, name: str, text: str) -> None:
    page.locator(".crmsim-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/yaml", "buffer": text.encode()}])


def profit(page) -> str:
    return page.locator(".crmsim-profit").inner_text()


def worker_of(page, selector: str = ".crmsim-finished") -> int:
    """The process id the page reports for the last result."""
    return int(re.search(r"(?:worker process|工作进程) (\d+)",
                         page.locator(selector).inner_text()).group(1))


def run_and_wait(page, previous: str | None = None) -> str:
    """Press Run and return the printed profit once a new result is shown."""
    page.locator(".crmsim-run").click()
    page.locator(".crmsim-profit").wait_for()
    if previous is not None:
        page.wait_for_function(
            "previous => document.querySelector('.crmsim-profit').innerText !== previous",
            arg=previous)
    page.locator(".crmsim-progress").wait_for(state="detached")
    return profit(page)


def move_slider(page, key: str, fraction: float) -> float:
    """Click the slider of a dotted key at ``fraction`` of its track; returns the value the
    page then shows in the slider's label ('Service quality: 0.96')."""
    selector = f".lever-{key.replace('.', '-')} .v-label"
    before = page.locator(selector).inner_text()
    track = page.locator(f".lever-{key.replace('.', '-')} .v-slider")
    box = track.bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    page.wait_for_function(
        "([selector, before]) => document.querySelector(selector).innerText !== before",
        arg=[selector, before])
    return float(page.locator(selector).inner_text().rsplit(":", 1)[1])


def test_the_page_loads_with_the_default_scenario(page, shots):
    assert "crmsim classroom" in page.locator(".v-toolbar").inner_text()
    quality = page.locator(".lever-satisfaction-service_quality").inner_text()
    assert "Service quality: 0.7" in quality  # retail_baseline's own value
    assert page.locator(".crmsim-lever").count() >= 10
    assert "Move the levers" in page.locator(".crmsim-results").inner_text()
    shoot(page, ".crmsim-results", shots / "start.png")


def test_moving_service_quality_and_running_changes_the_profit(page, server, shots):
    upload(page, "small_shop.yaml", SMALL)
    page.locator(".crmsim-uploaded").wait_for()
    assert "small_shop.yaml" in page.locator(".crmsim-uploaded").inner_text()
    first = run_and_wait(page)
    assert first.startswith("Profit: ")
    assert "small_shop, seed 1" in page.locator(".crmsim-results").inner_text()
    assert worker_of(page) != server.pid  # simulated in the pool, not in the web server
    assert move_slider(page, "satisfaction.service_quality", 0.95) > 0.9
    second = run_and_wait(page, previous=first)
    # near-perfect service costs more than it brings (satisfaction.quality_cost)
    assert _number(second.split(":")[1]) < _number(first.split(":")[1])
    images = page.locator(".crmsim-results img")
    assert images.count() >= 4  # lifecycle, money, survival, churn by loyalty type
    assert "npv_profit" in page.locator(".crmsim-kpis").inner_text()
    assert page.get_by_text("customers.csv").count() == 1
    shoot(page, ".crmsim-results", shots / "results.png")


def test_an_invalid_upload_shows_the_error_naming_the_key(page, shots):
    upload(page, "typo.yaml", TYPO)
    error = page.locator(".crmsim-upload-error")
    error.wait_for()
    text = error.inner_text()
    assert "crmsim: error: typo.yaml: unknown key 'satisfaction.servce_quality'" in text
    assert "did you mean 'satisfaction.service_quality'" in text
    shoot(page, ".crmsim-results", shots / "upload_error.png")


def test_a_run_above_the_size_limit_is_refused(page, shots):
    upload(page, "huge_shop.yaml", HUGE)
    page.locator(".crmsim-uploaded").wait_for()
    page.locator(".crmsim-run").click()
    refusal = page.locator(".crmsim-refusal")
    refusal.wait_for()
    assert "too large for this classroom server" in refusal.inner_text()
    assert page.locator(".crmsim-profit").count() == 0
    shoot(page, ".crmsim-results", shots / "refused.png")


def test_the_comparison_shows_paired_intervals(page, server, shots):
    upload(page, "small_shop.yaml", SMALL)
    page.locator(".crmsim-uploaded").wait_for()
    move_slider(page, "satisfaction.service_quality", 0.95)
    page.locator(".crmsim-compare").click()
    table = page.locator(".crmsim-differences")
    table.wait_for()
    rows = {}
    for row in table.locator("tbody tr").all():
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        rows[cells[0]] = cells
    difference = INTERVAL.match(rows["npv_profit"][3])
    assert difference, rows["npv_profit"]
    mean, low, high = (_number(g) for g in difference.groups())
    assert low <= mean <= high and high < 0  # near-perfect service: reliably less profit
    assert rows["npv_profit"][4] == "reliably lower"
    assert INTERVAL.match(rows["npv_profit"][1]) and INTERVAL.match(rows["npv_profit"][2])
    assert worker_of(page, ".crmsim-compare-note") != server.pid
    shoot(page, ".crmsim-comparison", shots / "comparison.png")


def test_the_leaderboard_tab_lists_the_teams_in_order(page, league, shots):
    page.locator(".crmsim-tab-leaderboard").click()
    table = page.locator(".crmsim-leaderboard")
    table.wait_for()
    teams = [row.locator("td").nth(1).inner_text().strip()
             for row in table.locator("tbody tr").all()]
    expected = list(pd.read_csv(league / "leaderboard.csv")["team"])
    assert teams == expected
    assert teams == ["Blue whales (蓝鲸队)", "Green dragons (青龙队)", "Red pandas (小熊猫队)"]
    text = table.inner_text()
    assert "leader" in text and "disqualified" in text
    shoot(page, ".crmsim-league", shots / "leaderboard.png")


def test_the_chinese_switch_relabels_the_page(page, shots):
    from playwright.sync_api import expect

    page.locator(".crmsim-lang-zh").click()
    page.get_by_text("服务质量: 0.7").wait_for()
    # the page relabels element by element: wait for the button, then check its exact label
    expect(page.locator(".crmsim-run")).to_have_text("运行", timeout=TIMEOUT)
    assert page.locator(".crmsim-run").inner_text().strip() == "运行"
    upload(page, "small_shop.yaml", SMALL)
    page.locator(".crmsim-uploaded").wait_for()
    text = run_and_wait(page)
    assert text.startswith("利润: ")
    assert "利润净现值 (npv_profit)" in page.locator(".crmsim-kpis").inner_text()
    shoot(page, ".crmsim-results", shots / "results_zh.png")


def test_one_students_long_comparison_does_not_hold_up_anothers_run(browser, server, shots):
    """Two sessions: a long comparison of the full-size default scenario is still running
    when the other student's small run comes back, from a worker process of the pool (the
    web server never simulates)."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000})
                for _ in range(2)]
    try:
        busy, quick = (c.new_page() for c in contexts)
        for p in (busy, quick):
            p.set_default_timeout(TIMEOUT)
            p.goto(server.url)
            p.locator(".crmsim-run").wait_for()
        busy.locator(".crmsim-seed input").fill("3")
        replications = busy.get_by_label("Replications (compare)")
        replications.fill("8")
        replications.press("Enter")
        busy.locator(".crmsim-compare").click()
        busy.locator(".crmsim-progress").wait_for()
        upload(quick, "small_shop.yaml", SMALL)
        quick.locator(".crmsim-uploaded").wait_for()
        run_and_wait(quick)
        assert worker_of(quick) != server.pid
        assert busy.locator(".crmsim-progress").count() == 1  # still comparing
        assert busy.locator(".crmsim-differences").count() == 0
        shoot(quick, ".crmsim-results", shots / "quick.png")
        shoot(busy, ".crmsim-comparison", shots / "busy.png")
    finally:
        for c in contexts:
            c.close()
