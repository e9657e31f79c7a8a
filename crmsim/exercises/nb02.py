"""Exercises of notebook 02 (customer value and tiering; see :mod:`crmsim.exercises`).

Two decisions judged by the model: which ranking picks the VIPs who bring most of next
half-year's revenue (the 80/20 rule done with equal footing for every tenure), and whether to
buy subscribers at a price between the plug-in CLV and the heterogeneous (sBG) one.
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise, best_of

#: exercise 02.1: the shop, the day the VIPs are chosen, how long the future is watched
VIP_SHOP = {"customers.initial": 500, "horizon": 545}
VIP_DAY = 365
VIP_SEEDS = tuple(range(6))
VIP_SHARE = 0.2


def vip_scores(transactions, customers, day: float = VIP_DAY):
    """Exercise 02.1's rankings of the customers acquired by ``day``, from purchases up to it:
    ``revenue`` (to date), ``revenue_per_day`` (to date per day since acquisition, at least
    30) and ``last_90_days`` (revenue in the 90 days before ``day``)."""
    import numpy as np

    known = customers.set_index("customer_id")
    known = known[known["acquired_at"] <= day]
    past = transactions[transactions["time"] <= day]
    revenue = past.groupby("customer_id")["amount"].sum().reindex(known.index, fill_value=0.0)
    recent = past[past["time"] > day - 90].groupby("customer_id")["amount"].sum()
    return {"revenue": revenue,
            "revenue_per_day": revenue / np.maximum(day - known["acquired_at"], 30.0),
            "last_90_days": recent.reindex(known.index, fill_value=0.0)}


def captured_shares(result, day: float = VIP_DAY) -> dict[str, float]:
    """For each rule of :func:`vip_scores`, the share of the revenue after ``day`` (from the
    customers known then) that the rule's top 20% bring."""
    tx = result.transactions()
    scores = vip_scores(tx, result.customers, day)
    future = tx[tx["time"] > day].groupby("customer_id")["amount"].sum()
    future = future.reindex(scores["revenue"].index, fill_value=0.0)
    count = round(VIP_SHARE * len(future))
    return {rule: future[score.sort_values(ascending=False, kind="stable").index[:count]].sum()
            / future.sum() for rule, score in scores.items()}


@functools.cache
def vip_shares():
    """Exercise 02.1: :func:`captured_shares` per seed (a DataFrame: seed × rule)."""
    import pandas as pd

    import crmsim

    sc = crmsim.load_scenario("retail_baseline").with_overrides(VIP_SHOP)
    return pd.DataFrame({seed: captured_shares(crmsim.simulate(sc, seed=seed))
                         for seed in VIP_SEEDS}).T


#: exercise 02.2: the subscription business and the agency's price per subscriber
SUBSCRIPTION = {"margin": 50.0, "discount_rate": 0.01, "a": 2.0, "b": 6.0}
AGENCY_PRICE = 250.0


@functools.cache
def simulated_clv() -> tuple[float, float, float]:
    """Mean npv_margin (with its 95% interval) of new subscribers whose churn θ ~ Beta(2, 6):
    the validation CLV scenario with heterogeneous churn, 2,000 customers over 240 months."""
    import crmsim
    from crmsim.analysis import mean_ci

    s = SUBSCRIPTION
    sc = crmsim.load_scenario("validation/clv").with_overrides({
        "churn.base": {"dist": "beta", "a": s["a"], "b": s["b"]},
        "contract.price": 100.0, "economics.margin_rate": s["margin"] / 100.0,
        "economics.discount_rate": s["discount_rate"], "customers.initial": 2000,
        "horizon": 240})
    return mean_ci(crmsim.simulate(sc, seed=0).customers["npv_margin"].to_numpy())


def _buy_or_pass() -> str:
    mean, low, high = simulated_clv()
    return "buy" if low > AGENCY_PRICE else "pass" if high < AGENCY_PRICE else "unsure"


EXERCISES: dict[str, Exercise] = {
    "02.1": Exercise(
        f"On day {VIP_DAY} the shop (retail baseline, 500 customers, run to day "
        f"{VIP_SHOP['horizon']}) makes {VIP_SHARE:.0%} of the customers it has acquired so "
        "far VIPs. Rank them by 'revenue' (to date), 'revenue_per_day' (revenue to date ÷ days "
        "since acquisition, counting at least 30 days) or 'last_90_days' (revenue in the last "
        "90 days) — crmsim.exercises.nb02.vip_scores computes all three. Which rule's VIPs "
        "bring the largest share of the revenue that the customers acquired by day "
        f"{VIP_DAY} bring after it (seeds 0–5)? Any rule whose paired "
        "difference to the best covers 0 counts.",
        lambda: best_of(vip_shares())[0],
        "revenue to date ranks customers by how long they have been there as much as by how "
        "much they buy",
        accepted=lambda: best_of(vip_shares())[1]),
    "02.2": Exercise(
        f"A subscription pays a margin of {SUBSCRIPTION['margin']:g} a month (discount "
        f"{SUBSCRIPTION['discount_rate']:.0%} a month); subscribers' monthly churn θ differs: "
        f"θ ~ Beta({SUBSCRIPTION['a']:g}, {SUBSCRIPTION['b']:g}) (mean 0.25). An agency sells "
        f"new subscribers at {AGENCY_PRICE:g} each. 'buy' (their lifetime value is reliably "
        "above the price), 'pass' (reliably below) or 'unsure'? Judge by the simulated "
        "customers: the validation CLV scenario (crmsim.load_scenario('validation/clv')) with "
        "churn.base a Beta(2, 6), price 100, margin rate 0.5, 2,000 customers, 240 months, "
        "seed 0 — the mean npv_margin and its 95% interval.",
        _buy_or_pass,
        "the plug-in formula with the mean retention 0.75 says about 194; but loyal "
        "subscribers stay much longer than the mean suggests (sBG: analysis.clv_sbg)",
        accepted=lambda: frozenset({_buy_or_pass()})),
}
