"""Every shipped scenario is set to real figures, stated in its header; these tests check them.

Each target is the range the scenario file's header names (with its source), measured over a
few seeds so one unlucky run cannot pass or fail it.
"""

from __future__ import annotations

import numpy as np
import pytest

import crmsim


def _runs(name: str, seeds=(1, 2, 3), **overrides):
    sc = crmsim.load_scenario(name)
    if overrides:
        sc = sc.with_overrides(overrides)
    return sc, [crmsim.simulate(sc, seed=s) for s in seeds]


def churn_per_time(sc, res) -> float:
    """Churned customers per customer-time unit (monthly churn in a monthly scenario)."""
    c = res.customers
    end = np.where(c["churned_at"].isna(), sc.horizon, c["churned_at"])
    return res.kpis["churned"] / float(np.sum(end - c["acquired_at"]))


def test_telecom_monthly_churn_is_an_operators():
    sc, runs = _runs("telecom_baseline")
    rate = np.mean([churn_per_time(sc, r) for r in runs])
    assert 0.015 <= rate <= 0.03


def test_retail_buyers_buy_about_monthly_and_half_stop_within_a_year():
    sc, runs = _runs("retail_baseline")
    per_year = []
    gone = []
    for r in runs:
        c = r.customers
        end = np.where(c["churned_at"].isna(), sc.horizon, c["churned_at"])
        per_year.append(r.kpis["purchases"] / float(np.sum(end - c["acquired_at"])) * 365)
        initial = c[c["acquired_at"] == 0]
        gone.append(initial["churned_at"].notna().mean())
    assert 8 <= np.mean(per_year) <= 14
    assert 0.4 <= np.mean(gone) <= 0.6


def test_complaints_are_the_tip_of_the_iceberg():
    sc, runs = _runs("complaints_recovery", seeds=(1, 2))
    assert 0.15 <= np.mean([r.kpis["complaint_rate"] for r in runs]) <= 0.30
    assert np.mean([r.kpis["desk_abandon_rate"] for r in runs]) < 0.15
    gone = [r.customers["churned_at"].notna().mean() for r in runs]
    assert 0.45 <= np.mean(gone) <= 0.7


def test_portability_locks_in_then_releases():
    sc, runs = _runs("telecom_portability", seeds=(1, 2))
    shock = sc.switching_cost.shocks[0].at
    before, after = [], []
    for r in runs:
        c = r.customers
        churn_times = c["churned_at"].dropna().to_numpy()
        start, end = c["acquired_at"].to_numpy(), np.where(
            c["churned_at"].isna(), sc.horizon, c["churned_at"])
        time_before = np.sum(np.clip(np.minimum(end, shock) - start, 0, None))
        time_after = np.sum(np.clip(end - np.maximum(start, shock), 0, None))
        before.append((churn_times <= shock).sum() / time_before)
        after.append((churn_times > shock).sum() / time_after)
    assert np.mean(before) < 0.01
    assert np.mean(after) >= 2 * np.mean(before)


def test_warning_scenario_churn_and_lift():
    sc, runs = _runs("churn_warning_winback", seeds=(1, 2))
    rate = np.mean([churn_per_time(sc, r) for r in runs])
    assert 0.015 <= rate <= 0.035
    assert 2 <= np.mean([r.kpis["warning_top_decile_lift"] for r in runs]) <= 3.2


def test_points_programme_enrolment_and_breakage():
    sc, runs = _runs("retail_points", seeds=(1, 2))
    members = np.mean([r.kpis["members"] / len(r.customers) for r in runs])
    assert members == pytest.approx(0.5, abs=0.1)
    assert 0.10 <= np.mean([r.kpis["breakage"] for r in runs]) <= 0.40


@pytest.mark.parametrize(("name", "target"), [("retention_vs_acquisition", 0.10),
                                              ("reichheld_sasser", 0.10)])
def test_stated_defection_rates(name, target):
    sc, runs = _runs(name, seeds=(1, 2))
    rate = np.mean([churn_per_time(sc, r) for r in runs])
    period = sc.contract.period
    assert rate * period == pytest.approx(target, rel=0.1)
