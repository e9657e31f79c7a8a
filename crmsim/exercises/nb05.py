"""Exercises of notebook 05: loyalty, switching costs and rewards (see :mod:`crmsim.exercises`).

The notebook's markets live here too, so that the notebook, its lesson tests
(``tests/test_lessons_05_loyalty.py``) and the exercises use the same ones: the number-portability
operator at a third of its size, Jones & Sasser's two markets, and the points shop.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

import crmsim
from crmsim.exercises.base import Exercise, best_paired

#: the number-portability operator (scenarios/telecom_portability.yaml) at a third of its size
PORTABILITY = {"customers.initial": 1000, "acquisition.rate": 30}
#: the same market without the rule change (both segments keep their switching costs)
NO_PORTABILITY = {"switching_cost.shocks": [],
                  "customers.segments.business.switching_cost.shocks": []}


def portability(**overrides) -> crmsim.Scenario:
    """Notebook 05's operator (:data:`PORTABILITY`) with dotted-key ``overrides``."""
    return crmsim.load_scenario("telecom_portability").with_overrides(
        {**PORTABILITY, **overrides})


def _barriers(procedural: float, financial: float) -> dict:
    """Procedural and financial switching costs for both telecom segments."""
    return {"switching_cost.procedural": procedural, "switching_cost.financial": financial,
            "customers.segments.business.switching_cost.procedural": procedural,
            "customers.segments.business.switching_cost.financial": financial}


#: Jones & Sasser's comparison: the same subscribers (the telecom baseline, a closed cohort
#: whose fit with the network varies a lot) for a year in two markets
SATISFACTION_COHORT = {"customers.initial": 1500, "acquisition.rate": 0, "horizon": 12,
                       "satisfaction.fit_sd": 0.25}
MARKETS = {
    # leaving is hard (contracts, number, handset) and nobody pulls: a monopoly-like market
    "monopoly (high switching costs, no rival)": _barriers(2.0, 2.0),
    # leaving is easy and a rival pulls price-sensitive subscribers
    "competitive (low switching costs, a rival)": {
        **_barriers(0.0, 0.0), "churn.coefficients.competitor": 1.0,
        "competitor.attractiveness": 1.0},
}


def market(name: str) -> crmsim.Scenario:
    """One of :data:`MARKETS` on the satisfaction cohort."""
    return crmsim.load_scenario("telecom_baseline").with_overrides(
        {**SATISFACTION_COHORT, **MARKETS[name]})


def satisfaction_loyalty(seeds=(0, 1, 2), groups: int = 5) -> pd.DataFrame:
    """Jones & Sasser's curves: for each market and seed, the cohort split into ``groups``
    equal groups by how well the offering fits each subscriber (the persistent driver of its
    satisfaction); per group its mean satisfaction (at the end, or when it left) and the share
    still a customer after the year. Columns: market, seed, group (0: worst fit), satisfaction,
    retained."""
    rows = []
    for name in MARKETS:
        scenario = market(name)
        for seed in seeds:
            customers = crmsim.simulate(scenario, seed=seed).customers
            group = pd.qcut(customers["quality_fit"], groups, labels=False)
            table = customers.groupby(group).agg(
                satisfaction=("satisfaction", "mean"),
                retained=("churned_at", lambda left: float(left.isna().mean())))
            rows += [(name, seed, int(g), row.satisfaction, row.retained)
                     for g, row in table.iterrows()]
    return pd.DataFrame(rows, columns=["market", "seed", "group", "satisfaction", "retained"])


#: the points shop (scenarios/retail_points.yaml) at half its size
POINTS_SHOP = {"customers.initial": 1000, "acquisition.rate": 1.5}


def points_shop(**overrides) -> crmsim.Scenario:
    """Notebook 05's points shop (:data:`POINTS_SHOP`) with dotted-key ``overrides``."""
    return crmsim.load_scenario("retail_points").with_overrides({**POINTS_SHOP, **overrides})


def self_selection(seeds=(0, 1, 2), customers: int = 1500) -> pd.DataFrame:
    """Revenue per member: the naive comparison (members − non-members in the programme's
    world) and the true effect (the same members with the programme − without it, common
    random numbers), one row per seed, for a closed cohort of the points shop."""
    cohort = points_shop(**{"customers.initial": customers, "acquisition.rate": 0})
    rows = []
    for seed in seeds:
        with_programme = crmsim.simulate(cohort, seed=seed).customers
        without = crmsim.simulate(cohort.with_overrides({"rewards.enabled": False}),
                                  seed=seed).customers
        member = with_programme["member"].to_numpy(dtype=bool)
        revenue = with_programme["revenue"].to_numpy()
        naive = revenue[member].mean() - revenue[~member].mean()
        true = (revenue[member] - without["revenue"].to_numpy()[member]).mean()
        rows.append((seed, float(naive), float(true)))
    return pd.DataFrame(rows, columns=["seed", "naive", "true"])


#: exercise 05.1: redemption values (same rules otherwise)
REDEMPTION_VALUES = (10, 20, 40, 80)

#: exercise 05.2: what the operator does, from month 0, knowing that portability comes at 18
PORTABILITY_RESPONSES = {
    "nothing": {},
    "quality": {"satisfaction.service_quality": 0.72},   # up to what customers expect
    "lock_in": {"switching_cost.financial": 2.0,          # longer contracts, handset subsidies
                "customers.segments.business.switching_cost.financial": 2.0},
}


@functools.cache
def _generosity():
    return crmsim.compare({str(value): points_shop(**{"rewards.redemption_value": value})
                           for value in REDEMPTION_VALUES}, replications=5, seed=0,
                          progress=False)


@functools.cache
def _responses():
    operator = portability(**{"customers.initial": 600, "acquisition.rate": 18})
    return crmsim.compare({name: operator.with_overrides(changes)
                           for name, changes in PORTABILITY_RESPONSES.items()},
                          replications=3, seed=0, progress=False)


def _naive_overstates() -> str:
    table = self_selection(seeds=(0,), customers=600)
    return "overstate" if np.all(table["naive"] > table["true"]) else "understate"


#: this notebook's exercises, by id ("05.1", "05.2", ...)
EXERCISES: dict[str, Exercise] = {
    "05.1": Exercise(
        "Notebook 05's points shop (crmsim.exercises.nb05.points_shop): which redemption value "
        "— '10' (as shipped), '20', '40' or '80' (what a reward of 500 points is worth) — "
        "makes the most profit over the year? (5 paired replications, seed 0; any value not "
        "reliably worse than the best counts)",
        lambda: best_paired(_generosity())[0],
        "a more generous programme holds and activates more members and costs more per point: "
        "compare margin gained with program_cost, value by value",
        accepted=lambda: best_paired(_generosity())[1]),
    "05.2": Exercise(
        "Notebook 05's operator, at 600 subscribers (crmsim.exercises.nb05.portability with "
        "customers.initial 600, acquisition.rate 18), knows that number portability comes at "
        "month 18. Which response of crmsim.exercises.nb05.PORTABILITY_RESPONSES, from month "
        "0, makes the most profit over the 36 months: 'nothing', 'quality' (service quality "
        "0.68 → 0.72, priced by satisfaction.quality_cost) or 'lock_in' (financial switching "
        "cost 0.9 → 2.0, priced by switching_cost.upkeep)? (3 paired replications, seed 0; any "
        "response not reliably worse than the best counts)",
        lambda: best_paired(_responses())[0],
        "portability cuts the financial switching cost to 20% of whatever it was; weigh the "
        "customers each response keeps against quality_cost and barrier_cost",
        accepted=lambda: best_paired(_responses())[1]),
    "05.3": Exercise(
        "Self-selection bias (自选择偏差): heavy buyers join the programme more often. Does "
        "comparing members with non-members 'overstate' or 'understate' what the programme "
        "does for its members' revenue?",
        _naive_overstates,
        "compare members with non-members in one run, then the same members with and without "
        "the programme (crmsim.exercises.nb05.self_selection)"),
}
