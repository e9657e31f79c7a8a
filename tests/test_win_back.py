"""Win-back (客户赢回): approaches, successes by churn reason and tier, and second lifetimes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmsim


@pytest.fixture
def subscription():
    """Monthly contracts at 40, 10% churn, win-back a month after churn."""
    return crmsim.Scenario().with_overrides({
        "time_unit": "month", "horizon": 24, "report_every": 1,
        "market.setting": "contractual", "contract.period": 1, "contract.price": 40.0,
        "customers.initial": 800, "churn.base": 0.1,
        "win_back.enabled": True, "win_back.delay": 1.0, "win_back.cost": 30.0,
    })


def test_win_back_accounting(subscription):
    res = crmsim.simulate(subscription.with_overrides({"win_back.attempts": 2}), seed=1)
    k, ev = res.kpis, res.events
    attempts = ev[ev["kind"] == "win_back_attempt"]
    won = ev[ev["kind"] == "won_back"]
    assert k["win_back_attempts"] == len(attempts) > 0
    assert k["win_backs"] == len(won) == (attempts["details"] == "won").sum() > 0
    assert k["win_back_cost"] == pytest.approx(30.0 * len(attempts))
    assert k["win_back_rate"] == pytest.approx(len(won) / len(attempts))
    # each approach comes `delay` after the churn (or after the previous approach)
    churns = ev[ev["kind"] == "churn"].groupby("customer_id")["time"].apply(list)
    for _, a in attempts.head(50).iterrows():
        gaps = [a["time"] - t for t in churns[a["customer_id"]]]
        assert any(g == pytest.approx(1.0) or g == pytest.approx(2.0) for g in gaps)
    # a won-back customer pays again right away, in stage won_back
    stages = ev[(ev["kind"] == "stage") & (ev["details"] == "won_back")]
    assert set(stages["customer_id"]) == set(won["customer_id"])
    payments = ev[ev["kind"] == "payment"].set_index(["customer_id", "time"])
    for _, w in won.head(20).iterrows():
        assert (w["customer_id"], w["time"]) in payments.index


def test_success_follows_the_churn_reason_probability(subscription):
    # natural churn only (every β = 0): success = win_back.success.natural
    sc = subscription.with_overrides({"win_back.success.natural": 0.3,
                                      "customers.initial": 3000})
    k = crmsim.simulate(sc, seed=2).kpis
    n = k["win_back_attempts"]
    p, low, high = crmsim.analysis.proportion_ci(k["win_backs"], n)
    assert low <= 0.3 <= high and n > 2000
    never = crmsim.simulate(sc.with_overrides({"win_back.success.natural": 0.0}), seed=2).kpis
    assert never["win_backs"] == 0 and never["win_back_attempts"] > 0


def test_win_back_before_the_horizon_changes_nothing_for_the_first_lifetimes(subscription):
    """CRN: customers never won back live exactly the same lives with win-back on or off."""
    off = crmsim.simulate(subscription.with_overrides({"win_back.enabled": False}), seed=3)
    on = crmsim.simulate(subscription, seed=3)
    never = on.customers["won_back_at"].isna()
    pd.testing.assert_series_equal(off.customers.loc[never, "churned_at"],
                                   on.customers.loc[never, "churned_at"])
    assert on.kpis["revenue"] > off.kpis["revenue"]


def test_discount_and_raised_expectations_on_return(subscription):
    sc = subscription.with_overrides({"win_back.success.natural": 1.0, "win_back.discount": 0.25,
                                      "win_back.discount_duration": 2.5})
    res = crmsim.simulate(sc, seed=4)
    returns = res.events[res.events["kind"] == "won_back"]["customer_id"].value_counts()
    once = res.customers[res.customers["customer_id"].isin(returns[returns == 1].index)]
    assert len(once) > 50
    tx = res.transactions().merge(once[["customer_id", "won_back_at"]], on="customer_id")
    since = tx["time"] - tx["won_back_at"]
    assert np.allclose(tx.loc[(since >= 0) & (since <= 2.5), "amount"], 30.0)  # 40 × 0.75
    assert np.allclose(tx.loc[since > 2.5, "amount"], 40.0)
    assert np.allclose(tx.loc[since < 0, "amount"], 40.0)
    # every β = 0: raising expectations changes no decision, only what the customer expects
    lifted = crmsim.simulate(sc.with_overrides({"win_back.expectation_lift": 0.2}), seed=4)
    plain = crmsim.simulate(sc.with_overrides({"win_back.expectation_lift": 0.0}), seed=4)
    back = lifted.customers["won_back_at"].notna()
    lift = lifted.customers["expectation"] - plain.customers["expectation"]
    assert (lift[back] > 0).all() and (lift[back] <= 0.2 * returns.max() + 1e-12).all()
    assert (lift[~back] == 0).all()


def test_second_lifetime_is_the_mean_time_since_return(subscription):
    res = crmsim.simulate(subscription.with_overrides({"win_back.success.natural": 0.5}),
                          seed=5)
    back = res.customers[res.customers["won_back_at"].notna()]
    ends = back["churned_at"].fillna(subscription.horizon)
    assert res.kpis["second_lifetime"] == pytest.approx((ends - back["won_back_at"]).mean())
    assert res.kpis["win_back_retention"] == pytest.approx(back["churned_at"].isna().mean())


def test_tier_effort_scales_success_and_cost(subscription):
    sc = subscription.with_overrides({
        "tiering.enabled": True, "tiering.method": "clv", "tiering.every": 1,
        "tiering.key.win_back_effort": 2.0, "tiering.small.win_back_effort": 0.0,
        "win_back.success.natural": 0.2})
    res = crmsim.simulate(sc, seed=6)
    attempts = res.events[res.events["kind"] == "win_back_attempt"]
    assert set(attempts["amount"].round(6)) <= {60.0, 30.0}  # key: 2 × 30; ordinary 30
    assert not attempts["amount"].eq(0).any()  # small customers are not approached
    assert res.kpis["win_back_cost"] == pytest.approx(attempts["amount"].sum())
