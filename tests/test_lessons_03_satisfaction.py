"""Lessons of notebook 03 (satisfaction), re-derived with other seeds than the notebook's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmsim
from crmsim.analysis import mean_ci
from crmsim.model.satisfaction import experience


class Customer:
    def __init__(self, expectation):
        self.satisfaction, self.expectation = 0.0, expectation


def upgrade_path(adaptation: float, experiences: int = 40) -> np.ndarray:
    """One customer of the retail shop at the steady state of 0.70, then served at 0.80."""
    rule = crmsim.load_scenario("retail_baseline").satisfaction.model_copy(
        update={"quality_noise": 0.0, "adaptation": adaptation, "service_quality": 0.8})
    c = Customer(rule.initial_expectation)
    path = []
    for _ in range(experiences):
        experience(c, rule, 0.0)
        path.append(c.satisfaction)
    return np.array(path)


def test_exceeding_expectations_wears_off_to_the_performance_part():
    """Notebook 03 §2: a jump, a peak, then back to performance_weight × (q − norm)."""
    adapting, fixed = upgrade_path(0.25), upgrade_path(0.0)
    performance = 0.5 * (0.8 - 0.7)
    assert adapting.max() > 1.5 * performance
    assert 1 <= int(adapting.argmax()) <= 8
    assert adapting[-1] == pytest.approx(performance, abs=1e-3)
    assert fixed[-1] == pytest.approx(performance + 1.0 * 0.1, abs=1e-3)


def test_habituation_takes_a_large_part_of_the_upgrades_gain_in_the_market():
    """Notebook 03 §3: with adapting expectations the base's gain in mean satisfaction at
    day 360 is well below what it would be if expectations stayed put; and every customer's
    own gain follows the one-customer curve."""
    market = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 800, "acquisition.rate": 0, "report_every": 30})
    shares = []
    for seed in (11, 12, 13):
        gain = {}
        for adaptation in (0.25, 0.0):
            base = market.with_overrides({"satisfaction.adaptation": adaptation})
            up = base.with_overrides({"satisfaction.service_quality": 0.8})
            a, b = crmsim.simulate(base, seed=seed), crmsim.simulate(up, seed=seed)
            gain[adaptation] = (b.timeseries["mean_satisfaction"].iloc[-2]
                                - a.timeseries["mean_satisfaction"].iloc[-2])  # day 360
            if adaptation == 0.25 and seed == 11:
                ca, cb = (r.customers.set_index("customer_id") for r in (a, b))
                both = ca["churned_at"].isna() & cb["churned_at"].isna()
                by_count = (cb["satisfaction"] - ca["satisfaction"])[both].groupby(
                    ca["purchases"][both]).agg(["min", "max"])
                curve = upgrade_path(0.25)
                counts = by_count.index[by_count.index <= len(curve)]
                assert np.allclose(by_count.loc[counts, "min"], curve[counts - 1])
                assert np.allclose(by_count.loc[counts, "max"], curve[counts - 1])
        shares.append((gain[0.0] - gain[0.25]) / gain[0.0])
    assert mean_ci(shares)[1] > 0.25


def test_the_optimal_service_level_lies_inside():
    """Notebook 03 §4: profit peaks inside 0.60–0.95: the middle beats both ends (paired);
    every step costs more than the one before."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides({"customers.initial": 1000})
    grid = [0.6, 0.75, 0.95]
    table = crmsim.sweep(sc, {"satisfaction.service_quality": grid}, replications=4, seed=7,
                         progress=False)
    wide = {kpi: table[table["kpi"] == kpi].pivot(index="replication",
                                                   columns="satisfaction.service_quality",
                                                   values="value")
            for kpi in ("profit", "quality_cost", "churned")}
    profit = wide["profit"]
    assert mean_ci((profit[0.75] - profit[0.6]).to_numpy())[1] > 0
    assert mean_ci((profit[0.75] - profit[0.95]).to_numpy())[1] > 0
    churned = wide["churned"].mean()
    assert churned[0.6] > churned[0.75] > churned[0.95]


def test_preventing_failures_is_a_basic_factor():
    """Notebook 03 §5: failures only take satisfaction away — below the failure-free shop's,
    less so the fewer failures (at 1% the gap is within the noise of a few replications) —
    while prevention doubles in price with every halving."""
    shop = crmsim.load_scenario("retail_baseline").with_overrides({"customers.initial": 500})
    failing = {"service.prevention_cost": 0.002, "customers.complaint_propensity": 0.0}
    levels = [0.16, 0.04, 0.01]
    cmp = crmsim.compare({"none": shop, **{str(f): shop.with_overrides(
        {**failing, "service.failure_rate": f}) for f in levels}}, replications=3, seed=17,
        progress=False)
    diff = cmp.differences
    gaps = [diff.loc[(str(f), "mean_satisfaction")] for f in levels]
    assert gaps[0]["high"] < 0 and gaps[1]["high"] < 0
    assert gaps[0]["mean"] < gaps[1]["mean"] < gaps[2]["mean"]
    cost = pd.Series({f: diff.loc[(str(f), "quality_cost"), "mean"] for f in levels})
    assert cost[0.04] / cost[0.16] > 3 and cost[0.01] / cost[0.04] > 3
