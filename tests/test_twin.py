"""The digital twin: population files in the model core, the twin of a calibration, its
holdout check against the closed forms and the log, the YAML round trip, policies on the twin
and the ``crmsim calibrate`` command."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import crmsim
from crmsim.cli import main
from crmsim.errors import ScenarioError
from crmsim.model.churn import BEFORE_START

DATA = Path(__file__).resolve().parents[1] / "data"
CDNOW = DATA / "cdnow_sample.csv"
CDNOW_OPTIONS = dict(time_col="date", duplicates="keep")


@pytest.fixture(scope="module")
def cdnow():
    return crmsim.calibrate(CDNOW, "1997-09-30", **CDNOW_OPTIONS)


@pytest.fixture(scope="module")
def cdnow_holdout(cdnow):
    return crmsim.holdout(cdnow, CDNOW, "1998-06-30", replications=20, seed=0)


def _write_population(folder: Path, table: pd.DataFrame, name="population.parquet") -> str:
    path = folder / name
    table.to_parquet(path, index=False)
    return str(path)


def _population_scenario(path: str, **overrides) -> crmsim.Scenario:
    return crmsim.Scenario().with_overrides({"market.setting": "noncontractual",
                                             "customers.population": path, **overrides})


# ------------------------------------------------------------ the twin is the fitted model

def test_the_twin_reproduces_the_closed_form_conditional_expectation(cdnow, cdnow_holdout):
    """Issue 19's correctness test: with every β = 0 the twin's mean total of holdout repeat
    transactions (20 runs) has Σ_i E[Y(39) | x_i, t_x,i, T_i] inside its 95% interval."""
    summary = cdnow_holdout.summary
    closed_form = float(cdnow.conditional_expected_purchases(39.0).sum())
    assert summary["expected_repeat"] == pytest.approx(closed_form)
    assert summary["low"] <= closed_form <= summary["high"], summary
    assert summary["high"] - summary["low"] < 0.04 * closed_form  # narrow enough to mean it
    assert summary["replications"] == 20 and len(cdnow_holdout.totals) == 20
    assert summary["spread_low"] < summary["low"] < summary["high"] < summary["spread_high"]
    assert summary["actual_repeat"] == cdnow.report["transactions_after_calibration_end"]
    # by calibration frequency too: each group's twin mean near its closed form
    by_x = cdnow_holdout.by_frequency
    assert np.allclose(by_x["twin"], by_x["expected"], rtol=0.08), by_x
    # the per-customer table sums to the total
    customers = cdnow_holdout.customers
    assert customers["predicted"].sum() == pytest.approx(summary["predicted_repeat"])
    assert customers["actual"].sum() == summary["actual_repeat"]


def test_the_twins_alive_share_is_the_mean_probability_alive(cdnow, cdnow_holdout):
    p = cdnow.summary["p_alive"].to_numpy()
    # sd of one run's alive share (independent Bernoulli draws), then of the 20-run mean
    sd = math.sqrt(np.sum(p * (1 - p))) / len(p) / math.sqrt(20)
    share = cdnow_holdout.summary["alive_share"]
    assert abs(share - p.mean()) < 4 * sd, (share, p.mean(), sd)
    assert cdnow_holdout.summary["mean_p_alive"] == pytest.approx(p.mean())


def test_the_tracking_table_joins_the_actual_calibration_period_and_the_twins_holdout(
        cdnow, cdnow_holdout):
    tracking = cdnow_holdout.tracking.set_index("time")
    end = cdnow.calibration_end
    repeat_in_calibration = int(cdnow.summary["frequency"].sum())
    assert tracking.loc[end, "twin"] == repeat_in_calibration
    assert tracking.loc[:end, "twin"].iloc[:-1].isna().all()
    last = tracking.iloc[-1]
    assert last["twin"] == pytest.approx(repeat_in_calibration
                                         + cdnow_holdout.summary["predicted_repeat"])
    assert last["twin_low"] <= last["twin"] <= last["twin_high"]
    assert (np.diff(tracking.loc[end:, "twin"]) >= 0).all()


def test_holdout_plots_draw(cdnow_holdout, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from crmsim.plots import save_holdout_plots

    ax = cdnow_holdout.tracking_plot()
    assert "数字孪生" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    ax = cdnow_holdout.frequency_plot()
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    paths = save_holdout_plots(cdnow_holdout, tmp_path)
    assert [p.name for p in paths] == ["holdout_tracking.png", "holdout_by_frequency.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


# ------------------------------------------------------ population files in the model core

def test_each_customer_draws_from_its_own_posterior(tmp_path):
    """Alive with P(alive); λ and θ by inverse CDF from the active or the gone customer's
    distribution; a gone customer left at its last purchase, silently."""
    n = 3000
    table = pd.DataFrame({
        "acquired_at": -20.0, "purchases": 3, "last_purchase": -5.0, "p_alive": 0.6,
        "purchase_rate_shape": 4.0, "purchase_rate_rate": 8.0, "purchase_rate_rate_dead": 2.0,
        "churn_propensity_a": 2.0, "churn_propensity_b": 6.0,
        "churn_propensity_a_dead": 5.0, "churn_propensity_b_dead": 1.0,
        "shop_id": [f"c{k}" for k in range(n)]}, index=range(n))
    scenario = _population_scenario(_write_population(tmp_path, table), horizon=1e-6)
    assert scenario.customers.initial == n
    result = crmsim.simulate(scenario, seed=4)
    customers = result.customers
    gone = (customers["churn_reason"] == BEFORE_START).to_numpy()
    alive = ~gone
    assert abs(alive.mean() - 0.6) < 4 * math.sqrt(0.24 / n)
    level = 1e-3
    assert stats.kstest(customers.loc[alive, "purchase_rate"],
                        stats.gamma(4.0, scale=1 / 8.0).cdf).pvalue > level
    assert stats.kstest(customers.loc[gone, "purchase_rate"],
                        stats.gamma(4.0, scale=1 / 2.0).cdf).pvalue > level
    assert stats.kstest(customers.loc[alive, "churn_propensity"],
                        stats.beta(2.0, 6.0).cdf).pvalue > level
    assert stats.kstest(customers.loc[gone, "churn_propensity"],
                        stats.beta(5.0, 1.0).cdf).pvalue > level
    # gone: left at the last purchase, before the run, and nothing in the run caused it
    assert (customers.loc[gone, "churned_at"] == -5.0).all()
    assert (customers.loc[gone, "stage"] == "churned").all()
    assert customers.loc[alive, "churned_at"].isna().all()
    assert (customers["acquired_at"] == -20.0).all() and (customers["purchases"] >= 3).all()
    assert (customers["last_purchase"] >= -5.0).all()
    events = result.events
    assert not (events["kind"] == "churn").any()
    assert result.kpis["churned"] == 0 and result.kpis["initial"] == n
    assert result.kpis["active_end"] == alive.sum() and result.kpis["acquired"] == 0
    acquired = events[events["kind"] == "acquired"]
    assert (acquired["time"] == 0).all() and (acquired["details"] == "population").all()


def test_an_active_customer_resumes_after_a_memoryless_gap_then_decides(tmp_path):
    """The next purchase is Exp(λ) from t = 0 whatever the silence since the last one; the
    drop-out decision after it is Bernoulli(θ); a long silence is decline at once."""
    n = 4000
    last = np.where(np.arange(n) % 2 == 0, -1.0, -30.0)
    table = pd.DataFrame({"acquired_at": -40.0, "purchases": 2, "last_purchase": last})
    scenario = _population_scenario(_write_population(tmp_path, table), horizon=60.0,
                                    **{"purchase.rate": 0.5, "churn.base": 0.3})
    result = crmsim.simulate(scenario, seed=7)
    tx = result.transactions()
    first = tx.groupby("customer_id")["time"].min().reindex(range(n))
    bought = first.notna().to_numpy()
    assert bought.mean() > 0.99  # P(no purchase in 60 at rate 0.5) = e^-30
    for group in (last == -1.0, last == -30.0):
        times = first[group & bought].to_numpy()
        assert stats.kstest(times, stats.expon(scale=2.0).cdf).pvalue > 1e-3
    customers = result.customers.set_index("customer_id")
    left_at_first = (customers["churned_at"].reindex(range(n)).to_numpy()
                     == first.to_numpy())
    share = left_at_first[bought].mean()
    assert abs(share - 0.3) < 4 * math.sqrt(0.21 / bought.sum())
    # the decline stage: a silence of 30 is past 3 mean gaps (6) at t = 0; one of 1 at t = 5
    stages = result.events[result.events["kind"] == "stage"]
    decline = stages[stages["details"] == "decline"].groupby("customer_id")["time"].min()
    long_silence = np.flatnonzero(last == -30.0)
    assert (decline.reindex(long_silence) == 0.0).all()
    short = np.flatnonzero((last == -1.0) & (first.to_numpy() > 5.0 + 1e-9))
    assert decline.reindex(short).to_numpy() == pytest.approx(5.0)


def test_a_customers_traits_and_purchases_do_not_depend_on_the_other_customers(cdnow,
                                                                                tmp_path):
    """Common random numbers: the first 300 customers alone draw what they draw among all."""
    twin = cdnow.scenario.with_overrides({"horizon": 26.0})
    part = _write_population(tmp_path, cdnow.population.iloc[:300])
    alone = twin.with_overrides({"customers.population": part, "customers.initial": 300})
    full, small = crmsim.simulate(twin, seed=11), crmsim.simulate(alone, seed=11)
    columns = ["purchase_rate", "churn_propensity", "spend_level", "churned_at",
               "churn_reason", "purchases", "revenue"]
    pd.testing.assert_frame_equal(full.customers.loc[:299, columns],
                                  small.customers[columns])
    mine = full.transactions()
    pd.testing.assert_frame_equal(mine[mine["customer_id"] < 300].reset_index(drop=True),
                                  small.transactions())
    # and another seed gives other traits
    other = crmsim.simulate(alone, seed=12).customers
    assert not np.allclose(other["purchase_rate"], small.customers["purchase_rate"])


def test_the_firms_records_include_the_history(cdnow):
    """A churn warning reads last purchases before t = 0: its active file holds gone customers
    too (a shop cannot tell them from quiet ones), so some offers come too late."""
    twin = cdnow.scenario.with_overrides({
        "horizon": 12.0, "warning.enabled": True, "warning.every": 4.0,
        "warning.active_window": 52.0, "warning.top_k": 100, "warning.offer_cost": 1.0,
        "warning.response": "uniform"})
    result = crmsim.simulate(twin, seed=3)
    offers = result.kpis["offers"]
    assert 100 <= offers <= 200  # two scans (weeks 4 and 8), one offer per customer
    assert 0 < result.kpis["offers_too_late"] < offers
    customers = result.customers
    history = cdnow.population
    quiet = customers["purchases"].to_numpy() == history["purchases"].to_numpy()
    assert (customers.loc[quiet, "last_purchase"].to_numpy()
            == history.loc[quiet, "last_purchase"].to_numpy()).all()
    assert result.kpis["offer_cost"] == offers * abs(twin.warning.offer_effect)  # per unit


def test_scenarios_without_a_population_ignore_the_new_trait_columns():
    """The new uniforms sit in spare trait columns: an ordinary run draws what it drew."""
    from crmsim.model.market import TRAIT_COLUMNS

    assert TRAIT_COLUMNS[:9] == ("segment", "purchase_rate", "churn_propensity", "spend_rate",
                                 "price_sensitivity", "complaint_propensity",
                                 "initial_expectation", "enrolment", "quality_fit")
    assert TRAIT_COLUMNS[9:] == ("alive", "next_purchase")
    assert crmsim.Scenario().customers.population is None


# ----------------------------------------------------------------- bad population files

BASE = {"acquired_at": [-10.0, -8.0], "purchases": [1, 3], "last_purchase": [-10.0, -2.0],
        "p_alive": [1.0, 0.7]}


@pytest.mark.parametrize("change, expected", [
    ({"drop": "purchases"}, "missing column(s) purchases"),
    ({"rename": ("p_alive", "p_alvie")}, "column 'p_alvie': not a population column (did you "
                                         "mean 'p_alive'?)"),
    ({"set": ("p_alive", [1.0, 1.3])}, "row 1: p_alive = 1.3; allowed: a number from 0 to 1"),
    ({"set": ("p_alive", [0.5, 0.7])}, "row 0: p_alive = 0.5 for a customer with one purchase"),
    ({"set": ("last_purchase", [-10.0, -9.0])}, "row 1: last_purchase = -9.0 with acquired_at "
                                                "= -8.0"),
    ({"set": ("acquired_at", [-10.0, 2.0])}, "row 1: acquired_at = 2.0; allowed: a number ≤ 0"),
    ({"set": ("purchases", [1, 2.5])}, "row 1: purchases = 2.5; allowed: a whole number ≥ 1"),
    ({"set": ("purchase_rate_shape", [1.0, 2.0])}, "column purchase_rate_shape without "
                                                   "purchase_rate_rate"),
    ({"set": ("churn_propensity_a", [1.0, -1.0]), "also": ("churn_propensity_b", [1.0, 1.0])},
     "row 1: churn_propensity_a = -1.0; allowed: a number > 0"),
    ({"rows": 0}, "no rows"),
])
def test_bad_population_files_get_one_clear_line(tmp_path, change, expected):
    table = pd.DataFrame(BASE)
    if "drop" in change:
        table = table.drop(columns=change["drop"])
    if "rename" in change:
        table = table.rename(columns=dict([change["rename"]]))
    for key in ("set", "also"):
        if key in change:
            table[change[key][0]] = change[key][1]
    if "rows" in change:
        table = table.iloc[:0]
    path = _write_population(tmp_path, table)
    with pytest.raises(ScenarioError) as info:
        _population_scenario(path)
    message = str(info.value)
    assert expected in message and "customers.population" in message, message
    assert "\n" not in message


def test_a_population_must_fit_the_rest_of_the_scenario(tmp_path, write):
    path = _write_population(tmp_path, pd.DataFrame(BASE))
    assert _population_scenario(path).customers.initial == 2
    cases = [
        ({"customers.initial": 5}, "initial = 5: the population file has 2 customers"),
        ({"market.setting": "contractual"}, "needs market.setting: noncontractual"),
        ({"customers.segments": {"a": {"share": 0.5}, "b": {"share": 0.5}}},
         "cannot be combined"),
    ]
    for overrides, expected in cases:
        with pytest.raises(ScenarioError, match=None) as info:
            crmsim.Scenario().with_overrides({"market.setting": "noncontractual",
                                              "customers.population": path, **overrides})
        assert expected in str(info.value), str(info.value)
    spend = pd.DataFrame({**BASE, "spend_rate_shape": [3.0, 4.0], "spend_rate_rate": [20, 30]})
    with pytest.raises(ScenarioError, match="purchase.spend must be"):
        _population_scenario(_write_population(tmp_path, spend, "spend.parquet"))
    not_parquet = write("x.parquet", "not a parquet file")
    with pytest.raises(ScenarioError, match="not a readable Parquet file"):
        _population_scenario(str(not_parquet))
    with pytest.raises(ScenarioError, match="file not found"):
        _population_scenario(str(tmp_path / "missing.parquet"))
    with pytest.raises(ScenarioError, match="is a folder"):
        _population_scenario(str(tmp_path))


# ------------------------------------------------------------------ the YAML round trip

def test_to_yaml_round_trip_gives_the_same_runs(cdnow, tmp_path):
    path = cdnow.to_yaml(tmp_path / "twin.yaml")
    text = path.read_text(encoding="utf-8")
    assert (tmp_path / "twin_population.parquet").exists()
    assert "population: twin_population.parquet" in text
    for shown in ("log-likelihood -9582.43", "1997-09-30", "cdnow_sample.csv",
                  "r = 0.2426 (SE 0.013", "946 repeat customers", "Assumed"):
        assert shown in text, shown
    loaded = crmsim.load_scenario(path)
    assert loaded.customers.population == str(tmp_path / "twin_population.parquet")
    assert loaded.purchase.rate.shape == cdnow.params["r"]  # floats written in full
    assert loaded.churn.base.a == cdnow.params["a"]
    in_memory = cdnow.scenario
    for name in ("purchase", "churn", "acquisition", "economics", "horizon", "time_unit"):
        assert getattr(loaded, name) == getattr(in_memory, name), name
    short = {"horizon": 13.0}
    for seed in (1, 2):
        a = crmsim.simulate(in_memory.with_overrides(short), seed=seed)
        b = crmsim.simulate(loaded.with_overrides(short), seed=seed)
        assert json.dumps(a.kpis, sort_keys=True) == json.dumps(b.kpis, sort_keys=True)
        pd.testing.assert_frame_equal(a.customers, b.customers)
        pd.testing.assert_frame_equal(a.events, b.events)
    # the pair of files moves together; a file elsewhere extends it by a relative path
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("twin.yaml", "twin_population.parquet"):
        shutil.copy(tmp_path / name, moved / name)
    child = tmp_path / "classes" / "week9.yaml"
    child.parent.mkdir()
    child.write_text("extends: ../moved/twin.yaml\nrewards: {enabled: true}\n")
    extended = crmsim.load_scenario(child)
    assert extended.customers.population == str((moved / "twin_population.parquet").resolve())
    assert extended.rewards.enabled and extended.name == "week9"


def test_to_yaml_refuses_a_missing_folder_and_writes_nothing(cdnow, tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        cdnow.to_yaml(tmp_path / "nowhere" / "twin.yaml")
    assert not (tmp_path / "nowhere").exists()


def test_the_population_table_is_the_calibration_summary(cdnow):
    population, s = cdnow.population, cdnow.summary
    assert len(population) == 2357 and list(population["customer_id"]) == list(s.index)
    assert (population["acquired_at"] == -s["T"].to_numpy()).all()
    assert (population["purchases"] == s["frequency"].to_numpy() + 1).all()
    one = population["purchases"] == 1
    assert (population.loc[one, "last_purchase"] == population.loc[one, "acquired_at"]).all()
    assert (population.loc[one, "p_alive"] == 1).all()
    # customer 1 of the CDNOW sample: x = 2, t_x = 30.43, T = 38.86
    row = population.iloc[0]
    assert row["purchase_rate_rate"] == pytest.approx(cdnow.params["alpha"] + 38.857, abs=1e-3)
    assert row["churn_propensity_b"] == pytest.approx(cdnow.params["b"] + 2)
    assert row["last_purchase"] == pytest.approx(30.4286 - 38.8571, abs=1e-3)
    assert population["revenue"].sum() == pytest.approx(
        pd.read_csv(CDNOW).query("date <= '1997-09-30'")["amount"].sum())


# ------------------------------------------------------------------------ policies

def test_a_points_programme_on_the_twin_runs_and_is_paired(cdnow):
    twin = cdnow.scenario.with_overrides({"horizon": 26.0})
    points = twin.with_overrides({"rewards.enabled": True, "rewards.redemption_threshold": 200,
                                  "rewards.attraction": 0.5, "churn.coefficients.lock_in": -0.05})
    comparison = crmsim.compare({"twin": twin, "points": points}, replications=3, seed=0,
                                progress=False)
    assert comparison.failures.empty
    diff = comparison.differences.loc[("points", "program_cost")]
    assert diff["mean"] > 0
    assert comparison.differences.loc[("points", "initial"), "mean"] == 0
    kpis = comparison.kpis.pivot_table(index=["scenario", "replication"], columns="kpi",
                                       values="value")
    assert (kpis.loc["points", "members"] > 0).all()
    # the programme raised purchases (attraction) in every paired replication
    assert (kpis.loc["points", "purchases"] > kpis.loc["twin", "purchases"]).all()


# --------------------------------------------------------------------------- the CLI

@pytest.fixture(scope="module")
def cli_twin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "twin"
    code = main(["calibrate", str(CDNOW), "--calibration-end", "1997-09-30",
                 "--holdout-end", "1998-06-30", "--columns", "customer_id,date,amount",
                 "--duplicates", "keep", "--replications", "3", "--out", str(folder),
                 "--quiet"])
    assert code == 0
    return folder


def test_cli_calibrate_writes_the_twin_the_fit_and_the_holdout_report(cli_twin, cdnow):
    names = {p.name for p in cli_twin.iterdir()}
    assert {"scenario.yaml", "scenario_population.parquet", "fit.json", "holdout.json",
            "holdout_customers.csv", "holdout_tracking.csv", "holdout_by_frequency.csv",
            "holdout_tracking.png", "holdout_by_frequency.png"} <= names
    fit = json.loads((cli_twin / "fit.json").read_text())
    for name, value in cdnow.params.items():
        assert fit["params"][name] == pytest.approx(value), name
    assert fit["calibration_end_date"] == "1997-09-30" and fit["report"]["customers"] == 2357
    holdout = json.loads((cli_twin / "holdout.json").read_text())
    assert holdout["replications"] == 3 and holdout["actual_repeat"] == 1882
    assert holdout["expected_repeat"] == pytest.approx(
        cdnow.conditional_expected_purchases(39.0).sum())
    assert crmsim.load_scenario(cli_twin / "scenario.yaml").customers.initial == 2357


def test_cli_compare_twin_with_a_points_variant(cli_twin, capsys):
    points = cli_twin / "twin_with_points.yaml"
    points.write_text("extends: scenario.yaml\nrewards:\n  enabled: true\n"
                      "  redemption_threshold: 200\n  attraction: 0.5\n")
    capsys.readouterr()
    code = main(["compare", str(cli_twin / "scenario.yaml"), str(points), "--replications",
                 "2", "--set", "horizon=13", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "paired differences against 'twin'" in out and "program_cost" in out
    assert "twin_with_points" in out


GOOD_LOG = ("customer_id,date,amount\n1,2020-01-01,10\n1,2020-02-01,12\n2,2020-01-05,5\n"
            "2,2020-02-03,7\n3,2020-01-10,3\n3,2020-03-01,4\n")


@pytest.mark.parametrize("text, options, expected", [
    ("cust,date,amount\n1,2020-01-01,10\n", [], "no column 'customer_id'"),
    (GOOD_LOG.replace("2020-02-01", "2020-02-31"), [], "is not a date"),
    (GOOD_LOG.replace(",12\n", ",-12\n"), [], "is negative"),
    (GOOD_LOG.replace(",12\n", ",twelve\n"), [], "'twelve' is not a number"),
    (GOOD_LOG + "3,2020-03-01,4\n", [], "repeat an earlier row exactly"),
    (GOOD_LOG, ["--calibration-end", "2019-06-01"], "is before the first transaction"),
    (GOOD_LOG, ["--calibration-end", "2021-06-01"], "is after the last transaction"),
    ("customer_id,date,amount\n1,2020-01-01,10\n2,2020-01-02,3\n3,2020-03-02,4\n",
     [], "bought again"),
    ("", [], "the file is empty"),
    (GOOD_LOG, ["--columns", "customer_id,date"], "--columns = 'customer_id,date'"),
    (GOOD_LOG, ["--time-unit", "fortnight"], "--time-unit = 'fortnight'"),
    (GOOD_LOG, ["--duplicates", "maybe"], "--duplicates = 'maybe'"),
    (GOOD_LOG, ["--holdout-end", "2020-01-15"], "--holdout-end = '2020-01-15'"),
    (GOOD_LOG, ["--columns", "date,date,amount"], "the column 'date' is named twice"),
    (GOOD_LOG, [], "degenerate"),  # 3 customers: the Hessian is not invertible
    (GOOD_LOG.replace(",12\n", ",1e30\n"), [], "line 3: amount 1e+30 is above the limit"),
    (GOOD_LOG.replace(",12\n", ",1e308\n"), [], "line 3: amount 1e+308 is above the limit"),
    (GOOD_LOG.replace(",12\n", ",inf\n"), [], "line 3: amount is not a finite number: inf"),
    (GOOD_LOG, ["--calibration-end", "nan"], "--calibration-end = nan: not a finite number"),
    (GOOD_LOG, ["--calibration-end", "inf"], "--calibration-end = inf: not a finite number"),
    ("customer_id,time,amount\n1,1,2\n", ["--calibration-end", "nan"],
     "--calibration-end = nan: not a finite number"),
    (GOOD_LOG, ["--columns", "customer_id,day,amount"],
     "no column 'day' (the 2nd name of --columns customer_id,day,amount) — did you mean "
     "--columns customer_id,date,amount?"),
    ("customer_id,date\n1,2020-01-01\n", [],
     "no column 'amount' (the 3rd name of --columns customer_id,date,amount)"),
    (GOOD_LOG.replace("2020-02-01", "2020-13-45"), [], "say which with --date-format ..."),
    (GOOD_LOG, ["--date-format", "%d/%m/%Y"], "is not a date in --date-format '%d/%m/%Y'"),
    (GOOD_LOG.replace("2020-01-01", "01/02/2020").replace("2020-02-01", "02/03/2020")
     .replace("2020-01-05", "01/04/2020").replace("2020-02-03", "03/02/2020")
     .replace("2020-01-10", "01/05/2020").replace("2020-03-01", "03/06/2020"),
     ["--calibration-end", "2020-02-15"], "--date-format '%d/%m/%Y' or --date-format"),
    (GOOD_LOG + "3,2020-03-01,4\n", [], "--duplicates keep (separate purchases"),
    (GOOD_LOG, ["--seed", "-1"], "--seed: -1: must be an integer >= 0"),
    (GOOD_LOG, ["--replications", "0"], "--replications: 0: must be an integer >= 1"),
    (GOOD_LOG, ["--out", "/proc/crmsim-twin"], "/proc/crmsim-twin: cannot write there"),
])
def test_cli_calibrate_bad_input_is_one_line_exit_2_nothing_written(write, tmp_path, capsys,
                                                                    text, options, expected):
    log = write("log.csv", text)
    out = tmp_path / "twin"
    args = ["calibrate", str(log), "--calibration-end", "2020-02-15", "--columns",
            "customer_id,date,amount", "--out", str(out), "--quiet", *options]
    code = main(args)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2
    assert err.startswith(("crmsim: error: ", "crmsim calibrate: error: ")), err
    assert err.count("\n") == 1, err
    assert expected in err, err
    assert "Traceback" not in err + captured.out
    assert not out.exists()
    assert {p.name for p in tmp_path.rglob("*")} == {"log.csv"}  # nothing written


def test_cli_calibrate_refuses_an_existing_twin_and_replaces_it_with_force(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("".join(CDNOW.read_text().splitlines(keepends=True)[:600]))
    out = tmp_path / "twin"
    base = ["calibrate", str(log), "--calibration-end", "1997-09-30", "--columns",
            "customer_id,date,amount", "--duplicates", "keep", "--out", str(out), "--quiet"]
    assert main([*base, "--holdout-end", "1998-03-30", "--replications", "1"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "holdout.json" in before and "fit.json" in before
    capsys.readouterr()
    assert main(base) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a run (fit.json)" in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    assert main([*base, "--force"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"scenario.yaml", "scenario_population.parquet", "fit.json"}  # stale gone
    assert set(json.loads((out / "fit.json").read_text())["files"]) == names - {"fit.json"}


def test_every_policy_runs_on_the_twin(cdnow):
    """The twin is an ordinary scenario: desk, points, tiering, warning, win-back, birthday
    coupons, a rival and paid acquisition all run on it together."""
    from crmsim.exercises import TWIN_POINTS, TWIN_WARNING

    twin = cdnow.scenario.with_overrides({
        **TWIN_WARNING, **TWIN_POINTS, "horizon": 13.0,
        "service.agents": 2, "service.contact_rate": 0.01, "service.failure_rate": 0.05,
        "service.handle_time": 0.01, "tiering.enabled": True, "tiering.every": 4.0,
        "win_back.enabled": True, "birthday.enabled": True, "birthday.year": 52.0,
        "birthday.duration": 1.0, "competitor.attractiveness": 0.5,
        "churn.coefficients.competitor": 0.5, "churn.coefficients.satisfaction": -1.0,
        "acquisition.rate": 5.0, "acquisition.cost_per_acquisition": 10.0})
    result = crmsim.simulate(twin, seed=1)
    k = result.kpis
    assert k["initial"] == 2357 and k["acquired"] > 0
    assert k["desk_contacts"] > 0 and k["offers"] > 0 and k["members"] > 0
    assert k["birthday_coupons"] > 0 and k["active_key"] > 0
    customers = result.customers
    gone = customers["churn_reason"] == BEFORE_START
    assert 300 < gone.sum() < 550 and (customers.loc[gone, "churned_at"] <= 0).all()
    events = result.events
    churn_events = events[events["kind"] == "churn"]
    assert k["churned"] == len(churn_events) > 0
    assert not churn_events["customer_id"].isin(customers.loc[gone, "customer_id"]).any()


def test_holdout_runs_are_the_same_under_every_executor(cdnow):
    serial = crmsim.holdout(cdnow, CDNOW, "1997-12-31", replications=2, seed=5)
    pool = crmsim.holdout(cdnow, CDNOW, "1997-12-31", replications=2, seed=5,
                          executor="processes", jobs=2)
    assert (serial.totals == pool.totals).all()
    pd.testing.assert_frame_equal(serial.tracking, pool.tracking)


def test_a_shop_that_keeps_acquiring_gets_new_customers_at_the_observed_rate():
    """First purchases per week in the last quarter of the calibration period become paid
    acquisition (cost unknown: 0) with traits from the fitted population distributions."""
    from crmsim.validation import validation_scenario

    shop = validation_scenario("bgnbd", {"customers.initial": 300, "horizon": 40.0}
                               ).with_overrides({"acquisition.rate": 20.0,
                                                 "purchase.spend": {"dist": "gamma_gamma",
                                                                    "p": 6, "q": 4, "gamma": 15}})
    log = crmsim.simulate(shop, seed=2).transactions()
    calibration = crmsim.calibrate(log, 36.0)
    twin = calibration.scenario
    first = log.groupby("customer_id")["time"].min()
    start = float(log["time"].min())
    since = 36.0 - (36.0 - start) / 4
    observed = ((first > since) & (first <= 36.0)).sum() / (36.0 - since)
    assert twin.acquisition.rate == pytest.approx(observed)
    assert abs(twin.acquisition.rate - 20.0) < 4 * math.sqrt(20.0 / (36.0 - since))
    assert twin.acquisition.cost_per_acquisition == 0.0
    assert twin.purchase.rate.shape == calibration.params["r"]
    run = crmsim.simulate(twin.with_overrides({"horizon": 10.0}), seed=3)
    new = run.customers[run.customers["customer_id"] >= twin.customers.initial]
    assert len(new) == run.kpis["acquired"] > 100
    assert (new["acquired_at"] > 0).all()
