"""The lessons of notebook 06 (churn warning, retention offers, win-back), re-derived.

Each test states a claim the notebook prints and checks it with 95% intervals over
replications — other seeds than the notebook's — on the notebook's operator
(:mod:`crmsim.exercises.nb06`).
"""

from __future__ import annotations

import functools

import numpy as np

import crmsim
from crmsim.analysis import mean_ci
from crmsim.exercises import nb06

SEED = 11


def low(values) -> float:
    return mean_ci(np.asarray(values, dtype=float))[1]


def high(values) -> float:
    return mean_ci(np.asarray(values, dtype=float))[2]


@functools.cache
def targeting():
    """No offers, 50 offers a month to a random list, to the score's top 50 (as shipped)."""
    return crmsim.compare({"no offers": nb06.operator(**{"warning.top_k": 0}),
                           "random": nb06.operator(**{"warning.targeting": "random"}),
                           "score": nb06.operator()}, replications=4, seed=SEED,
                          progress=False)


def test_the_score_ranks_leavers_far_better_than_a_random_list():
    """Section 2: the score's top-decile lift is above 2, a random list's about 1."""
    lift = targeting().per_replication("warning_top_decile_lift")
    assert low(lift["no offers"]) > 2.0
    assert high(lift["random"]) < 1.4
    assert low(lift["no offers"] - lift["random"]) > 0.8


def test_a_longer_list_catches_more_leavers_and_is_right_less_often():
    """Section 3: from the top 5% to the top 30%, recall rises and precision falls."""
    curve = nb06.trade_off(seeds=(SEED, SEED + 1, SEED + 2), shares=(0.05, 0.3))
    wide = curve.pivot_table(index="seed", columns="share", values=["precision", "recall"])
    assert low(wide["precision"][0.05] - wide["precision"][0.3]) > 0
    assert low(wide["recall"][0.3] - 2 * wide["recall"][0.05]) > 0
    base_rate = curve.groupby("seed")["base_rate"].first()
    assert low(wide["precision"][0.3] - base_rate) > 0


def test_offers_targeted_by_the_score_save_more_and_random_ones_lose_value():
    """Section 4: the score's offers reverse more churn decisions than a random list's; within
    the horizon the offers cost more than they keep; counting the customers kept at their
    value, the random list's offers leave the firm less than no offers and than the score's."""
    comparison = targeting()
    saved = comparison.per_replication("offers_saved")
    assert low(saved["score"] - saved["random"]) > 0
    profit = comparison.per_replication("npv_profit")
    assert high(profit["score"] - profit["no offers"]) < 0
    value = nb06.firm_value(comparison)
    assert high(value["random"] - value["no offers"]) < 0
    assert low(value["score"] - value["random"]) > 0


def test_win_back_keeps_customers_and_pays_beyond_the_horizon():
    """Section 5: win-back leaves many more customers at the horizon; whatever it costs within
    the horizon is small against their value (a kept customer need be worth far less than the
    CLV estimate), and counted at it win-back pays."""
    comparison = crmsim.compare({"none": nb06.operator(**{"win_back.enabled": False}),
                                 "by tier": nb06.operator()},
                                replications=4, seed=SEED, progress=False)
    active = comparison.per_replication("active_end")
    profit = comparison.per_replication("npv_profit")
    value = nb06.firm_value(comparison)
    assert low(active["by tier"] - active["none"]) > 50
    later = nb06.customer_value()["clv"] * (1 + nb06.customer_value()["discount_rate"]) ** -24
    assert high(profit["none"] - profit["by tier"]) < 0.25 * later * low(
        active["by tier"] - active["none"])
    assert low(value["by tier"] - value["none"]) > 0
