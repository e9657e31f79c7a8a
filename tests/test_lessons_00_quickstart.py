"""Lessons of notebook 00 (quickstart), re-derived with other seeds than the notebook's.

Each claim the notebook prints is checked through replications and 95% intervals, so a model
change that breaks a lesson fails here.
"""

from __future__ import annotations

import functools

import numpy as np

import crmsim
from crmsim.analysis import mean_ci

SHOP = {"customers.initial": 1000}


@functools.cache
def better_service() -> crmsim.Comparison:
    base = crmsim.load_scenario("retail_baseline").with_overrides(SHOP)
    better = crmsim.load_scenario("retail_better_service").with_overrides(SHOP)
    return crmsim.compare({"baseline": base, "better service": better}, replications=6,
                          seed=10, progress=False)


def test_better_service_pays_but_its_cost_eats_most_of_the_extra_margin():
    """Notebook 00 §6: service 0.78 vs 0.70 — fewer customers leave, profit rises (interval
    above 0), and the cost of quality takes more than half of the extra margin."""
    diff = better_service().differences.loc["better service"]
    assert diff.loc["churned", "high"] < 0
    assert diff.loc["profit", "low"] > 0
    assert diff.loc["quality_cost", "low"] > 0.5 * diff.loc["margin", "high"]
    assert diff.loc["profit", "high"] < diff.loc["margin", "low"]


def test_common_random_numbers_make_the_paired_interval_narrow():
    """Notebook 00 §6 and exercise 00.3: pairing the runs removes most of the variance of the
    profit difference."""
    reduction = better_service().variance_reduction().loc[("better service", "profit"),
                                                          "reduction"]
    assert reduction > 0.8


def test_the_shop_is_a_60_20_shop_not_an_80_20_one():
    """Notebook 00 §7: the top 20% of customers bring about 60% of a year's revenue — clearly
    more than their share, clearly less than the rule's 80%."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides(SHOP)
    shares = []
    for seed in range(11, 15):
        revenue = np.sort(crmsim.simulate(sc, seed=seed).customers["revenue"].to_numpy())[::-1]
        shares.append(revenue[: round(0.2 * len(revenue))].sum() / revenue.sum())
    _, low, high = mean_ci(shares)
    assert 0.55 < low and high < 0.65
