"""Campaigns (客户沟通): targeting, control groups, hidden response types, measured vs true."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import crmsim
from crmsim.analysis import quantile_scores
from crmsim.cli import main
from crmsim.policies import REGISTRY
from crmsim.policies.campaigns import CampaignPolicy

KPIS = ("campaign_contacts", "campaign_cost", "campaign_incremental_revenue_measured",
        "campaign_incremental_revenue_true", "campaign_roi_measured", "campaign_roi_true")


def shop(customers: int = 400, horizon: float = 120, **overrides):
    """The retail baseline, small, without acquisitions (a fixed base of customers)."""
    return crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": customers, "horizon": horizon, "acquisition.rate": 0.0,
         **overrides})


def campaign(**fields) -> dict:
    spec = {"at": 60, "channel": "email", "offer": {"kind": "message"},
            "target": {"rule": "all"}, "control_share": 0.2, "window": 30}
    spec.update(fields)
    return spec


def with_plan(scenario, plan: dict, **section):
    return scenario.with_overrides({"campaigns.enabled": True, "campaigns.plan": plan,
                                    **{f"campaigns.{k}": v for k, v in section.items()}})


def test_registered_in_schema_kpis_and_events():
    assert CampaignPolicy in REGISTRY
    assert "campaigns" in crmsim.Scenario.model_json_schema()["properties"]
    for kpi in KPIS:
        assert kpi in crmsim.KPI_DESCRIPTIONS
    assert {"campaign_contact", "campaign_holdout"} <= set(crmsim.results.EVENT_KINDS)


def test_off_by_default_reported_as_zero(retail_small):
    kpis = crmsim.simulate(retail_small, seed=1).kpis
    for kpi in ("campaign_contacts", "campaign_cost", "campaign_incremental_revenue_measured",
                "campaign_incremental_revenue_true", "campaign_profit_effect_true"):
        assert kpis[kpi] == 0
    assert math.isnan(kpis["campaign_roi_true"])  # nothing spent: no return on it


def test_response_types_have_the_given_shares_and_follow_the_purchase_rate():
    """Counts of each hidden type are binomial with the given shares (99.9% intervals); the
    tilt puts heavy buyers higher on the scale (lost cause < persuadable < do-not-disturb <
    sure thing), and without it the type is independent of the purchase rate."""
    shares = {"persuadable": 0.2, "sure_thing": 0.3, "lost_cause": 0.4, "do_not_disturb": 0.1}
    n = 3000
    sc = shop(n, 10, **{"customers.segments": {}})
    plan = {"once": campaign(at=5, control_share=0.5)}
    correlation = {}
    for tilt in (0.7, 0.0):
        res = crmsim.simulate(with_plan(sc, plan, response_types=shares, buying_tilt=tilt),
                              seed=4)
        types = res.customers["response_type"]
        counts = types.value_counts()
        for kind, share in shares.items():
            low, high = stats.binom.ppf([0.0005, 0.9995], n, share)
            assert low <= counts[kind] <= high, (tilt, kind, counts[kind])
        correlation[tilt] = stats.spearmanr(types.cat.codes, res.customers["purchase_rate"])[0]
    assert correlation[0.7] > 0.4
    assert abs(correlation[0.0]) < 0.07  # |ρ| of independent samples: sd 1/√3000 ≈ 0.018


def test_persuadable_purchases_match_the_closed_form_and_the_truth_is_exact():
    """Everyone persuadable, nobody leaves, constant rate and spend: each contacted customer
    buys because of the email with probability reach × response × appeal × P(delay ≤ window)
    = 0.25 · 0.6 · 0.5 · (1 − e^(−20/10)). Every extra purchase adds exactly one spend to the
    true incremental revenue: the customer's regular purchases are those of the counterfactual
    run (the extra purchase draws from the policy's own stream)."""
    sc = shop(1000, 90, **{"customers.segments": {}, "purchase.rate": 0.02,
                           "purchase.spend": 50.0, "churn.base": 0.0})
    sc = with_plan(sc, {"spring": campaign(at=30, window=20)}, response_delay=10.0,
                   response_types={"persuadable": 1.0, "sure_thing": 0.0, "lost_cause": 0.0,
                                   "do_not_disturb": 0.0})
    res = crmsim.simulate(sc, seed=2)
    kpis = res.kpis
    treated = kpis["campaign_contacts"]
    assert treated + kpis["campaign_held_out"] == 1000
    assert 750 < treated < 850
    p = 0.25 * 0.6 * 0.5 * -math.expm1(-2.0)
    low, high = stats.binom.ppf([0.0005, 0.9995], treated, p)
    assert low <= kpis["campaign_purchases"] <= high
    extra = 50.0 * kpis["campaign_purchases"]
    assert kpis["campaign_incremental_revenue_true"] == pytest.approx(extra, rel=1e-12)
    # to the horizon too: the regular purchases after an extra one are those of the twin
    assert res.customers["campaign_revenue_effect"].sum() == pytest.approx(extra, rel=1e-12)
    assert kpis["campaign_cost"] == pytest.approx(0.05 * treated)
    assert kpis["campaign_profit_effect_true"] == pytest.approx(
        0.3 * extra - kpis["campaign_cost"], rel=1e-9)


def test_customers_a_campaign_never_moved_are_exactly_as_in_the_counterfactual():
    """Common random numbers: the held-out, the untouched and the lost causes have exactly the
    revenue of the run without campaigns; a points bonus is a cost, never a price change."""
    sc = with_plan(shop(500), {"spring": campaign(
        channel="sms", offer={"kind": "points", "value": 5.0})})
    res = crmsim.simulate(sc, seed=3)
    c = res.customers
    effect = c["campaign_revenue_effect"]
    assert (effect[c["campaign_contacts"] == 0] == 0).all()
    assert (effect[c["response_type"] == "lost_cause"] == 0).all()
    assert (effect[c["response_type"] == "sure_thing"] == 0).all()  # points leave prices alone
    assert (effect[c["response_type"] == "persuadable"] > 0).sum() > 5
    points = res.kpis["campaign_cost"] - 0.1 * res.kpis["campaign_contacts"]
    assert points > 0 and points / 5.0 == pytest.approx(round(points / 5.0), abs=1e-9)


def test_measured_interval_covers_the_true_uplift_in_most_seeds():
    """Random targeting with a control group: the measured incremental revenue's 95% interval
    (treated vs control) covers the true one (against the counterfactual) in at least 18 of
    20 seeds. The effect is large against the interval, so a biased measurement would fail."""
    sc = shop(800, 100, **{"customers.segments": {}, "purchase.spend": 50.0,
                           "churn.base": 0.05})
    sc = with_plan(sc, {"test": campaign(
        at=40, channel="phone", offer={"kind": "discount", "value": 0.2},
        target={"rule": "random", "share": 0.8}, control_share=0.4)},
        response_types={"persuadable": 0.4, "sure_thing": 0.3, "lost_cause": 0.2,
                        "do_not_disturb": 0.1},
        **{"channels.phone": {"cost": 2.0, "reach": 1.0, "response": 1.0, "annoyance": 2.5}})
    covered, strong = 0, 0
    for seed in range(20):
        wave = crmsim.simulate(sc, seed=seed).table("campaigns").iloc[0]
        covered += wave["measured_low"] <= wave["true"] <= wave["measured_high"]
        strong += wave["true"] > (wave["measured_high"] - wave["measured_low"]) / 2
    assert covered >= 18
    assert strong >= 18  # the true effect is clearly away from zero


def test_targeting_by_uplift_beats_targeting_by_purchase_probability():
    """No do-not-disturbs, contacts free: the quarter of customers with the highest true
    uplift bring more true incremental revenue than the quarter most likely to buy, who are
    mostly sure things (paired over replications, common random numbers)."""
    sc = shop(500, 100, **{"campaigns.channels.phone": {
        "cost": 0.0, "reach": 0.6, "response": 0.9, "annoyance": 2.5}})
    types = {"persuadable": 0.25, "sure_thing": 0.35, "lost_cause": 0.4, "do_not_disturb": 0.0}

    def targeted(rule):
        return with_plan(sc, {"spring": campaign(
            channel="phone", offer={"kind": "discount", "value": 0.1},
            target={"rule": rule, "share": 0.25})}, response_types=types)

    cmp = crmsim.compare({"likely buyers": targeted("purchase_probability"),
                          "uplift": targeted("uplift")}, replications=5, seed=0,
                         progress=False)
    diff = cmp.differences.loc[("uplift", "campaign_incremental_revenue_true")]
    assert diff["low"] > 0
    true = cmp.table.xs("campaign_incremental_revenue_true", level="kpi")["mean"]
    assert true["likely buyers"] < true["uplift"] / 2


def test_a_phone_campaign_raises_the_churn_of_do_not_disturbs():
    """Everyone a do-not-disturb: contacting them raises churn (paired with the same run
    without the campaign), and a phone call more than an email reaching as many."""
    sc = shop(500, 150, **{"churn.base": {"dist": "beta", "a": 1.0, "b": 6.0},
                           "campaigns.channels.email.reach": 1.0,
                           "campaigns.channels.phone.reach": 1.0})
    types = {"persuadable": 0.0, "sure_thing": 0.0, "lost_cause": 0.0, "do_not_disturb": 1.0}
    by = {channel: with_plan(sc, {"call": campaign(channel=channel, control_share=0.0)},
                             response_types=types) for channel in ("email", "phone")}
    cmp = crmsim.compare({"none": sc, **by}, replications=4, seed=0, progress=False)
    phone = cmp.differences.loc[("phone", "churned")]
    assert phone["low"] > 0
    wide = cmp.per_replication("churned")
    assert (wide["phone"] - wide["email"]).mean() > 0
    assert crmsim.analysis.mean_ci(wide["phone"] - wide["email"])[1] > 0
    assert cmp.table.loc[("phone", "campaign_annoyed"), "mean"] > 50
    # nobody held out: the firm cannot measure the campaign; the model still knows the truth
    kpis = crmsim.simulate(by["phone"], seed=0).kpis
    assert math.isnan(kpis["campaign_incremental_revenue_measured"])
    assert math.isnan(kpis["campaign_roi_measured"])
    assert kpis["campaign_incremental_revenue_true"] < 0


def test_target_rules_pick_what_they_say():
    sc = shop(400)
    run = {}
    scored = sc.with_overrides({"warning.enabled": True, "warning.top_k": 0, "warning.every": 25})
    for name, target in {"top": {"rule": "score", "top": 37},
                         "share": {"rule": "random", "share": 0.3},
                         "segment": {"rule": "segment", "segments": ["bargain_hunter"]},
                         "rfm": {"rule": "rfm", "cells": ["5**"]}}.items():
        res = crmsim.simulate(with_plan(scored if name == "top" else sc,
                                        {name: campaign(target=target)}), seed=5)
        run[name] = (res, res.table("campaigns").iloc[0])
    assert run["top"][1]["targeted"] == 37
    # the score rule calls the customers with the warning scan's highest latest scores
    res = run["top"][0]
    signals = res.table("warning_signals")
    latest = signals[signals["time"] <= 60].groupby("customer_id")["score"].last()
    called = res.events[res.events["kind"].isin(["campaign_contact", "campaign_holdout"])]
    assert latest[called["customer_id"]].min() >= latest.drop(called["customer_id"]).max()
    assert run["share"][1]["targeted"] == round(0.3 * run["share"][1]["file"])
    res, wave = run["segment"]
    sent = res.events[res.events["kind"].isin(["campaign_contact", "campaign_holdout"])]
    segment = res.customers.set_index("customer_id")["segment"]
    assert (segment[sent["customer_id"]] == "bargain_hunter").all()
    assert wave["targeted"] == (segment == "bargain_hunter").sum() - (
        wave["file"] < len(segment)) * 0  # every customer bought within the year
    # RFM cell 5**: exactly the customers with the best recency quintile at the campaign
    res, wave = run["rfm"]
    tx = res.transactions()
    tx = tx[tx["time"] <= 60]
    by = tx.groupby("customer_id")
    r = pd.Series(quantile_scores(60 - by["time"].max(), higher_is_better=False),
                  index=by["time"].max().index)
    sent = res.events[res.events["kind"].isin(["campaign_contact", "campaign_holdout"])]
    assert set(sent["customer_id"]) == set(r.index[r == 5])


def test_a_recurring_campaign_keeps_its_control_group_and_fatigue_lowers_reach():
    """Weekly emails: a customer stays in the control group (or out of it) in every wave. With
    a fatigue decay of 0 nobody reads an email after another in the last 30 days, so every
    purchase they cause comes from the first wave: exactly as many as one wave alone causes."""
    sc = shop(300, 100)
    types = {"persuadable": 1.0, "sure_thing": 0.0, "lost_cause": 0.0, "do_not_disturb": 0.0}
    weekly = with_plan(sc, {"weekly": campaign(at=20, every=7, window=7)}, response_types=types,
                       **{"fatigue.decay": 0.0})
    once = with_plan(sc, {"weekly": campaign(at=20, window=7)}, response_types=types,
                     **{"fatigue.decay": 0.0})
    res = crmsim.simulate(weekly, seed=6)
    waves = res.table("campaigns")
    assert list(waves["time"]) == [20.0 + 7 * k for k in range(12)]
    held = res.events[res.events["kind"] == "campaign_holdout"].groupby("customer_id").size()
    sent = res.events[res.events["kind"] == "campaign_contact"]["customer_id"]
    assert not set(held.index) & set(sent)
    single = crmsim.simulate(once, seed=6).kpis
    assert res.kpis["campaign_purchases"] == single["campaign_purchases"] > 0
    assert res.kpis["campaign_contacts"] > 10 * single["campaign_contacts"]


def test_two_model_uplift_learns_from_a_pilot():
    sc = shop(500, 150)
    plan = {"pilot": campaign(at=30, channel="phone", target={"rule": "random", "share": 0.5},
                              control_share=0.5),
            "spring": campaign(at=90, channel="phone", control_share=0.2, target={
                "rule": "uplift", "model": "two_model", "learn_from": "pilot", "top": 60})}
    res = crmsim.simulate(with_plan(sc, plan), seed=1)
    waves = res.table("campaigns").set_index("campaign")
    assert waves.loc["spring", "targeted"] == 60
    assert waves.loc["pilot", "control"] > 50


@pytest.mark.parametrize(("overrides", "fragments"), [
    ({"campaigns.plan.a.channel": "fax"},
     ["campaigns.plan.a.channel = 'fax'", "'email', 'sms' or 'phone'"]),
    ({"campaigns.plan.a.target.rule": "vip"},
     ["campaigns.plan.a.target.rule = 'vip'", "'all'", "'uplift'"]),
    ({"campaigns.plan.a.control_share": 1.0},
     ["campaigns.plan.a.control_share = 1.0", "less than 1", "0 ≤ share < 1"]),
    ({"campaigns.plan.a.control_share": -0.1},
     ["campaigns.plan.a.control_share = -0.1", "greater than or equal to 0"]),
    ({"campaigns.plan.a.target": {"rule": "segment", "segments": ["vip"]}},
     ["campaigns.plan.a.target.segments = ['vip']", "no segment 'vip'",
      "segments: regular, bargain_hunter"]),
    ({"campaigns.plan.a.target": {"rule": "tier", "tiers": ["key"]}},
     ["campaigns.plan.a.target.tiers = ['key']", "tiering.enabled"]),
    ({"campaigns.plan.a.target": {"rule": "tier", "tiers": ["platinum"]}},
     ["campaigns.plan.a.target.tiers.0 = 'platinum'", "'key', 'ordinary' or 'small'"]),
    ({"campaigns.plan.a.target": {"rule": "score"}},
     ["campaigns.plan.a.target", "give one of share, top or threshold"]),
    ({"campaigns.plan.a.target": {"rule": "score", "top": 10}},
     ["campaigns.plan.a.target.rule = 'score'", "warning.enabled"]),
    ({"campaigns.plan.a.target": {"rule": "rfm", "cells": ["6**"]}},
     ["'6**' is not an RFM cell"]),
    ({"campaigns.plan.a.target": {"rule": "uplift", "model": "two_model", "top": 5,
                                  "learn_from": "pilot"}},
     ["campaigns.plan.a.target.learn_from = 'pilot'", "not another campaign"]),
    ({"campaigns.plan.a.offer": {"kind": "discount", "value": 1.5}},
     ["campaigns.plan.a.offer", "value 1.5 must be at most 1"]),
    ({"campaigns.plan.a.chanel": "sms"}, ["did you mean 'campaigns.plan.a.channel'"]),
    ({"campaigns.plan.a.at": 500}, ["campaigns.plan.a.at = 500", "horizon"]),
])
def test_bad_input_is_one_clear_message(overrides, fragments):
    sc = with_plan(shop(50), {"a": campaign()})
    with pytest.raises(crmsim.ScenarioError) as err:
        sc.with_overrides(overrides)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_campaigns_need_a_plan_and_a_shop(telecom_small):
    with pytest.raises(crmsim.ScenarioError, match="at least one campaign in campaigns.plan"):
        shop(50).with_overrides({"campaigns.enabled": True})
    with pytest.raises(crmsim.ScenarioError, match="needs market.setting: noncontractual"):
        with_plan(telecom_small, {"a": campaign()})


def test_crmsim_run_exits_2_for_a_bad_campaign(write, capsys):
    path = write("bad_campaign.yaml", """\
extends: {base}
campaigns:
  enabled: true
  plan:
    spring: {{at: 10, channel: pigeon}}
""".format(base=crmsim.scenario.SCENARIO_DIR / "retail_baseline.yaml"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "campaigns.plan.spring.channel = 'pigeon'" in err and "Traceback" not in err
    assert main(["run", "retail_campaigns", "--set", "campaigns.plan.spring_call.target."
                 "segments=[vip]", "--set", "campaigns.plan.spring_call.target.rule=segment",
                 "--set", "customers.initial=50"]) == 2
    assert "no segment 'vip'" in capsys.readouterr().err


def test_the_shipped_campaign_scenario_runs_and_measures():
    res = crmsim.simulate(crmsim.load_scenario("retail_campaigns").with_overrides(
        {"customers.initial": 400, "acquisition.rate": 0.5}), seed=1)
    wave = res.table("campaigns").iloc[0]
    assert wave["targeted"] == 200 and wave["channel"] == "phone"
    assert res.kpis["campaign_contacts"] == wave["treated"]
    assert res.kpis["campaign_cost"] >= 2.0 * wave["treated"]
    assert np.isfinite(res.kpis["campaign_incremental_revenue_measured"])
