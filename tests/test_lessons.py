"""Lessons that hold: every claim the course makes is re-derived from the model here.

Each test runs the shipped scenario the lesson uses, with replications under common random
numbers, and asserts the claim through a 95% interval — never a single seed — so a model change
that breaks a lesson fails CI. The notebooks print the same comparisons beside their text.

Part 1 (the model's mechanisms) comes first; the notebooks' own claims follow, one section per
notebook.
"""

from __future__ import annotations

import numpy as np
import pytest

import crmsim
from crmsim.analysis import mean_ci


def paired(cmp: crmsim.Comparison, scenario: str, kpi: str) -> tuple[float, float, float]:
    """(mean, low, high) of the paired difference scenario − reference for a KPI."""
    row = cmp.differences.loc[(scenario, kpi)]
    return float(row["mean"]), float(row["low"]), float(row["high"])


def sweep_means(table, key: str, kpi: str) -> dict:
    rows = table[table["kpi"] == kpi]
    return rows.groupby(key)["value"].mean().to_dict()


def sweep_paired(table, key: str, kpi: str, a, b) -> tuple[float, float, float]:
    """Paired difference (a − b) of a KPI between two grid points of a sweep (same seeds)."""
    rows = table[table["kpi"] == kpi].pivot(index="replication", columns=key, values="value")
    return mean_ci((rows[a] - rows[b]).to_numpy())


# --------------------------------------------------------------------------- part 1: the model


def test_service_quality_has_an_interior_optimum():
    """Quality costs money (convex): profit against the service level peaks inside 0.60–0.95,
    and both ends are worse than the peak."""
    sc = crmsim.load_scenario("retail_baseline")
    grid = [0.6, 0.7, 0.8, 0.9, 0.95]
    table = crmsim.sweep(sc, {"satisfaction.service_quality": grid}, replications=4, seed=0,
                         progress=False)
    profit = sweep_means(table, "satisfaction.service_quality", "profit")
    best = max(profit, key=profit.get)
    assert best not in (grid[0], grid[-1])
    for end in (grid[0], grid[-1]):
        _, low, _ = sweep_paired(table, "satisfaction.service_quality", "profit", best, end)
        assert low > 0, f"the peak {best} does not beat {end}"
    quality_cost = sweep_means(table, "satisfaction.service_quality", "quality_cost")
    assert all(np.diff([quality_cost[q] for q in grid]) > 0)


def test_portability_collapses_spurious_loyalty_not_true_loyalty():
    """Barriers act only on customers who want to leave (Jones et al. 2000): when number
    portability cuts switching costs, churn among spuriously loyal customers rises at least 3×
    as much as among the truly loyal, and ends at least 2× theirs."""
    shock = crmsim.load_scenario("telecom_portability").with_overrides(
        {"customers.initial": 2000, "acquisition.rate": 60})
    no_shock = shock.with_overrides({"switching_cost.shocks": [],
                                     "customers.segments.business.switching_cost.shocks": []})
    cmp = crmsim.compare({"no shock": no_shock, "shock": shock}, replications=5, seed=21,
                         progress=False)
    wide = cmp.kpis.pivot_table(index=["replication", "kpi"], columns="scenario",
                                values="value").unstack("kpi")
    rise_spurious = (wide[("shock", "churn_rate_spurious")]
                     - wide[("no shock", "churn_rate_spurious")]).to_numpy()
    rise_true = (wide[("shock", "churn_rate_true")]
                 - wide[("no shock", "churn_rate_true")]).to_numpy()
    _, low, _ = mean_ci(rise_spurious - 3 * rise_true)
    assert low > 0
    after = (wide[("shock", "churn_rate_spurious")]
             - 2 * wide[("shock", "churn_rate_true")]).to_numpy()
    assert mean_ci(after)[1] > 0


def test_a_more_generous_programme_lowers_churn():
    """Points are worth what a leaving member forfeits: raising the redemption value (same
    rules) holds back more members, and costs more."""
    points = crmsim.load_scenario("retail_points")
    generous = points.with_overrides({"rewards.redemption_value": 25})
    cmp = crmsim.compare({"points": points, "generous": generous}, replications=4, seed=0,
                         progress=False)
    assert paired(cmp, "generous", "churned")[2] < 0
    assert paired(cmp, "generous", "program_cost")[1] > 0


def test_the_warning_score_reaches_a_real_churn_models_lift():
    """From what the firm records (usage, a survey, complaints), the top 10% by score churn at
    least twice the base rate — the range of real churn models (Neslin et al. 2006)."""
    sc = crmsim.load_scenario("churn_warning_winback")
    lifts = [crmsim.simulate(sc, seed=s).kpis["warning_top_decile_lift"] for s in range(4)]
    mean, low, _ = mean_ci(lifts)
    assert mean >= 2 and low > 1.5
    random = sc.with_overrides({"warning.targeting": "random"})
    assert crmsim.simulate(random, seed=0).kpis["warning_top_decile_lift"] < 1.5


def test_the_desk_has_an_interior_staffing_optimum():
    """One agent loses customers who cannot get through; a third agent costs more than it
    saves: profit peaks at two agents."""
    sc = crmsim.load_scenario("complaints_recovery")
    table = crmsim.sweep(sc, {"service.agents": [1, 2, 3]}, replications=4, seed=0,
                         progress=False)
    assert sweep_paired(table, "service.agents", "profit", 2, 1)[1] > 0
    assert sweep_paired(table, "service.agents", "profit", 2, 3)[1] > 0
    churned = sweep_means(table, "service.agents", "churned")
    assert churned[1] > churned[2] > churned[3]


def test_empowerment_lowers_repeat_complaints_and_costs_money():
    sc = crmsim.load_scenario("complaints_recovery")
    empowered = sc.with_overrides({"service.empowerment": 0.8})
    cmp = crmsim.compare({"base": sc, "empowered": empowered}, replications=4, seed=0,
                         progress=False)
    assert paired(cmp, "empowered", "repeat_complaints")[2] < 0
    assert paired(cmp, "empowered", "first_contact_resolution")[1] > 0.1
    assert paired(cmp, "empowered", "desk_cost")[1] > 0


def _defection_cut(scenario: crmsim.Scenario) -> tuple[float, float, float]:
    cut = scenario.with_overrides({"churn.base": 0.05})
    cmp = crmsim.compare({"10%": scenario, "5%": cut}, replications=3, seed=0, progress=False)
    rows = cmp.per_replication("npv_profit")
    return mean_ci((rows["5%"] / rows["10%"] - 1).to_numpy())


def test_reichheld_sasser_five_points_of_defection():
    """A 5-point cut in annual defection (10% → 5%) raises a cohort's NPV profit by an amount in
    R&S's 25–85% range when profit grows with tenure — and by much less without tenure
    effects (only the longer life counts then)."""
    rs = crmsim.load_scenario("reichheld_sasser").with_overrides({"customers.initial": 2000})
    flat = rs.with_overrides({"economics.spend_growth": 0, "economics.price_premium": 0,
                              "economics.serve_cost_decline": 0,
                              "acquisition.referral_rate": 0})
    with_tenure, low, high = _defection_cut(rs)
    assert 0.25 <= low and high <= 0.85
    without, _, high_flat = _defection_cut(flat)
    assert high_flat < 0.7 * low


def test_profit_per_customer_grows_with_tenure():
    """R&S's figure: profit per customer rises year after year of tenure."""
    from crmsim.analysis import profit_by_tenure

    table = profit_by_tenure(crmsim.simulate(crmsim.load_scenario("reichheld_sasser"), seed=1))
    assert table["profit"].iloc[5] > 3 * table["profit"].iloc[0]
    assert (np.diff(table["profit"].iloc[:6].to_numpy()) > 0).all()


@pytest.mark.parametrize("name", ["retail_baseline", "telecom_baseline"])
def test_brand_new_customers_start_in_exploration(name):
    """A relationship cannot degrade before it starts: nobody is in decline at t = 0."""
    res = crmsim.simulate(crmsim.load_scenario(name), seed=1)
    assert res.timeseries.iloc[0]["active_decline"] == 0
    assert res.timeseries.iloc[0]["active_exploration"] == res.kpis["initial"]
