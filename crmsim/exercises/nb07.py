"""Exercises of notebook 07 — profit: retention versus acquisition (see :mod:`crmsim.exercises`).

Three decisions judged by the model (paired replications under common random numbers; every
choice whose paired difference to the best one has a 95% interval reaching 0 is accepted) and
one number that teaches what CLV is for (the most a new customer may cost).
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise, best_paired

#: notebook 07's subscription business at half size: 250 subscribers, 25 new ones a month at
#: a CAC of 150, overhead 1,250 a month (retention_vs_acquisition halved)
HALF_BUSINESS = {"customers.initial": 250, "acquisition.rate": 25, "economics.fixed_cost": 1250}

#: retention offers to random subscribers, one a month, each acting on one renewal
RANDOM_OFFERS = {"warning.enabled": True, "warning.every": 1, "warning.window": 1,
                 "warning.targeting": "random", "warning.offer_cost": 5,
                 "warning.response": "uniform", "warning.offer_duration": 1,
                 "warning.survey_rate": 0}

#: exercise 07.1: what 500 more a month can buy (offer strengths: the push on the churn index)
BUDGET = 500
OFFER_STRENGTHS = {"strong_offers": -2.0, "mild_offers": -0.5}

#: exercise 07.2: the shop's choices of how selective paid acquisition is
SELECTIVITIES = (0.0, 0.2, 0.4, 0.6, 0.8)

#: exercise 07.3 and notebook 07 section 6: a new shop in a town of 600 prospects, with no paid
#: marketing, whose customers talk (satisfied ones recommend, dissatisfied ones warn); word of
#: mouth is recounted four times a day
WORD_OF_MOUTH_TOWN = {"customers.initial": 6, "acquisition.rate": 0,
                      "acquisition.market_size": 600, "acquisition.innovation": 0.001,
                      "acquisition.imitation": 0.04, "acquisition.word_of_mouth": "satisfaction",
                      "acquisition.update_every": 0.25}
SERVICE_LEVELS = (0.6, 0.7, 0.8, 0.9)


def subscription_business(**overrides):
    """Notebook 07's subscription business (retention_vs_acquisition at half size)."""
    import crmsim

    return crmsim.load_scenario("retention_vs_acquisition").with_overrides(
        {**HALF_BUSINESS, **overrides})


def with_offers(scenario, strength: float, budget: float = BUDGET):
    """``scenario`` spending ``budget`` a month on random retention offers of ``strength``
    (each costs offer_cost × |strength|)."""
    per_offer = RANDOM_OFFERS["warning.offer_cost"] * abs(strength)
    return scenario.with_overrides({**RANDOM_OFFERS, "warning.offer_effect": strength,
                                    "warning.top_k": int(budget / per_offer)})


def budget_choices(cac: float, horizon: float = 24) -> dict:
    """The business with a CAC of ``cac``, and what :data:`BUDGET` more a month buys: more
    paid acquisition, or retention offers of each strength."""
    base = subscription_business(**{"acquisition.cost_per_acquisition": cac, "horizon": horizon})
    choices = {"acquisition": base.with_overrides(
        {"acquisition.rate": base.acquisition.rate + BUDGET / cac})}
    choices.update({name: with_offers(base, strength)
                    for name, strength in OFFER_STRENGTHS.items()})
    return choices


@functools.cache
def _budget_decision():
    import crmsim

    return best_paired(crmsim.compare(budget_choices(cac=50), replications=4, seed=0,
                                      progress=False), "npv_profit")


def selective_shop(cac: float = 50):
    """The retail shop, small (200 customers, 3 paid acquisitions a day at ``cac``)."""
    import crmsim

    return crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 200, "acquisition.rate": 3.0,
         "acquisition.cost_per_acquisition": cac})


@functools.cache
def _selectivity_decision():
    import crmsim

    shop = selective_shop()
    return best_paired(crmsim.compare(
        {f"{s:g}": shop.with_overrides({"acquisition.selectivity": s}) for s in SELECTIVITIES},
        replications=3, seed=0, progress=False), "npv_profit")


def word_of_mouth_town():
    """The new shop in a town of 600 prospects (:data:`WORD_OF_MOUTH_TOWN`), for one year."""
    import crmsim

    return crmsim.load_scenario("retail_baseline").with_overrides(WORD_OF_MOUTH_TOWN)


@functools.cache
def _service_decision():
    import crmsim

    town = word_of_mouth_town()
    return best_paired(crmsim.compare(
        {f"{q:g}": town.with_overrides({"satisfaction.service_quality": q})
         for q in SERVICE_LEVELS}, replications=4, seed=0, progress=False), "npv_profit")


def _break_even_cac() -> float:
    from crmsim.analysis import clv_constant_retention

    return round(float(clv_constant_retention(25, 0.9, 0.01)), 2)


EXERCISES: dict[str, Exercise] = {
    "07.1": Exercise(
        "The subscription business (crmsim.exercises.nb07.budget_choices) has found a channel "
        "where a new subscriber costs 50 instead of 150. It can spend 500 a month more: on "
        "paid acquisition, or on retention offers to random subscribers — 'strong_offers' "
        "(effect −2, 10 each) or 'mild_offers' (effect −0.5, 2.5 each). Which makes the most "
        "NPV profit over 24 months: 'acquisition', 'strong_offers' or 'mild_offers'? (4 paired "
        "replications, seed 0: budget_choices(cac=50))",
        lambda: _budget_decision()[0],
        "compare the cost per saved customer of each offer (offer cost / (θ − churn under the "
        "offer), θ = 0.10) with the cost of a new subscriber — a saved and a new subscriber "
        "are worth the same here",
        accepted=lambda: _budget_decision()[1]),
    "07.2": Exercise(
        "The retail shop (crmsim.exercises.nb07.selective_shop(), 3 paid acquisitions a day "
        "at 50 each) chooses how selective its paid acquisition is. Which selectivity of "
        "0, 0.2, 0.4, 0.6, 0.8 makes the most NPV profit in a year? (3 paired replications, "
        "seed 0)",
        lambda: _selectivity_decision()[0],
        "a selectivity s costs 1/(1 − s) times as much per customer: better customers pay "
        "only while they bring more than the search costs",
        accepted=lambda: _selectivity_decision()[1]),
    "07.3": Exercise(
        "The new shop in a town of 600 prospects (crmsim.exercises.nb07.word_of_mouth_town()) "
        "grows only by word of mouth. Which service quality of 0.6, 0.7, 0.8, 0.9 makes the "
        "most NPV profit in its first year, quality costs included? (4 paired replications, "
        "seed 0)",
        lambda: _service_decision()[0],
        "dissatisfied customers warn others, so poor service loses the customers it never "
        "gets; but quality costs q/(1 − q) per customer-day",
        accepted=lambda: _service_decision()[1]),
    "07.4": Exercise(
        "A subscriber brings margin 25 a month (paid at sign-up and at each renewal), renews "
        "with probability 0.9 a month; money is discounted at 1% a month. What is the most "
        "the firm can pay to acquire one (the break-even CAC)? (two decimals)",
        _break_even_cac,
        "a new subscriber is worth its CLV, m(1 + i)/(1 + i − r): "
        "crmsim.analysis.clv_constant_retention",
        tolerance=0.005),
}
