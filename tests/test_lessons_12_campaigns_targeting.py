"""The lessons of notebook 12 (campaigns and targeting), re-derived with replications.

Each test states a claim the notebook makes and checks it with 95% intervals over paired
replications of the notebook's shop (``crmsim.exercises.campaign_variant``) — with other seeds
than the notebook's, so a lesson is not one lucky draw — and a change of the model that breaks a
lesson fails here, not silently in a committed notebook.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

import crmsim
from crmsim.analysis import mean_ci
from crmsim.exercises import BUDGET_CHOICES, campaign_variant

REPLICATIONS = 5
#: the notebook uses comparison seed 0 and runs 0–19; these are others
SEED = 1
RUNS = range(20, 25)


def calls(rule: str) -> crmsim.Scenario:
    """100 phone calls (a fifth held out) to the customers a rule picks."""
    return campaign_variant({"channel": "phone", "target": {"rule": rule, "top": 100}})


@functools.cache
def strategies() -> crmsim.experiment.Comparison:
    return crmsim.compare({"sms to all": campaign_variant(BUDGET_CHOICES["sms_all"]),
                           "rfm": calls("rfm"), "likely": calls("purchase_probability"),
                           "uplift": calls("uplift")},
                          replications=REPLICATIONS, seed=SEED, progress=False)


def per_replication(kpi: str) -> pd.DataFrame:
    return strategies().per_replication(kpi)


def test_naive_campaign_revenue_is_many_times_the_true_increment():
    """Section 2: what the contacted customers bought in the window (the naive "campaign
    revenue") is more than five times what the campaign added."""
    gaps = []
    for seed in RUNS:
        wave = crmsim.simulate(campaign_variant(BUDGET_CHOICES["sms_all"]),
                               seed=seed).table("campaigns").iloc[0]
        gaps.append(wave["revenue_treated"] - 5 * wave["true"])
    assert mean_ci(gaps)[1] > 0


def test_the_measurement_is_unbiased_and_its_intervals_mostly_cover_the_truth():
    """Section 2: over replications the measured incremental revenue is right on average,
    and most 95% intervals contain the truth."""
    waves = pd.concat([crmsim.simulate(campaign_variant(BUDGET_CHOICES["sms_all"]), seed=seed)
                       .table("campaigns") for seed in range(20, 40)], ignore_index=True)
    _, low, high = mean_ci(waves["measured"] - waves["true"])
    assert low < 0 < high
    covered = (waves["measured_low"] <= waves["true"]) & (waves["true"] <= waves["measured_high"])
    assert covered.sum() >= 15
    assert ((waves["measured_high"] - waves["measured_low"]) / 2).mean() > 3 * waves["true"].mean()


def test_calls_pay_only_when_ranked_by_uplift():
    """Section 3: the calls ranked by the true uplift pay; the calls to the best RFM customers
    and to the most likely buyers lose money; the cheap SMS to everyone pays."""
    effect = per_replication("campaign_profit_effect_true")
    assert mean_ci(effect["uplift"])[1] > 0
    assert mean_ci(effect["sms to all"])[1] > 0
    for rule in ("rfm", "likely"):
        assert mean_ci(effect[rule])[2] < 0, rule
        assert mean_ci(effect["uplift"] - effect[rule])[1] > 0, rule


def test_the_most_likely_buyers_are_sure_things_and_annoyed_customers_leave_later():
    """Section 4: sure things are the largest group of the likely buyers called, far above
    their share of the customers (over 1.5 times), and outnumber the persuadables called. Calls
    to the best customers (RFM, likely buyers) lose more over the whole run than in their
    30-day window, because the do-not-disturbs they annoy leave after it."""
    above, versus_persuadables = [], []
    for seed in RUNS:
        run = crmsim.simulate(calls("purchase_probability"), seed=seed)
        contacted = run.customers[run.customers["campaign_contacts"] > 0]["response_type"]
        called = (contacted == "sure_thing").mean()
        overall = (run.customers["response_type"] == "sure_thing").mean()
        above.append(called - 1.5 * overall)
        versus_persuadables.append(called - (contacted == "persuadable").mean())
    assert mean_ci(above)[1] > 0
    assert mean_ci(versus_persuadables)[1] > 0
    # the calls to the best customers (RFM, likely buyers), pooled over both rules
    later = (per_replication("campaign_profit_effect_true")[["rfm", "likely"]]
             - per_replication("campaign_incremental_profit_true")[["rfm", "likely"]])
    assert mean_ci(later.to_numpy().ravel())[2] < 0
    annoyed = per_replication("campaign_annoyed")
    assert mean_ci(annoyed[["rfm", "likely"]].to_numpy().ravel())[1] > 0
    assert np.all(annoyed["uplift"] == 0)
