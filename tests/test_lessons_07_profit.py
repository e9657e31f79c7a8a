"""The lessons of notebook 07 (profit: retention versus acquisition), re-derived with replications.

Each test states a claim the notebook prints and checks it through 95% intervals over paired
replications — with other seeds than the notebook's, so the lesson is not one lucky draw — and
so a model change that breaks a lesson fails here, not silently in a committed notebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import crmsim
from crmsim.analysis import clv_constant_retention, mean_ci, profit_by_tenure, proportion_ci
from crmsim.exercises import nb07
from crmsim.model.churn import probability


def reichheld_sasser(**overrides) -> crmsim.Scenario:
    return crmsim.load_scenario("reichheld_sasser").with_overrides(
        {"customers.initial": 1000, **overrides})


FLAT = {"economics.spend_growth": 0, "economics.price_premium": 0,
        "economics.serve_cost_decline": 0, "acquisition.referral_rate": 0}


def test_profit_per_customer_grows_with_tenure_mostly_from_buying_more():
    """Section 2: profit per customer rises every year of the first five, year 5 brings at
    least four times year 0, and increased purchases are the largest tenure effect."""
    tables = [profit_by_tenure(crmsim.simulate(reichheld_sasser(), seed=seed))
              for seed in range(10, 14)]
    ratio = [t["profit"].iloc[5] / t["profit"].iloc[0] for t in tables]
    assert mean_ci(ratio)[1] > 4
    mean = pd.concat(tables).groupby(level=0).mean()
    assert (np.diff(mean["profit"].iloc[:6].to_numpy()) > 0).all()
    effects = ["increased_purchases", "reduced_operating_cost", "referrals", "price_premium"]
    assert mean.loc[5, effects].idxmax() == "increased_purchases"


def test_a_five_point_cut_in_annual_defection_is_worth_more_with_tenure_effects():
    """Section 3: 10% → 5% annual defection raises the cohort's NPV profit by more with tenure
    effects than with flat profits; the flat gain is the CLV formula's (24.7% for the run's 30
    yearly payments)."""
    rs, flat = reichheld_sasser(), reichheld_sasser(**FLAT)
    cut = crmsim.compare({"rs 10%": rs, "rs 5%": rs.with_overrides({"churn.base": 0.05}),
                          "flat 10%": flat, "flat 5%": flat.with_overrides({"churn.base": 0.05})},
                         replications=4, seed=7, progress=False)
    npv = cut.per_replication("npv_profit")
    with_tenure = (npv["rs 5%"] / npv["rs 10%"] - 1).to_numpy()
    without = (npv["flat 5%"] / npv["flat 10%"] - 1).to_numpy()
    assert mean_ci(with_tenure - without)[1] > 0.08
    assert 0.25 <= mean_ci(with_tenure)[1]
    formula = (clv_constant_retention(10, 0.95, 0.15, periods=30)
               / clv_constant_retention(10, 0.9, 0.15, periods=30) - 1)
    _, low, high = mean_ci(without)
    assert low <= formula <= high


def test_keeping_a_subscriber_is_cheaper_than_winning_one_here():
    """Section 4.2: random mild retention offers keep a subscriber for less than the CAC of 150
    (the cost per saved customer matches its closed form), and the same 500 a month adds more
    NPV profit as offers than as paid acquisition."""
    business = nb07.subscription_business(horizon=36)
    choices = {"acquisition": business.with_overrides({"acquisition.rate": 25 + 500 / 150}),
               "mild offers": nb07.with_offers(business, -0.5)}
    cmp = crmsim.compare(choices, replications=4, seed=3, progress=False)
    saved = cmp.per_replication("offers_saved")["mild offers"]
    offers = cmp.per_replication("offers")["mild offers"]
    share, low, high = proportion_ci(int(saved.sum()), int(offers.sum()))
    cost = 5 * 0.5
    assert cost < 150 * low
    closed_form = 0.10 - probability(0.10, -0.5)
    assert low <= closed_form <= high
    npv = cmp.per_replication("npv_profit")
    assert mean_ci((npv["mild offers"] - npv["acquisition"]).to_numpy())[1] > 0


def test_selective_acquisition_pays_up_to_a_point():
    """Section 5: at a CAC of 25, acquiring only the better 40% of prospects (selectivity 0.6)
    beats acquiring anyone, and beats the best 10% (selectivity 0.9, a CAC of 250)."""
    shop = nb07.selective_shop(cac=25)
    cmp = crmsim.compare({f"{s}": shop.with_overrides({"acquisition.selectivity": s})
                          for s in (0.0, 0.6, 0.9)}, replications=3, seed=5, progress=False)
    npv = cmp.per_replication("npv_profit")
    assert mean_ci((npv["0.6"] - npv["0.0"]).to_numpy())[1] > 0
    assert mean_ci((npv["0.6"] - npv["0.9"]).to_numpy())[1] > 0


def _adoption(quality: float, seed: int) -> np.ndarray:
    """Customers won (initial ones included) by the end of each 30-day period of the year."""
    town = nb07.word_of_mouth_town().with_overrides({"satisfaction.service_quality": quality})
    acquired = np.sort(crmsim.simulate(town, seed=seed).customers["acquired_at"].to_numpy())
    return np.searchsorted(acquired, np.arange(0, 361, 30), side="right")


def test_word_of_mouth_adoption_is_an_s_curve_that_better_service_speeds_up():
    """Section 6: in the town, adoption at service quality 0.8 is an S — new customers per 30
    days rise to a peak inside the year and fall as the town runs out — that reaches nearly
    everyone; at 0.7 half the town takes longer to win (paired over the same seeds)."""
    seeds = range(10, 15)
    good = np.array([_adoption(0.8, s) for s in seeds])
    fair = np.array([_adoption(0.7, s) for s in seeds])
    assert mean_ci(good[:, -1] / 600)[1] > 0.95
    per_period = np.diff(good, axis=1).mean(axis=0)
    peak = int(np.argmax(per_period))
    assert 0 < peak < len(per_period) - 2
    assert per_period[-1] < 0.25 * per_period[peak]
    half = [(np.argmax(g >= 300), np.argmax(f >= 300) if f[-1] >= 300 else len(f))
            for g, f in zip(good, fair, strict=True)]
    assert mean_ci([f - g for g, f in half])[1] > 0
