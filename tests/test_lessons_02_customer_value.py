"""Lessons of notebook 02 (customer value and tiering), re-derived with other seeds than the
notebook's."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import crmsim
from crmsim.analysis import clv_constant_retention, mean_ci
from crmsim.exercises import nb02


def top20_share(values) -> float:
    ranked = np.sort(np.asarray(values, dtype=float))[::-1]
    return ranked[: round(0.2 * len(ranked))].sum() / ranked.sum()


@functools.cache
def concentration() -> pd.DataFrame:
    sc = crmsim.load_scenario("retail_baseline").with_overrides({"customers.initial": 1000})
    rows = {}
    for seed in (31, 32, 33, 34):
        res = crmsim.simulate(sc, seed=seed)
        c, tx = res.customers, res.transactions()
        cohort = c.loc[c["acquired_at"] == 0, "customer_id"]
        month = (tx[(tx["time"] < 30) & tx["customer_id"].isin(cohort)]
                 .groupby("customer_id")["amount"].sum().reindex(cohort, fill_value=0))
        on_top = c["revenue"].rank(ascending=False, method="first") <= round(0.2 * len(c))
        rows[seed] = {"cohort_month": top20_share(month),
                      "cohort_year": top20_share(c.loc[c["acquired_at"] == 0, "revenue"]),
                      "day0_all": (c["acquired_at"] == 0).mean(),
                      "day0_top": (c.loc[on_top, "acquired_at"] == 0).mean()}
    return pd.DataFrame(rows).T


def test_a_cohort_is_a_60_20_base_and_grows_more_unequal_with_the_window():
    """Notebook 02 §3: with equal tenure the top 20% bring about 60% of a year's revenue, and
    clearly less of the first month's."""
    table = concentration()
    _, low, high = mean_ci(table["cohort_year"].to_numpy())
    assert 0.53 < low and high < 0.65
    assert mean_ci((table["cohort_year"] - table["cohort_month"]).to_numpy())[1] > 0.03


def test_ranking_a_mixed_base_by_revenue_favours_old_customers():
    """Notebook 02 §3: day-0 customers are over-represented in the whole base's top 20%."""
    table = concentration()
    assert mean_ci((table["day0_top"] - table["day0_all"]).to_numpy())[1] > 0.08


def test_a_tenure_fair_ranking_finds_next_years_best_customers():
    """Exercise 02.1 with other seeds: revenue per day since acquisition picks VIPs who bring
    more of the next half year's revenue than revenue to date does."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides(nb02.VIP_SHOP)
    gains = []
    for seed in range(40, 46):
        shares = nb02.captured_shares(crmsim.simulate(sc, seed=seed))
        gains.append(shares["revenue_per_day"] - shares["revenue"])
    assert mean_ci(gains)[1] > 0


def test_the_baseline_loses_money_on_the_customers_it_drops():
    """Notebook 02 §6: kept, the customers the policy drops cost more than their margin after
    the drop day; dropping them raises profit by exactly that loss (common random numbers)."""
    serve = crmsim.load_scenario("retail_baseline").with_overrides({
        "customers.initial": 500, "acquisition.rate": 1.5, "economics.cost_to_serve": 0.25,
        "tiering.enabled": True, "tiering.method": "clv"})
    drop = serve.with_overrides({"tiering.drop_unprofitable": True})
    q = serve.satisfaction.service_quality
    per_day = (serve.economics.cost_to_serve + serve.satisfaction.quality_cost * q / (1 - q)
               + serve.switching_cost.upkeep * serve.switching_cost.procedural)
    nets, gains = [], []
    for seed in (51, 52, 53):
        kept, dropping = crmsim.simulate(serve, seed=seed), crmsim.simulate(drop, seed=seed)
        gone = dropping.customers[dropping.customers["churn_reason"] == "dropped"]
        when = gone.set_index("customer_id")["churned_at"]
        tx = kept.transactions().merge(when.rename("dropped_at"), left_on="customer_id",
                                       right_index=True)
        margin = tx.loc[tx["time"] > tx["dropped_at"], "amount"].sum() * 0.3
        end = kept.customers.set_index("customer_id")["churned_at"].reindex(when.index)
        days = (end.fillna(serve.horizon) - when).clip(lower=0).sum()
        nets.append(margin - days * per_day)
        gains.append(dropping.kpis["profit"] - kept.kpis["profit"])
    assert mean_ci(nets)[2] < 0
    assert gains == pytest.approx([-n for n in nets], rel=1e-6)


def test_heterogeneous_subscribers_are_worth_more_than_the_plug_in_clv():
    """Notebook 02 §5 and exercise 02.2: simulated subscribers with θ ~ Beta(2, 6) are worth
    the sBG value, well above the mean-retention formula's."""
    mean, low, high = nb02.simulated_clv()
    s = nb02.SUBSCRIPTION
    plug_in = clv_constant_retention(s["margin"], 1 - s["a"] / (s["a"] + s["b"]),
                                     s["discount_rate"])
    assert low > 1.3 * plug_in
    assert low < crmsim.analysis.clv_sbg(s["margin"], s["a"], s["b"], s["discount_rate"]) < high
