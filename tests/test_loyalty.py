"""Loyalty levers: switching-cost shocks, the rewards programme, competitor pull, loyalty types."""

from __future__ import annotations

import numpy as np
import pytest

import crmsim


@pytest.fixture
def points():
    return crmsim.load_scenario("retail_points").with_overrides(
        {"customers.initial": 800, "horizon": 240})


def test_programme_lowers_churn_and_costs_money_paired():
    """Over the shipped scenario's year (lock-in builds up with the points members hold)."""
    points = crmsim.load_scenario("retail_points")
    without = points.with_overrides({"rewards.enabled": False})
    cmp = crmsim.compare({"without": without, "with": points}, replications=3, seed=0,
                         progress=False)
    diff = cmp.differences.xs("with", level="scenario")
    assert diff.loc["churned", "high"] < 0
    assert diff.loc["program_cost", "low"] > 0 and diff.loc["costs", "low"] > 0


def test_points_accounting_balances(points):
    k = crmsim.simulate(points, seed=2).kpis
    assert k["points_earned"] == pytest.approx(
        k["points_redeemed"] + k["points_expired"] + k["points_outstanding"])
    assert k["redemptions"] * 500 == pytest.approx(k["points_redeemed"])
    redemption_cost = k["redemptions"] * 10 + 40 * 240
    assert k["program_cost"] == pytest.approx(redemption_cost)
    assert 0 < k["breakage"] < 1 and k["redemption_rate"] + k["breakage"] <= 1


def test_tiers_discount_and_are_recorded(points):
    res = crmsim.simulate(points, seed=2)
    tiers = res.events[res.events["kind"] == "tier"]
    assert {"silver", "gold"} <= set(tiers["details"])
    # purchase k of a customer draws the same spend in both runs (event-indexed draws), so the
    # price paid differs exactly by the tier discount at that moment: 0%, 2% or 5%
    without = crmsim.simulate(points.with_overrides({"rewards.tiers": []}), seed=2)

    def numbered(result):
        tx = result.transactions()
        return tx.assign(k=tx.groupby("customer_id").cumcount())

    pairs = numbered(res).merge(numbered(without), on=["customer_id", "k"])
    ratio = (pairs["amount_x"] / pairs["amount_y"]).round(10)
    assert set(ratio) == {1.0, 0.98, 0.95}


def test_self_selection_makes_the_naive_comparison_overstate_the_effect(points):
    """Members buy more than non-members mostly because heavy buyers joined: the naive
    member-vs-non-member gap in revenue is far larger than what the programme did to its
    members (the same customers without the programme, common random numbers)."""
    sc = points.with_overrides({"customers.initial": 2000, "acquisition.rate": 0})
    with_programme = crmsim.simulate(sc, seed=3).customers
    without = crmsim.simulate(sc.with_overrides({"rewards.enabled": False}), seed=3).customers
    members = with_programme["member"].to_numpy()
    naive = (with_programme.loc[members, "revenue"].mean()
             - with_programme.loc[~members, "revenue"].mean())
    true_effect = (with_programme.loc[members, "revenue"].to_numpy()
                   - without.loc[members, "revenue"].to_numpy()).mean()
    assert with_programme.loc[members, "purchase_rate"].mean() > (
        with_programme.loc[~members, "purchase_rate"].mean())
    assert naive > 2 * true_effect
    random_join = sc.with_overrides({"rewards.self_selection": 0})
    again = crmsim.simulate(random_join, seed=3).customers
    m = again["member"].to_numpy()
    ratio = again.loc[m, "purchase_rate"].mean() / again.loc[~m, "purchase_rate"].mean()
    assert ratio == pytest.approx(1, abs=0.1)


def test_portability_shock_reveals_spurious_loyalty():
    sc = crmsim.load_scenario("telecom_portability").with_overrides({"customers.initial": 2000})
    no_shock = sc.with_overrides({"switching_cost.shocks": [],
                                  "customers.segments.business.switching_cost.shocks": []})
    cmp = crmsim.compare({"no shock": no_shock, "portability": sc}, replications=3, seed=0,
                         progress=False)
    table = cmp.table.xs("portability", level="scenario")
    assert table.loc["churn_rate_spurious", "mean"] > table.loc["churn_rate_true", "mean"] + 0.04
    diff = cmp.differences.xs("portability", level="scenario")
    assert diff.loc["churn_rate_spurious", "low"] > 0  # the shock makes spurious loyalty leave
    # ... and more of it than of true loyalty, which satisfaction still holds
    assert diff.loc["churn_rate_spurious", "mean"] > diff.loc["churn_rate_true", "mean"] + 0.03


def test_switching_cost_shock_changes_only_the_named_components():
    from crmsim.model.market import Market

    sc = crmsim.Scenario().with_overrides({
        "customers.initial": 1, "switching_cost": {
            "procedural": 1.0, "financial": 2.0, "relational": 0.0,
            "shocks": [{"at": 10, "factor": 0.5, "components": ["financial"]}]}})
    market = Market(sc, np.random.SeedSequence(0))
    (c,) = market.add_customers(0, 1, at=0.0)
    assert market.switching_cost(c) == pytest.approx(3.0)
    market.env.run(until=11)
    assert market.switching_cost(c) == pytest.approx(2.0)


def test_competitor_pulls_price_sensitive_customers_most():
    base = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 2000, "acquisition.rate": 0, "churn.coefficients.competitor": 3.0})
    rival = base.with_overrides({"competitor.schedule": [{"at": 60, "value": 1.0}]})
    a, b = crmsim.simulate(base, seed=1).customers, crmsim.simulate(rival, seed=1).customers
    sensitive = a["price_sensitivity"] > 0.5
    extra = b["churned_at"].notna().astype(int) - a["churned_at"].notna().astype(int)
    assert extra[sensitive].mean() > extra[~sensitive].mean() > -0.01
    reasons = b.loc[b["churned_at"] > 60, "churn_reason"]
    assert (reasons == "competitor").mean() > 0.1


def test_goal_gradient_speeds_members_up(points):
    flat = points.with_overrides({"rewards.goal_gradient": 0, "rewards.post_reward_slump": 0})
    steep = flat.with_overrides({"rewards.goal_gradient": 1.0})
    a, b = crmsim.simulate(flat, seed=4).customers, crmsim.simulate(steep, seed=4).customers
    members = a["member"].to_numpy()
    assert b.loc[members, "purchases"].mean() > a.loc[members, "purchases"].mean()


def test_retention_decomposition_follows_the_coefficients():
    sc = crmsim.load_scenario("retail_points").with_overrides({"customers.initial": 400})
    active = crmsim.simulate(sc, seed=1).customers.query("churned_at != churned_at")
    assert (active["retention_from_lock_in"] > 0).any()
    no_lock = sc.with_overrides({"churn.coefficients.lock_in": 0,
                                 "churn.coefficients.switching_cost": 0})
    active = crmsim.simulate(no_lock, seed=1).customers.query("churned_at != churned_at")
    assert (active["retention_from_lock_in"] == 0).all()
    assert set(active["course_loyalty"].dropna()) <= {"超值 true", "惰性 inertia", "潜在 latent",
                                                      "无 none"}
