"""Exercises of notebook 01 (the customer lifecycle; see :mod:`crmsim.exercises`).

Two decisions judged by the model: which lifecycle stage's customers are worth a thank-you gift
(by the revenue they really bring next), and which of two proposals — a new stage definition or
a better service — creates value.
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise, best_of

#: the lifecycle notebook's shop in the exercises: the retail baseline with 500 customers
LIFECYCLE_SHOP = {"customers.initial": 500}
#: exercise 01.1: the day the gifts are sent (the stage is read then) and the seeds judged
GIFT_DAY = 180
GIFT_SEEDS = (0, 1, 2, 3)
#: exercise 01.2: the two proposals
PROPOSALS = {
    "definition": {"lifecycle.formation_after": 1, "lifecycle.stability_after": 4},
    "quality": {"satisfaction.service_quality": 0.78},
}


def _shop(**overrides):
    import crmsim

    return crmsim.load_scenario("retail_baseline").with_overrides(
        {**LIFECYCLE_SHOP, **overrides})


def stage_on(result, day: float):
    """Each customer's lifecycle stage on ``day`` (the last stage it entered by then), for the
    customers active then."""
    events = result.events
    stages = events[(events["kind"] == "stage") & (events["time"] <= day)]
    stage = stages.groupby("customer_id")["details"].last()
    return stage[stage != "churned"]


def revenue_after(result, day: float, customers):
    """Revenue each of ``customers`` paid after ``day`` (to the horizon)."""
    tx = result.transactions()
    later = tx[tx["time"] > day].groupby("customer_id")["amount"].sum()
    return later.reindex(customers, fill_value=0.0)


@functools.cache
def gift_values():
    """Exercise 01.1: per seed, the mean revenue after the gift day of the customers in each
    stage on that day (a DataFrame: seed × stage)."""
    import pandas as pd

    import crmsim

    rows = {}
    for seed in GIFT_SEEDS:
        res = crmsim.simulate(_shop(), seed=seed)
        stage = stage_on(res, GIFT_DAY)
        rows[seed] = revenue_after(res, GIFT_DAY, stage.index).groupby(stage).mean()
    return pd.DataFrame(rows).T


@functools.cache
def proposal_differences():
    """Exercise 01.2: the paired profit differences (mean, low, high) of each proposal against
    the baseline (5 replications, seed 0)."""
    import crmsim

    scenarios = {"baseline": _shop(), **{name: _shop(**changes)
                                         for name, changes in PROPOSALS.items()}}
    cmp = crmsim.compare(scenarios, replications=5, seed=0, progress=False)
    return {name: tuple(float(v) for v in cmp.differences.loc[(name, "profit"),
                                                              ["mean", "low", "high"]])
            for name in PROPOSALS}


def _proposal_choice() -> tuple[str, frozenset]:
    diffs = proposal_differences()
    sure = {name: d for name, d in diffs.items() if d[1] > 0}
    if not sure:
        return "neither", frozenset({"neither"})
    best = max(sure, key=lambda name: sure[name][0])
    return best, frozenset(name for name, d in sure.items() if d[0] >= sure[best][1])


EXERCISES: dict[str, Exercise] = {
    "01.1": Exercise(
        f"On day {GIFT_DAY} the shop (retail baseline, 500 customers) sends a thank-you gift to "
        "the customers of one lifecycle stage. Which stage's customers bring the most revenue "
        f"per customer from day {GIFT_DAY} to the end of the year: 'exploration', "
        "'formation', 'stability' or 'decline'? Judge by the simulation's truth over seeds "
        f"{', '.join(map(str, GIFT_SEEDS))} (crmsim.exercises.nb01.stage_on and revenue_after "
        "help); any stage the seeds cannot tell from the best counts (its paired difference to the best, seed by seed, has a 95% interval reaching 0).",
        lambda: best_of(gift_values())[0],
        "revenue still to come = how much a customer buys × how long it stays: look at both "
        "in the stage table of section 5",
        accepted=lambda: best_of(gift_values())[1]),
    "01.2": Exercise(
        "The director wants more customers in stability (稳定期) by the end of the year. Two "
        "proposals (crmsim.exercises.nb01.PROPOSALS): 'definition' — count customers as "
        "formed after 1 repeat purchase and stable after 4; 'quality' — raise service "
        "quality to 0.78 (at its cost). Which raises the year's profit (500 customers, 5 "
        "paired replications, seed 0): 'definition', 'quality' or 'neither' (no interval "
        "above 0)?",
        lambda: _proposal_choice()[0],
        "both proposals put more customers into stability; which one changes what customers do?",
        accepted=lambda: _proposal_choice()[1]),
}
