"""The lessons of notebook 05 (loyalty, switching costs, rewards), re-derived.

Each test states a claim the notebook prints and checks it with 95% intervals over
replications — other seeds than the notebook's — on the notebook's markets
(:mod:`crmsim.exercises.nb05`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import crmsim
from crmsim.analysis import mean_ci
from crmsim.exercises import nb05

SEED = 11


def low(values) -> float:
    return mean_ci(np.asarray(values, dtype=float))[1]


def high(values) -> float:
    return mean_ci(np.asarray(values, dtype=float))[2]


def test_the_lock_holds_the_spuriously_loyal_and_satisfaction_the_truly_loyal():
    """Section 1: per active customer at month 18, what satisfaction and the switching barriers
    each take off the churn probability, by loyalty type."""
    rows = []
    for seed in (SEED, SEED + 1, SEED + 2):
        run = crmsim.simulate(nb05.portability(horizon=18), seed=seed)
        active = run.customers[run.customers["churned_at"].isna()]
        rows.append(active.groupby("loyalty_type", observed=True)[
            ["retention_from_satisfaction", "retention_from_lock_in"]].mean().unstack())
    held = pd.DataFrame(rows)
    lock, sat = "retention_from_lock_in", "retention_from_satisfaction"
    assert low(held[(lock, "spurious")] - 3 * held[(lock, "true")]) > 0
    assert low(held[(sat, "true")] - held[(sat, "spurious")]) > 0
    assert high(held[(sat, "spurious")]) < 0


def test_portability_collapses_spurious_loyalty():
    """Section 2: churn among the spuriously loyal rises more than twice as much as among the
    truly loyal, and ends more than twice theirs."""
    operator = nb05.portability()
    shock = crmsim.compare({"no": operator.with_overrides(nb05.NO_PORTABILITY),
                            "yes": operator}, replications=4, seed=SEED, progress=False)
    wide = shock.kpis.pivot_table(index="replication", columns=["scenario", "kpi"],
                                  values="value")
    rise = {k: wide["yes"][f"churn_rate_{k}"] - wide["no"][f"churn_rate_{k}"]
            for k in ("true", "spurious")}
    assert low(rise["spurious"] - 2 * rise["true"]) > 0
    assert low(wide["yes"]["churn_rate_spurious"] - 2 * wide["yes"]["churn_rate_true"]) > 0


def test_satisfaction_makes_loyalty_only_where_customers_can_leave():
    """Section 3 (Jones & Sasser): in the locked market even the least satisfied fifth stays;
    in the competitive one retention climbs steeply with satisfaction."""
    curves = nb05.satisfaction_loyalty(seeds=(SEED, SEED + 1, SEED + 2))
    retained = curves.pivot_table(index="seed", columns=["market", "group"], values="retained")
    monopoly, competitive = list(nb05.MARKETS)
    assert low(retained[monopoly][0]) > 0.85
    spread = {name: retained[name][4] - retained[name][0] for name in nb05.MARKETS}
    assert low(spread[competitive] - 3 * spread[monopoly]) > 0
    assert low(spread[competitive]) > 0.25


def test_points_keep_customers_and_generosity_keeps_more_at_a_cost():
    """Section 4: the programme lowers churn; a more generous one lowers it further and costs
    more."""
    shop = nb05.points_shop()
    cmp = crmsim.compare({"none": shop.with_overrides({"rewards.enabled": False}),
                          "points": shop,
                          "generous": shop.with_overrides({"rewards.redemption_value": 25})},
                         replications=4, seed=SEED, progress=False)
    wide = cmp.kpis.pivot_table(index="replication", columns=["scenario", "kpi"],
                                values="value")
    assert high(wide["points"]["churned"] - wide["none"]["churned"]) < 0
    assert high(wide["generous"]["churned"] - wide["points"]["churned"]) < 0
    assert low(wide["generous"]["program_cost"] - wide["points"]["program_cost"]) > 0


def test_comparing_members_with_non_members_overstates_the_programme():
    """Section 5 (self-selection): the naive member premium is well above the true effect."""
    effects = nb05.self_selection(seeds=(SEED, SEED + 1, SEED + 2))
    assert low(effects["naive"] - 1.3 * effects["true"]) > 0
    assert low(effects["true"]) > 0
