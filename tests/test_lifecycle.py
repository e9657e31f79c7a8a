"""Lifecycle stages read off behaviour, recorded at every change."""

from __future__ import annotations

import numpy as np
import pytest

import crmsim
from crmsim.model import lifecycle

STEADY = {
    "customers.initial": 200, "horizon": 400, "purchase.rate": 0.05, "purchase.spend": 10,
    "churn.base": 0.0, "satisfaction.quality_noise": 0.0, "satisfaction.expectation_noise": 0.0,
    "lifecycle.decline_recency": 1000.0,
}


def _stage_sequences(res):
    stages = res.events[res.events["kind"] == "stage"]
    return stages.groupby("customer_id")["details"].apply(list)


def test_customers_move_through_exploration_formation_stability():
    res = crmsim.simulate(crmsim.Scenario().with_overrides(STEADY), seed=1)
    sequences = _stage_sequences(res)
    allowed = [["exploration"], ["exploration", "formation"],
               ["exploration", "formation", "stability"]]
    assert all(seq in allowed for seq in sequences)
    assert (sequences.apply(len) == 3).mean() > 0.8  # 400 days at 0.05/day: most reach it
    # formation begins exactly at the 3rd purchase (2 repeats), stability at the 7th (6 repeats)
    tx = res.transactions()
    tx["n"] = tx.groupby("customer_id").cumcount() + 1
    stages = res.events[res.events["kind"] == "stage"].merge(
        tx[["customer_id", "time", "n"]], on=["customer_id", "time"])
    assert set(stages.loc[stages["details"] == "formation", "n"]) == {3}
    assert set(stages.loc[stages["details"] == "stability", "n"]) == {7}


def test_recency_decline_happens_at_the_customers_own_silence_limit():
    sc = crmsim.Scenario().with_overrides({**STEADY, "lifecycle.decline_recency": 1.5})
    res = crmsim.simulate(sc, seed=2)
    ev = res.events
    declines = ev[(ev["kind"] == "stage") & (ev["details"] == "decline")]
    assert len(declines) > 50
    purchases = ev[ev["kind"] == "purchase"]
    limit = 1.5 / 0.05
    for _, row in declines.head(40).iterrows():
        before = purchases[(purchases["customer_id"] == row["customer_id"])
                           & (purchases["time"] < row["time"])]["time"].max()
        assert row["time"] - before == pytest.approx(limit)
    # the next purchase ends the decline
    seqs = _stage_sequences(res)
    recovered = seqs.apply(lambda s: any(a == "decline" and b != "decline"
                                         for a, b in zip(s, s[1:])))
    assert recovered.sum() > 10


def test_dissatisfaction_marks_decline():
    sc = crmsim.Scenario().with_overrides({**STEADY, "satisfaction.service_quality": 0.4})
    res = crmsim.simulate(sc, seed=3)
    final = res.customers["stage"].value_counts()
    assert final.get("decline", 0) == len(res.customers)


def test_timeseries_stage_counts_match_the_stage_events(retail_small):
    res = crmsim.simulate(retail_small, seed=4)
    stages = res.events[res.events["kind"] == "stage"]
    for _, row in res.timeseries.iloc[1:].iterrows():
        t = row["time"]
        last = stages[stages["time"] <= t].groupby("customer_id")["details"].last()
        counts = last.value_counts()
        for stage in lifecycle.ACTIVE_STAGES:
            assert row[f"active_{stage}"] == counts.get(stage, 0), (t, stage)
        assert row["active"] == sum(counts.get(s, 0) for s in lifecycle.ACTIVE_STAGES)


def test_churned_customers_end_in_churned_stage(retail_small):
    res = crmsim.simulate(retail_small, seed=4)
    churned = res.customers["churned_at"].notna()
    assert (res.customers.loc[churned, "stage"] == "churned").all()
    assert (res.customers.loc[~churned, "stage"] != "churned").all()
    assert np.isin(res.customers.loc[churned, "churn_reason"],
                   ["natural", "dissatisfaction", "low_switching_cost"]).all()
