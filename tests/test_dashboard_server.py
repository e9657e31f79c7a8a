"""The dashboard's server side without a browser: the process pool, the size limit, uploads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import crmsim
from crmsim.controls import levers
from crmsim.dashboard import jobs
from crmsim.dashboard.config import Settings
from crmsim.dashboard.pool import RunPool
from crmsim.dashboard.uploads import load_uploaded


@pytest.fixture
def small():
    return crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 120, "horizon": 60, "acquisition.rate": 1.0})


def test_runs_happen_in_worker_processes_and_match_a_direct_run(small):
    pool = RunPool(workers=1)
    try:
        view = pool.submit(jobs.run_job, small, 3).result(timeout=120)
    finally:
        pool.shutdown()
    assert view.worker != os.getpid()
    direct = crmsim.simulate(small, 3).kpis  # same seed, same numbers (NaN where undefined)
    assert pd.Series(view.kpis).equals(pd.Series(direct))
    assert set(view.images) == {"lifecycle", "money", "survival", "loyalty"}
    assert all(png.startswith(b"\x89PNG") for png in view.images.values())
    assert view.kpi_table()["value"].ne(0).all()


def test_a_scenario_with_a_desk_gets_the_desk_plot():
    desk = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 80, "horizon": 30})
    assert "desk" in jobs.run_job(desk, 1).images


def test_the_comparison_is_paired_against_the_unchanged_scenario(small):
    variant = small.with_overrides({"economics.fixed_cost": 4})
    view = jobs.compare_job(small, variant, replications=2, seed=5)
    profit = view.differences.loc["profit"]
    assert (profit["mean"], profit["low"], profit["high"]) == pytest.approx((-240, -240, -240))
    assert list(view.side_by_side.columns) == [jobs.BASELINE, jobs.VARIANT]


def test_queue_positions(small):
    pool = RunPool(workers=1)
    try:
        futures = [pool.submit(time.sleep, 1) for _ in range(4)]
        # the first runs as soon as the worker is up; the last waits for three to finish
        assert [pool.ahead_of(f) for f in futures] == [0, 1, 2, 3]
        for f in futures:
            f.result(timeout=60)
        assert pool.ahead_of(futures[-1]) == 0
    finally:
        pool.shutdown()


def test_workers_end_when_the_server_is_killed():
    code = ("import os, sys, time\n"
            "from crmsim.dashboard.pool import RunPool\n"
            "pool = RunPool(workers=1)\n"
            "print(pool.submit(os.getpid).result(), flush=True)\n"
            "time.sleep(600)\n")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    worker = int(server.stdout.readline())
    os.kill(worker, 0)  # alive
    server.send_signal(signal.SIGKILL)  # no orderly shutdown of the pool
    server.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(worker, signal.SIGKILL)
    pytest.fail(f"worker {worker} outlived its server")


def test_requests_above_the_limit_are_refused(small):
    assert jobs.expected_customers(small) == 120 + 60
    assert jobs.size_problem(small, runs=10, limit=1800) is None
    message = jobs.size_problem(small, runs=11, limit=1800)
    assert message.startswith("too large for this classroom server: 11 run(s) × about 180 "
                              "customers = 1,980 customers, the limit is 1,800")
    market = small.with_overrides({"acquisition.market_size": 150, "acquisition.rate": 0,
                                   "acquisition.innovation": 0.01})
    assert jobs.expected_customers(market) == 150


def test_settings_travel_through_the_environment(tmp_path, monkeypatch):
    settings = Settings(workers=3, max_customers=5000, league=tmp_path)
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert Settings.from_env() == settings
    with pytest.raises(crmsim.ScenarioError, match="--workers = 0"):
        Settings(workers=0)


def test_an_upload_may_extend_a_shipped_scenario():
    scenario = load_uploaded("week3.yaml", "extends: retail_points.yaml\nhorizon: 90\n")
    assert scenario.horizon == 90 and scenario.rewards.enabled
    assert scenario.source == "week3.yaml" and scenario.name == "week3"
    assert [c.key for c in levers(scenario)][:3] == ["customers.initial", "horizon",
                                                     "satisfaction.service_quality"]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("typo.yaml", "satisfaction:\n  servce_quality: 0.9\n",
     "typo.yaml: unknown key 'satisfaction.servce_quality' (did you mean "
     "'satisfaction.service_quality'?)"),
    ("range.yaml", "satisfaction:\n  adaptation: 2\n", "range.yaml: satisfaction.adaptation = 2"),
    ("broken.yaml", "satisfaction: [\n", "broken.yaml: malformed YAML at line 2"),
    ("parent.yaml", "extends: nowhere.yaml\n", "parent.yaml: extends = 'nowhere.yaml': file "
                                                "not found (looked for 'nowhere.yaml')"),
    ("notes.txt", "horizon: 10\n", "notes.txt: not a YAML file"),
])
def test_upload_errors_read_like_the_cli(name, text, message):
    with pytest.raises(crmsim.ScenarioError) as caught:
        load_uploaded(name, text, len(text))
    assert str(caught.value).startswith(message)


def test_an_oversized_upload_is_refused_before_reading():
    with pytest.raises(crmsim.ScenarioError, match="at most 200,000"):
        load_uploaded("big.yaml", None, 5_000_000)
