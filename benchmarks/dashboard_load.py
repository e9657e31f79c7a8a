"""How many students can press Run at once? A load test of ``crmsim dashboard`` in a browser.

    python benchmarks/dashboard_load.py                 # 1, 2, 4, 8 and 16 sessions
    python benchmarks/dashboard_load.py --sessions 4 20 --workers 2

Starts the real server (``crmsim dashboard --workers W``), opens N browser sessions (separate
Playwright contexts in Debian's chromium, so N separate Solara sessions), lets them all press
Run on the default scenario (retail_baseline: 2,000 customers at the start, about 3,100 in the
year) within a few milliseconds, and reports for each N the median and the worst time from the
click to the printed profit, as each page measured it (``Date.now()`` in the page), and from
the server receiving the click to the result being ready, as the server logged it. The browser
runs on the same machine and competes for its cores, so the times are on the pessimistic side
of a classroom, where every student's browser runs on their own laptop. The CPU seconds the
web server and its workers spent per run (page loads included for the server) give the
capacity of dedicated cores; ``load`` is the machine's 1-minute load average after the round.

Not a test: timing decides nothing in the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

WATCH = """() => {
    window.__done = null;
    const seen = () => document.querySelector('.crmsim-profit');
    new MutationObserver((_, observer) => {
        if (seen()) { window.__done = Date.now(); observer.disconnect(); }
    }).observe(document.body, {childList: true, subtree: true});
    window.__t0 = Date.now();
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "crmsim.cli", "dashboard", "--port", str(port), "--host",
             "127.0.0.1", "--workers", str(workers)], cwd=ROOT, start_new_session=True,
            stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return process, url
        except OSError:
            time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("the dashboard did not start")


def cpu_seconds(group: int) -> tuple[float, float]:
    """CPU seconds used so far by the web server process and by its workers (the processes
    of its process group: the fork server and the pool's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    server = workers = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) != group:  # pgrp
            continue
        used = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        if int(entry.name) == group:
            server += used
        else:
            workers += used
    return server, workers


FINISHED = re.compile(r"crmsim dashboard: run of \S+: ([\d.]+) s queued, ([\d.]+) s to the result")


def server_times(log: Path, skip: int) -> list[float]:
    """Seconds from the server receiving Run to its result being ready, for the runs the
    server logged after the first ``skip`` (the server's own view: no browser in it)."""
    found = FINISHED.findall(log.read_text())
    return [float(total) for _, total in found[skip:]]


def one_round(browser, url: str, sessions: int) -> list[float]:
    """Seconds from Run to the printed profit, one per session (all pressed together)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900})
                for _ in range(sessions)]
    try:
        pages = []
        for context in contexts:
            page = context.new_page()
            page.set_default_timeout(600_000)
            page.goto(url)
            page.locator(".crmsim-run").wait_for()
            pages.append(page)
        for page in pages:
            page.evaluate(WATCH)
            page.locator(".crmsim-run").click()
        times = []
        for page in pages:
            page.wait_for_function("() => window.__done !== null")
            times.append(page.evaluate("() => (window.__done - window.__t0) / 1000"))
        return times
    finally:
        for context in contexts:
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--nice-browser", action="store_true",
                        help="run chromium at the lowest CPU priority, so that the server and "
                             "its workers get the cores first, as if the browsers ran on the "
                             "students' laptops (the page times then include chromium's waits)")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="crmsim-load-")) / "server.log"
    process, url = start_server(args.workers, log)
    try:
        with sync_playwright() as playwright:
            executable = "/usr/bin/chromium"
            if args.nice_browser:
                wrapper = log.parent / "chromium-nice"
                wrapper.write_text('#!/bin/sh\nexec nice -n 19 /usr/bin/chromium "$@"\n')
                wrapper.chmod(0o755)
                executable = str(wrapper)
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            one_round(browser, url, 1)  # warm up: worker start, first imports
            print(f"crmsim dashboard, {args.workers} workers, {os.cpu_count()} cores; "
                  "retail_baseline, Run pressed in every session at once"
                  + ("; chromium at nice 19" if args.nice_browser else ""))
            print(f"{'sessions':>8} {'page: median s':>15} {'worst s':>8} "
                  f"{'server: median s':>17} {'worst s':>8} {'runs/s':>7} "
                  f"{'server CPU s/run':>17} {'worker CPU s/run':>17} {'load':>5}")
            for sessions in args.sessions:
                server_before, workers_before = cpu_seconds(process.pid)
                logged = len(FINISHED.findall(log.read_text()))
                times = one_round(browser, url, sessions)
                server_after, workers_after = cpu_seconds(process.pid)
                inside = server_times(log, logged)
                print(f"{sessions:>8} {statistics.median(times):>15.1f} {max(times):>8.1f} "
                      f"{statistics.median(inside):>17.1f} {max(inside):>8.1f} "
                      f"{sessions / max(times):>7.2f} "
                      f"{(server_after - server_before) / sessions:>17.2f} "
                      f"{(workers_after - workers_before) / sessions:>17.2f} "
                      f"{os.getloadavg()[0]:>5.1f}", flush=True)
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
