"""Tiering (客户分级): the classification, tier resources and dropping unprofitable customers."""

from __future__ import annotations

import numpy as np
import pytest

import crmsim
from crmsim.model.market import Market
from crmsim.policies.tiering import classify


def test_classify_abc_rfm_and_clv_by_hand():
    margin = [100.0, 10.0, 50.0, 5.0, 35.0]
    purchases = [10, 1, 5, 1, 2]
    last = [99.0, 10.0, 90.0, 95.0, 50.0]
    acquired = [0.0, 0.0, 80.0, 90.0, 0.0]
    # of 200, the share before each (largest first): 100 → 0, 50 → .5, 35 → .75, 10 → .925,
    # 5 → .975: A A A B C
    assert classify("abc", 100.0, margin, purchases, last, acquired).tolist() == [
        "key", "ordinary", "key", "small", "key"]
    # clv: margin per time 1, .1, 2.5, 1 (tenure floored at 5), .35 → key is customer 2 only
    clv = classify("clv", 100.0, margin, purchases, last, acquired, shares=(0.2, 0.4),
                   min_tenure=5.0)
    assert clv.tolist() == ["ordinary", "small", "key", "ordinary", "small"]
    # rfm totals: r (1, 99→5 ...) + f + m; customer 0 is best on all three
    rfm = classify("rfm", 100.0, margin, purchases, last, acquired, shares=(0.2, 0.4))
    assert rfm[0] == "key" and rfm[1] == "small"


@pytest.fixture
def tiered(complaints_small):
    return complaints_small.with_overrides({
        "tiering.enabled": True, "tiering.method": "abc", "tiering.every": 30})


@pytest.fixture
def complaints_small():
    return crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 600, "horizon": 180, "acquisition.rate": 2.0})


def test_customers_get_value_tiers_and_key_customers_hold_most_value(tiered):
    res = crmsim.simulate(tiered, seed=1)
    active = res.customers[res.customers["churned_at"].isna()]
    assert set(active["tier"].unique()) <= {"key", "ordinary", "small", "none"}
    assert res.kpis["active_key"] == (active["tier"] == "key").sum() > 0
    # tiers were set from the margin at the last classification (t = 180), so the key
    # customers' revenue up to then is at least 80% of the total minus the last crossing one
    tier_events = res.events[res.events["kind"] == "value_tier"]
    assert len(tier_events) > 0 and set(tier_events["details"]) <= {"key", "ordinary", "small"}
    assert {"active_key", "active_ordinary", "active_small"} <= set(res.timeseries.columns)


def test_tier_desk_priority_keeps_key_customers_from_hanging_up(tiered):
    sc = tiered.with_overrides({"service.agents": 1, "service.contact_rate": 0.3,
                                "tiering.key.desk_priority": -5, "tiering.small.desk_priority": 5})
    market = Market(sc, np.random.SeedSequence(2)).run()
    levels = {"key": -5, "ordinary": 0, "small": 5, "none": 0}
    for c in market.customers:
        assert c.priority_boost == -levels[c.tier]
    res = crmsim.simulate(sc, seed=2)
    contacts = res.contacts.merge(res.customers[["customer_id", "tier"]], on="customer_id")
    abandoned = (~contacts["answered"]).groupby(contacts["tier"], observed=True).mean()
    assert res.kpis["desk_abandon_rate"] > 0.1  # a queue that matters
    assert abandoned["key"] < abandoned["ordinary"] < abandoned["small"]


def test_dropping_unprofitable_customers(tiered):
    sc = tiered.with_overrides({"economics.cost_to_serve": 0.3,
                                "tiering.drop_unprofitable": True})
    res = crmsim.simulate(sc, seed=3)
    dropped = res.customers[res.customers["churn_reason"] == "dropped"]
    assert res.kpis["dropped"] == len(dropped) > 0
    # only small customers old enough, whose margin per day was below the cost to serve
    churn_time = dropped["churned_at"]
    tenure = churn_time - dropped["acquired_at"]
    assert (tenure >= sc.tiering.every).all()
    assert (dropped["tier"] == "small").all()
    margin_rate = sc.economics.margin_rate
    tx = res.transactions()
    for _, row in dropped.head(20).iterrows():
        paid = tx[(tx["customer_id"] == row["customer_id"]) & (tx["time"] <= row["churned_at"])]
        assert paid["amount"].sum() * margin_rate / (row["churned_at"] - row["acquired_at"]) < 0.3
    # a dropped customer buys nothing afterwards
    later = tx.merge(dropped[["customer_id", "churned_at"]], on="customer_id")
    assert (later["time"] <= later["churned_at"]).all()


def test_a_customer_dropped_while_its_complaint_waits_decides_nothing_more():
    """The firm drops a customer whose complaint is still with a slow desk: when the complaint
    ends, the customer neither pays again nor churns a second time (a bug until 2026-12-02:
    27 payments after a drop and double churns here, the active count off by 21)."""
    sc = crmsim.load_scenario("churn_warning_winback").with_overrides({
        "customers.initial": 400, "tiering.drop_unprofitable": True,
        "economics.cost_to_serve": 15, "service.failure_rate": 0.5,
        "service.callback_delay": 0.5, "service.agents": 1, "service.handle_time": 0.01})
    res = crmsim.simulate(sc, seed=1)
    events = res.events
    drops = events[(events["kind"] == "churn") & (events["details"] == "dropped")]
    assert len(drops) > 20
    after = events.merge(drops[["customer_id", "time"]].rename(columns={"time": "dropped_at"}),
                         on="customer_id")
    later = after[(after["time"] > after["dropped_at"])
                  & after["kind"].isin(["payment", "purchase", "churn", "won_back"])]
    assert later.empty, later.head().to_string()
    active = res.customers["churned_at"].isna().sum()
    assert res.timeseries["active"].iloc[-1] == res.kpis["active_end"] == active


def test_cost_to_serve_is_charged_on_active_customer_time(retail_small):
    sc = retail_small.with_overrides({"economics.cost_to_serve": 0.2})
    res = crmsim.simulate(sc, seed=4)
    c = res.customers
    active_time = (np.fmin(c["churned_at"].fillna(sc.horizon), sc.horizon) - c["acquired_at"]).sum()
    assert res.kpis["serve_cost"] == pytest.approx(0.2 * active_time)
    assert res.timeseries["serve_cost"].sum() == pytest.approx(res.kpis["serve_cost"])


def test_tiering_shares_must_fit():
    with pytest.raises(crmsim.ScenarioError, match="exceed 1"):
        crmsim.Scenario().with_overrides({"tiering.shares": [0.7, 0.5]})
