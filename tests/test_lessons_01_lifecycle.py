"""Lessons of notebook 01 (the customer lifecycle), re-derived with other seeds than the
notebook's; and the bookkeeping of :func:`crmsim.analysis.value_by_stage`.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import crmsim
from crmsim.analysis import mean_ci, value_by_stage

SHOP = {"customers.initial": 1000}
SEEDS = (21, 22, 23, 24)


@functools.cache
def stage_tables() -> pd.DataFrame:
    sc = crmsim.load_scenario("retail_baseline").with_overrides(SHOP)
    return pd.concat({seed: value_by_stage(crmsim.simulate(sc, seed=seed)) for seed in SEEDS},
                     names=["seed"])


def paired(column: str, a: str, b: str) -> tuple[float, float, float]:
    wide = stage_tables()[column].unstack("stage")
    return mean_ci((wide[a] - wide[b]).to_numpy())


def test_value_by_stage_keeps_the_books_of_a_simple_lifecycle():
    """Without decline, a customer's stage follows from its count of repeat purchases alone, so
    every column can be rebuilt from the transactions: the purchase j (0 = the first) is made
    in the stage its j − 1 repeat purchases earned; the k-th repeat purchase is followed by a
    decision in the stage k earns."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides({
        "customers.initial": 300, "acquisition.rate": 1.0,
        "lifecycle.decline_satisfaction": -100.0, "lifecycle.decline_recency": 1e9})
    res = crmsim.simulate(sc, seed=5)
    table = value_by_stage(res)
    low, high = sc.lifecycle.formation_after, sc.lifecycle.stability_after

    def stage(repeats):
        return np.where(repeats >= high, "stability",
                        np.where(repeats >= low, "formation", "exploration"))

    tx = res.transactions().sort_values(["customer_id", "time"], kind="stable")
    j = tx.groupby("customer_id").cumcount().to_numpy()
    came_in = stage(np.maximum(j - 1, 0))
    expected_revenue = tx["amount"].groupby(came_in).sum()
    c = res.customers
    repeats = c["purchases"].to_numpy() - 1
    decisions = {s: 0 for s in ("exploration", "formation", "stability")}
    for r in repeats:
        for k in range(1, r + 1):
            decisions[str(stage(np.array(k)))] += 1
    gone = c["churned_at"].notna().to_numpy()
    churned = pd.Series(stage(repeats[gone])).value_counts()
    # time: from the purchase that entered a stage to the one that left it (or the end)
    ends = np.where(gone, c["churned_at"], sc.horizon)
    times = tx.groupby("customer_id")["time"].apply(list)
    expected_time = dict.fromkeys(decisions, 0.0)
    for cid, purchase_times in times.items():
        bounds = [purchase_times[0]]
        for first_repeat in (low, high):  # the stage changes at these repeat purchases
            if first_repeat < len(purchase_times):
                bounds.append(purchase_times[first_repeat])
        bounds.append(ends[cid])
        for name, start, end in zip(("exploration", "formation", "stability"), bounds,
                                    bounds[1:]):
            expected_time[name] += end - start

    assert "decline" not in table.index
    for name in decisions:
        assert table.loc[name, "revenue"] == pytest.approx(expected_revenue.get(name, 0.0))
        assert table.loc[name, "decisions"] == decisions[name]
        assert table.loc[name, "churned"] == churned.get(name, 0)
        assert table.loc[name, "customer_time"] == pytest.approx(expected_time[name])
    assert table["churned"].sum() == res.kpis["churned"]
    assert table["share_of_churners"].sum() == pytest.approx(1.0)


def test_contractual_decisions_are_renewals_and_churns():
    res = crmsim.simulate(crmsim.load_scenario("telecom_baseline").with_overrides(
        {"customers.initial": 500}), seed=3)
    table = value_by_stage(res)
    payments = (res.events["kind"] == "payment").sum()
    renewals = payments - len(res.customers)
    assert table["decisions"].sum() == renewals + res.kpis["churned"]
    assert table["revenue"].sum() == pytest.approx(res.kpis["revenue"])


def test_the_churn_hazard_falls_as_the_relationship_matures():
    """Notebook 01 §4: exploration > formation > stability, paired by seed."""
    assert paired("churn_hazard", "exploration", "formation")[1] > 0
    assert paired("churn_hazard", "formation", "stability")[1] > 0


def test_stability_is_the_most_valuable_stage():
    """Notebook 01 §4: a stable customer pays well over 1.4 times as much per month as one in
    formation or exploration."""
    wide = stage_tables()["revenue_per_period"].unstack("stage")
    for other in ("exploration", "formation"):
        assert mean_ci((wide["stability"] / wide[other]).to_numpy())[1] > 1.4


def test_a_share_of_churners_is_not_a_hazard():
    """Notebook 01 §4: formation loses the most customers, though each of its decisions is
    safer than exploration's."""
    assert paired("share_of_churners", "formation", "exploration")[1] > 0
    assert paired("churn_hazard", "exploration", "formation")[1] > 0


def test_a_stage_definition_is_a_label_not_a_lever():
    """Notebook 01 §5 and exercise 01.2: counting customers as stable sooner puts more of them
    in stability and changes no KPI."""
    sc = crmsim.load_scenario("retail_baseline").with_overrides({"customers.initial": 300})
    relabelled = sc.with_overrides({"lifecycle.stability_after": 4})
    base, other = crmsim.simulate(sc, seed=25), crmsim.simulate(relabelled, seed=25)
    assert (other.timeseries["active_stability"].iloc[-1]
            > base.timeseries["active_stability"].iloc[-1])
    assert other.kpis == base.kpis
