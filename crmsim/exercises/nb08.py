"""Exercises of notebook 08 — research experiments (see :mod:`crmsim.exercises`).

Three decisions a researcher takes, judged by the model with paired replications under common
random numbers: which policy to recommend, whether a change surely pays, and how many
replications an experiment needs.
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise, best_paired

#: notebook 08's shop: the retail baseline, small (300 customers over 180 days)
RESEARCH_SHOP = {"customers.initial": 300, "horizon": 180}

#: exercise 08.1: the service levels to choose from
SERVICE_LEVELS = (0.6, 0.7, 0.8, 0.9)

#: exercise 08.3: the precision asked for, and the numbers of replications to choose from
TARGET_HALFWIDTH = 600
REPLICATION_CHOICES = (2, 3, 4, 5, 6, 8)


def research_shop(**overrides):
    """Notebook 08's shop (:data:`RESEARCH_SHOP`) with dotted overrides."""
    import crmsim

    return crmsim.load_scenario("retail_baseline").with_overrides(
        {**RESEARCH_SHOP, **overrides})


@functools.cache
def _cheaper_quality_decision():
    import crmsim

    shop = research_shop(**{"satisfaction.quality_cost": 0.01})
    return best_paired(crmsim.compare(
        {f"{q:g}": shop.with_overrides({"satisfaction.service_quality": q})
         for q in SERVICE_LEVELS}, replications=4, seed=0, progress=False), "profit")


def verdict(comparison, scenario: str, kpi: str = "profit") -> str:
    """'yes' if the paired 95% interval of ``kpi`` (scenario − reference) lies above 0, 'no' if
    below, 'cannot tell' if it covers 0."""
    row = comparison.differences.loc[(scenario, kpi)]
    return "yes" if row["low"] > 0 else "no" if row["high"] < 0 else "cannot tell"


@functools.cache
def _price_cut_verdict() -> str:
    import crmsim

    shop = research_shop()
    cmp = crmsim.compare({"now": shop,
                          "5% cheaper": shop.with_overrides({"economics.price_index": 0.95})},
                         replications=8, seed=0, progress=False)
    return verdict(cmp, "5% cheaper")


@functools.cache
def _replications_needed() -> str:
    import crmsim
    from crmsim.analysis import mean_ci

    shop = research_shop()
    most = max(REPLICATION_CHOICES)
    cmp = crmsim.compare({"0.7": shop,
                          "0.9": shop.with_overrides({"satisfaction.service_quality": 0.9})},
                         replications=most, seed=0, progress=False)
    wide = cmp.per_replication("profit")
    difference = (wide["0.9"] - wide["0.7"]).to_numpy()
    for n in REPLICATION_CHOICES:  # replication k has the same seed in every experiment
        _, low, high = mean_ci(difference[:n])
        if (high - low) / 2 <= TARGET_HALFWIDTH:
            return str(n)
    return f"more than {most}"


EXERCISES: dict[str, Exercise] = {
    "08.1": Exercise(
        "Notebook 08's shop (crmsim.exercises.nb08.research_shop()), but service quality costs "
        "half as much (satisfaction.quality_cost 0.01). Which service level of 0.6, 0.7, 0.8, "
        "0.9 makes the most profit in 180 days? (a sweep or a comparison with 4 paired "
        "replications, seed 0)",
        lambda: _cheaper_quality_decision()[0],
        "cheaper quality moves the optimum: sweep satisfaction.service_quality and compare each "
        "level with the best one pair by pair",
        accepted=lambda: _cheaper_quality_decision()[1]),
    "08.2": Exercise(
        "Should the shop (research_shop()) cut its prices by 5% (economics.price_index 0.95)? "
        "Compare it with today's prices in 8 paired replications (seed 0) and answer 'yes' "
        "(profit in 180 days surely rises), 'no' (surely falls) or 'cannot tell' (the 95% "
        "interval of the paired difference covers 0).",
        _price_cut_verdict,
        "cmp.differences.loc[('5% cheaper', 'profit')]: where does its interval lie?"),
    "08.3": Exercise(
        "You must report the profit difference of service quality 0.9 against 0.7 in the shop "
        "(research_shop()) to within ±600 (the half-width of its paired 95% interval). How many "
        "paired replications do you need, at the fewest, of 2, 3, 4, 5, 6, 8 (seed 0; "
        "replication k is the same in every experiment)?",
        _replications_needed,
        "run a few paired replications, estimate the sd of the difference, and use "
        "half-width ≈ t(n − 1) · sd / √n — or run 8 and look at the first n"),
}
