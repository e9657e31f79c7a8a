"""compare() and sweep(): common random numbers, paired intervals, executors agree."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import crmsim
import crmsim.experiment as experiment
from crmsim.errors import ScenarioError
from crmsim.experiment import compare, sweep


@pytest.fixture
def pair(retail_small):
    base = retail_small.with_overrides({"customers.initial": 200, "horizon": 90})
    return {"base": base, "better": base.with_overrides({"satisfaction.service_quality": 0.8})}


def test_table_and_differences(pair):
    cmp = compare(pair, replications=4, seed=3, progress=False)
    assert set(cmp.kpis.columns) == {"scenario", "replication", "seed", "kpi", "value"}
    table = cmp.table
    assert table.loc[("base", "churned"), "n"] == 4
    row = table.loc[("better", "revenue")]
    assert row["low"] <= row["mean"] <= row["high"]
    diff = cmp.differences.loc[("better", "churned")]
    wide = cmp.per_replication("churned")
    assert wide.shape == (4, 2) and list(wide.index) == [0, 1, 2, 3]
    assert diff["mean"] == pytest.approx((wide["better"] - wide["base"]).mean())
    assert diff["high"] < 0  # better service: fewer churners, paired
    assert cmp.differences.loc[("better", "acquired"), "mean"] == 0  # CRN: same acquisitions


def test_serial_and_processes_agree_exactly(pair):
    serial = compare(pair, replications=3, seed=9, progress=False)
    pooled = compare(pair, replications=3, seed=9, executor="processes", jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial.kpis, pooled.kpis)


def _assert_same_tables(expected: experiment.Comparison, got: experiment.Comparison) -> None:
    assert list(got.tables) == list(expected.tables) and expected.tables
    for run, tables in expected.tables.items():
        assert list(got.tables[run]) == list(tables)
        for name, table in tables.items():
            pd.testing.assert_frame_equal(got.tables[run][name], table, check_exact=True)


def test_a_kept_executor_reuses_its_workers_and_gives_identical_tables(pair):
    """One pool across calls (the same worker processes), the same tables as a serial run,
    KPIs only unless tables are asked for."""
    serial = compare(pair, replications=3, seed=9, progress=False, tables=True)
    assert set(serial.tables[("better", 2)]) >= {"events", "customers", "timeseries"}
    with crmsim.executor(jobs=2) as ex:
        first = compare(pair, replications=3, seed=9, executor=ex, progress=False, tables=True)
        workers = ex.pids
        second = compare(pair, replications=3, seed=9, executor=ex, progress=False)
        grid = sweep(pair["base"], {"service.agents": [2, 3]}, replications=2, seed=9,
                     executor=ex, progress=False)
        assert len(workers) == 2 and ex.pids == workers  # the same processes every call
        with pytest.raises(ScenarioError, match="jobs = 3: this executor has 2"):
            compare(pair, replications=1, executor=ex, jobs=3, progress=False)
    assert ex.closed and ex.pids == []
    with pytest.raises(ScenarioError, match="closed"):
        compare(pair, replications=1, executor=ex, progress=False)
    _assert_same_tables(serial, first)
    pd.testing.assert_frame_equal(serial.kpis, first.kpis)
    pd.testing.assert_frame_equal(serial.kpis, second.kpis)
    assert second.tables == {}  # KPIs only by default
    pd.testing.assert_frame_equal(grid, sweep(pair["base"], {"service.agents": [2, 3]},
                                              replications=2, seed=9, progress=False))


def test_a_scenario_travels_once_and_a_replication_as_its_seed(pair):
    """Each distinct scenario is pickled once per call; a task carries no scenario."""
    from crmsim.executors import _run_shipped, _ship

    tasks = [experiment.Task(label, k, sc, 5) for label, sc in pair.items() for k in range(6)]
    shipped = _ship(tasks)
    blobs = {id(blob) for _, _, blob in shipped}
    assert len(blobs) == 2  # one pickle per scenario, shared by its six tasks
    assert all(shell.scenario is None for shell, _, _ in shipped)
    scenario_bytes = len(pickle.dumps(pair["base"]))
    assert all(len(pickle.dumps(shell)) < scenario_bytes / 4 for shell, _, _ in shipped)
    shell, key, blob = shipped[7]
    assert _run_shipped(experiment.run_task, shell, key, blob) == experiment.run_task(tasks[7])


def test_tables_asked_for_by_a_wrong_name(pair, monkeypatch):
    """A wrong table name is refused before any replication runs (it used to be found after
    the whole experiment), naming the scenario and the tables it has; so is a non-scenario."""
    def no_run(*args, **kwargs):
        raise AssertionError("a replication ran")

    monkeypatch.setattr(experiment, "execute", no_run)
    with pytest.raises(ScenarioError, match="no table 'event' in scenario 'base'; "
                                            "tables: events, customers"):
        compare(pair, replications=1, tables=["events", "event"], progress=False)
    with pytest.raises(ScenarioError, match="no table 'campaigns'.*tables: events"):
        compare(pair, replications=1, tables=["campaigns"], progress=False)  # campaigns off
    with pytest.raises(ScenarioError, match="tables = 3"):
        compare(pair, replications=1, tables=3, progress=False)
    with pytest.raises(TypeError, match="scenario 'better' is a str"):
        compare({"base": pair["base"], "better": "retail_better_service"}, replications=1,
                progress=False)


def test_a_runs_table_names_are_known_before_it_runs():
    from crmsim.simulation import table_names

    for name in ("retail_baseline", "retail_campaigns", "churn_warning_winback"):
        scenario = crmsim.load_scenario(name).with_overrides(
            {"customers.initial": 60, "horizon": 200, "acquisition.rate": 1})
        assert table_names(scenario) == tuple(crmsim.simulate(scenario, 1).table_names), name
    assert "campaigns" in table_names(crmsim.load_scenario("retail_campaigns"))
    assert "campaigns" not in table_names(crmsim.load_scenario("retail_baseline"))


def test_dask_local_cluster_agrees(pair):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            on_dask = compare(pair, replications=2, seed=9, executor=client, progress=False,
                              tables=True)
    serial = compare(pair, replications=2, seed=9, progress=False, tables=True)
    pd.testing.assert_frame_equal(serial.kpis, on_dask.kpis)
    _assert_same_tables(serial, on_dask)


def test_replication_k_uses_the_same_child_seed_for_every_scenario(pair):
    cmp = compare(pair, replications=3, seed=5, progress=False)
    initial_rev = cmp.per_replication("acquired")
    assert (initial_rev["base"] == initial_rev["better"]).all()
    direct = experiment.simulate(pair["base"], np.random.SeedSequence(5).spawn(3)[2]).kpis
    got = cmp.kpis.query("scenario == 'base' and replication == 2").set_index("kpi")["value"]
    assert got["revenue"] == pytest.approx(direct["revenue"])


def test_common_random_numbers_reduce_variance(pair):
    """Paired differences under CRN vary less than differences of independent runs."""
    crn = compare(pair, replications=8, seed=1, progress=False)
    paired_sd = crn.differences.loc[("better", "revenue"), "sd"]
    independent = compare({"better": pair["better"]}, replications=8, seed=2, progress=False)
    base = crn.kpis.query("scenario == 'base' and kpi == 'revenue'")["value"].to_numpy()
    other = independent.kpis.query("kpi == 'revenue'")["value"].to_numpy()
    assert paired_sd < 0.5 * np.std(other - base, ddof=1)


def test_a_failed_replication_is_reported_and_the_others_kept(pair, monkeypatch):
    real = experiment.simulate

    def flaky(scenario, seed):
        if seed.spawn_key == (1,):
            raise RuntimeError("boom")
        return real(scenario, seed)

    monkeypatch.setattr(experiment, "simulate", flaky)
    cmp = compare(pair, replications=3, seed=0, progress=False)
    assert len(cmp.failures) == 2  # replication 1 of both scenarios
    assert set(cmp.failures["replication"]) == {1}
    assert "RuntimeError: boom" in cmp.failures["error"].iloc[0]
    assert set(cmp.kpis["replication"]) == {0, 2}


def test_sweep_is_tidy_with_one_column_per_key(pair):
    table = sweep(pair["base"], {"satisfaction.service_quality": [0.6, 0.8],
                                 "acquisition.rate": [0.0, 1.0]}, replications=2, seed=0,
                  progress=False)
    assert {"satisfaction.service_quality", "acquisition.rate", "replication", "kpi",
            "value"} <= set(table.columns)
    churned = table[table["kpi"] == "churned"].groupby("satisfaction.service_quality")["value"]
    assert churned.mean()[0.8] < churned.mean()[0.6]
    assert len(table[table["kpi"] == "churned"]) == 2 * 2 * 2


def test_bad_arguments(pair):
    with pytest.raises(ScenarioError, match="replications = 0"):
        compare(pair, replications=0)
    with pytest.raises(ScenarioError, match="executor = 'threads'"):
        compare(pair, replications=1, executor="threads", progress=False)
    with pytest.raises(ScenarioError, match="unknown key"):
        sweep(pair["base"], {"service.agnets": [1, 2]}, replications=1)


def test_sequential_replications_stop_at_the_target(pair):
    cmp = compare(pair, replications=2, seed=0, progress=False, target_halfwidth=0.02,
                  max_replications=32)
    assert 2 < cmp.replications <= 32
    assert cmp.precise(0.02, ("profit",)) or cmp.replications == 32
    assert set(cmp.kpis["replication"]) == set(range(cmp.replications))
    with pytest.raises(ScenarioError, match="target_halfwidth"):
        compare(pair, replications=2, target_halfwidth=-1, progress=False)


def test_variance_reduction_is_reported(pair):
    cmp = compare(pair, replications=6, seed=1, progress=False)
    vr = cmp.variance_reduction().loc[("better", "revenue")]
    assert vr["paired_variance"] < vr["independent_variance"]
    assert 0.5 < vr["reduction"] <= 1


def test_interval_coverage_on_a_toy_kpi_with_a_known_mean():
    """churned ~ Binomial(n, p) with one renewal: the 95% t-interval that Comparison.table
    reports covers n·p ≈ 95% of the time over 200 experiments of 5 replications (a z-interval
    or a missing √n would not)."""
    from crmsim.experiment import summarize
    from crmsim.scenario import Scenario

    n, p = 40, 0.3
    toy = Scenario().with_overrides({"market.setting": "contractual", "contract.period": 1,
                                     "horizon": 1.5, "customers.initial": n, "churn.base": p})
    runs = compare({"toy": toy}, replications=1000, seed=0, progress=False).kpis
    churned = runs[runs["kpi"] == "churned"].assign(experiment=lambda d: d["replication"] // 5)
    intervals = summarize(churned, ["experiment"])
    assert (intervals["n"] == 5).all() and len(intervals) == 200
    coverage = ((intervals["low"] <= n * p) & (n * p <= intervals["high"])).mean()
    assert 0.91 <= coverage <= 0.99
