"""Every plot draws the data it is given (the notebooks show them; here: they draw something)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import crmsim
from crmsim import plots
from crmsim.analysis import bass_cdf
from crmsim.validation import validation_scenario


@pytest.fixture(scope="module")
def desk_run():
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 200, "horizon": 90})
    return crmsim.simulate(sc, seed=1)


def _drawn(ax) -> int:
    return len(ax.lines) + len(ax.collections) + len(ax.patches)


@pytest.mark.parametrize("draw", [plots.lifecycle_area, plots.money_over_time,
                                  plots.survival_curve, plots.loyalty_quadrant,
                                  plots.desk_over_time])
def test_run_plots_draw(desk_run, draw):
    ax = draw(desk_run)
    assert _drawn(ax) > 0 and ax.get_title()
    plt.close("all")


def test_desk_plot_shows_every_period(desk_run):
    ax = plots.desk_over_time(desk_run)
    assert len(ax.patches) == len(desk_run.timeseries) - 1
    plt.close("all")


@pytest.mark.parametrize("horizon, bars", [(80, 3), (95, 3)])
def test_desk_plot_counts_contacts_per_full_period(horizon, bars):
    """A 20-day last period is scaled to 30 days; a 5-day one is left out (no fake drop)."""
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 100, "horizon": horizon, "acquisition.rate": 0})
    res = crmsim.simulate(sc, seed=1)
    ax = plots.desk_over_time(res)
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == bars
    if horizon == 80:
        assert heights[-1] == pytest.approx(res.timeseries["desk_contacts"].iloc[-1] * 30 / 20)
    plt.close("all")


def test_profit_by_tenure_stacks_the_components_to_the_profit():
    from crmsim.analysis import profit_by_tenure

    sc = crmsim.load_scenario("reichheld_sasser").with_overrides(
        {"customers.initial": 200, "horizon": 8})
    table = profit_by_tenure(crmsim.simulate(sc, seed=1))
    ax = plots.profit_by_tenure(table)
    tops = {}
    for bar in ax.patches:  # positive components stack upwards from 0
        if bar.get_height() > 0:
            x = round(bar.get_x() + bar.get_width() / 2)
            tops[x] = max(tops.get(x, 0.0), bar.get_y() + bar.get_height())
    assert tops[5] == pytest.approx(table["profit"].iloc[5])
    assert "Reichheld" in ax.get_title() and "客户保持" in ax.get_title()
    plt.close("all")


def test_pareto_curve_ends_at_all_value(desk_run):
    ax = plots.pareto_curve(desk_run.customers["margin"])
    x, y = ax.lines[0].get_data()
    assert x[-1] == pytest.approx(1.0) and y[-1] == pytest.approx(1.0)
    assert (y[1:] >= y[:-1]).all()
    plt.close("all")


def test_adoption_curve_reaches_the_acquired_share():
    sc = validation_scenario("bass", {"horizon": 10})
    res = crmsim.simulate(sc, seed=2)
    ax = plots.adoption_curve(res, closed_form=lambda t: bass_cdf(t, 0.01, 0.3))
    total = ax.lines[0].get_data()[1][-1]
    assert total == pytest.approx(len(res.customers) / sc.acquisition.market_size)
    plt.close("all")


def test_saved_run_plots_include_the_desk(desk_run, tmp_path):
    paths = plots.save_run_plots(desk_run, tmp_path)
    assert {Path(p).stem for p in paths} >= {"lifecycle", "money", "survival", "desk"}
    assert all(Path(p).read_bytes().startswith(b"\x89PNG") for p in paths)


def test_saving_plots_leaves_the_callers_backend_alone(desk_run, tmp_path):
    """A notebook that writes an experiment's files (crmsim compare --out) keeps its inline
    plots: saving PNG files must not switch pyplot's backend."""
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        plots.save_run_plots(desk_run, tmp_path)
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


def test_campaign_plots_draw_every_group():
    sc = crmsim.load_scenario("retail_campaigns").with_overrides(
        {"customers.initial": 200, "horizon": 150, "campaigns.plan.spring_call.at": 60,
         "campaigns.plan.spring_call.target.top": 60})
    cmp = crmsim.compare({"rfm": sc, "uplift": sc.with_overrides(
        {"campaigns.plan.spring_call.target.rule": "uplift"})}, replications=2, progress=False)
    ax = plots.campaign_profits(cmp.table)
    assert len(ax.get_yticklabels()) == 2 and "测量" in ax.get_title()
    res = crmsim.simulate(sc, seed=1)
    contacted = res.customers[res.customers["campaign_contacts"] > 0]
    counts = contacted.groupby("response_type", observed=False).size().to_frame("rfm").T
    ax = plots.response_mix(counts)
    assert len(ax.patches) == 4
    assert sum(p.get_width() for p in ax.patches) == pytest.approx(1.0)
    waves = pd.concat([crmsim.simulate(sc, seed=s).table("campaigns") for s in range(3)],
                      ignore_index=True)
    ax = plots.measured_vs_true(waves)
    covered = ((waves["measured_low"] <= waves["true"])
               & (waves["true"] <= waves["measured_high"])).sum()
    assert ax.get_title().startswith("测量区间与真实值") and f"{covered} of 3" in ax.get_title()
    plt.close("all")


def test_paired_differences_are_drawn_as_differences(tmp_path):
    """A comparison's plots include the paired differences (with intervals) against the first
    scenario; without an axis each KPI gets its own, in its own units."""
    base = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 150, "horizon": 90})
    better = base.with_overrides({"satisfaction.service_quality": 0.8})
    cmp = crmsim.compare({"base": base, "better": better}, replications=2, progress=False)
    written = {p.name for p in map(Path, plots.save_comparison_plots(cmp, tmp_path))}
    assert {"kpi_intervals.png", "differences.png"} <= written
    axes = plots.paired_differences(cmp, ["profit", "quality_cost"])
    assert len(axes) == 2
    low, high = cmp.differences.loc[("better", "quality_cost"), ["low", "high"]]
    assert axes[1].lines[0].get_xdata()[0] == pytest.approx((low + high) / 2, rel=1e-6)


def test_paired_differences_leave_scores_out_of_percentages():
    """Mean satisfaction is a score around 0 (about 0 in the baseline shop): as a percentage
    it would be thousands of percent, so a relative axis leaves it out and names it under it."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 150, "horizon": 60})
    better = sc.with_overrides({"satisfaction.service_quality": 0.8})
    cmp = crmsim.compare({"baseline": sc, "better": better}, replications=2, progress=False)
    _, ax = plt.subplots()
    plots.paired_differences(cmp, ["churned", "profit", "mean_satisfaction"], ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["churned", "profit"]
    assert "mean_satisfaction" in ax.get_xlabel() and "% of 'baseline'" in ax.get_xlabel()
    assert all(abs(x) < 100 for x in ax.lines[0].get_xdata())
    _, ax = plt.subplots()
    plots.paired_differences(cmp, ["mean_satisfaction"], ax=ax)
    diff = cmp.differences.loc[("better", "mean_satisfaction"), "mean"]
    assert ax.lines[0].get_xdata() == pytest.approx([diff])
    plt.close("all")


def test_paired_differences_are_percentages_unless_the_reference_has_a_zero():
    """Relative differences are % of the reference; a KPI the reference does not have (0, e.g.
    the offers of a warning it does not run) has no percentage, so all are drawn as they are."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 150, "horizon": 120})
    cmp = crmsim.compare({"plain": sc, "warning": sc.with_overrides(
        {"warning.enabled": True, "warning.top_k": 10})}, replications=2, progress=False)
    diff = cmp.differences.xs("warning", level="scenario")
    base = cmp.table["mean"].xs("plain", level="scenario")
    _, ax = plt.subplots()
    plots.paired_differences(cmp, ["revenue", "profit"], ax=ax)
    kpis = [label.get_text() for label in ax.get_yticklabels()]
    assert sorted(kpis) == ["profit", "revenue"]
    assert ax.lines[0].get_xdata() == pytest.approx(100 * diff.loc[kpis, "mean"]
                                                    / base[kpis].abs())
    assert "% of 'plain'" in ax.get_xlabel()
    _, ax = plt.subplots()
    plots.paired_differences(cmp, ["offers", "profit"], ax=ax)
    kpis = [label.get_text() for label in ax.get_yticklabels()]
    assert sorted(kpis) == ["offers", "profit"] and base["offers"] == 0
    assert ax.lines[0].get_xdata() == pytest.approx(diff.loc[kpis, "mean"])
    assert "against 'plain'" in ax.get_xlabel()
    plt.close("all")
