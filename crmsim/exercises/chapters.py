"""Exercises of the notebooks whose exercises have not moved to a module of their own."""

from __future__ import annotations

import functools
from pathlib import Path

from crmsim.exercises.base import Exercise


def _retail(customers: int = 500, seed: int = 1, **overrides):
    import crmsim

    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": customers, **overrides})
    return crmsim.simulate(sc, seed=seed)


@functools.cache
def _quickstart_run():
    return _retail()


def _top20_share() -> float:
    revenue = _quickstart_run().customers["revenue"].sort_values(ascending=False)
    top = revenue.iloc[: max(1, round(0.2 * len(revenue)))]
    return float(top.sum() / revenue.sum())


def _stability(stability_after: int) -> int:
    res = _retail(**{"lifecycle.stability_after": stability_after})
    return int(res.timeseries["active_stability"].iloc[-1])


def _settled_satisfaction(adaptation: float) -> float:
    from crmsim.scenario import Satisfaction

    cfg = Satisfaction(service_quality=0.8, initial_expectation=0.7, adaptation=adaptation,
                       memory=0.4, performance_weight=0.5, disconfirmation_weight=1.0,
                       quality_noise=0.0)

    class Customer:
        satisfaction, expectation = 0.0, 0.7

    from crmsim.model.satisfaction import experience

    c = Customer()
    for _ in range(400):
        experience(c, cfg, 0.0)
    return round(c.satisfaction, 4)


def _better_service_lowers_churn() -> str:
    import crmsim

    base = crmsim.load_scenario("retail_baseline").with_overrides({"customers.initial": 400})
    better = base.with_overrides({"satisfaction.service_quality": 0.8})
    diff = crmsim.compare({"base": base, "better": better}, replications=3, seed=0,
                          progress=False).differences.loc[("better", "churned")]
    return "yes" if diff["high"] < 0 else "no"


def _complaint_rate() -> float:
    import crmsim

    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 500, "service.contact_rate": 0})
    return round(crmsim.simulate(sc, seed=1).kpis["complaint_rate"], 3)


def _agents_needed() -> int:
    from crmsim.analysis import agents_needed

    return agents_needed(arrival_rate=4.0, handle_time=1.8, target_service_level=0.8,
                         sla_target=0.5)


def _research_pair():
    import crmsim

    base = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 500, "horizon": 180})
    return {"baseline": base,
            "better service": base.with_overrides({"satisfaction.service_quality": 0.76})}


def _paired_profit_above_zero() -> str:
    import crmsim

    diff = crmsim.compare(_research_pair(), replications=8, seed=0, progress=False
                          ).differences.loc[("better service", "profit")]
    return "yes" if diff["low"] > 0 else "no"


def _sequential_replications() -> int:
    import crmsim

    return crmsim.compare(_research_pair(), replications=4, seed=0, target_halfwidth=0.02,
                          max_replications=64, progress=False).replications


def _points_breakage() -> float:
    import crmsim

    sc = crmsim.load_scenario("retail_points").with_overrides({"customers.initial": 600})
    return round(crmsim.simulate(sc, seed=1).kpis["breakage"], 3)


def _portability_type() -> str:
    import crmsim

    sc = crmsim.load_scenario("telecom_portability").with_overrides({"customers.initial": 1500})
    k = crmsim.simulate(sc, seed=0).kpis
    return "spurious" if k["churn_rate_spurious"] > k["churn_rate_true"] else "true"


def _sbg_s3() -> float:
    from crmsim.analysis import sbg_survival

    return round(float(sbg_survival(3, 0.7, 3.0)), 4)


def _clv() -> float:
    from crmsim.analysis import clv_constant_retention

    return round(clv_constant_retention(50, 0.8, 0.01), 2)


def _bgnbd() -> float:
    from crmsim.analysis import bgnbd_expected_purchases

    return round(float(bgnbd_expected_purchases(52, 0.5, 4.0, 1.5, 3.0)), 3)


def _abc_share_a() -> float:
    from crmsim.analysis import abc_classes

    margin = _quickstart_run().customers["margin"].to_numpy()
    return round(float((abc_classes(margin) == "A").mean()), 2)


def _rfm_champions() -> int:
    from crmsim.analysis import rfm_scores

    res = _quickstart_run()
    table = rfm_scores(res.transactions(), observation_end=res.scenario.horizon)
    return int((table["rfm_cell"] == "555").sum())


def _sbg_vs_plug_in() -> str:
    from crmsim.analysis import clv_constant_retention, clv_sbg

    heterogeneous = clv_sbg(50, 2.0, 6.0, 0.01)
    plug_in = clv_constant_retention(50, 6.0 / 8.0, 0.01)
    return "sbg" if heterogeneous > plug_in else "constant"


@functools.cache
def _warning_run():
    import crmsim

    return crmsim.simulate(crmsim.load_scenario("churn_warning_winback"), seed=1)


def _risk_or_uplift() -> str:
    import crmsim

    sc = crmsim.load_scenario("churn_warning_winback").with_overrides(
        {"customers.initial": 600, "acquisition.rate": 25, "horizon": 18})
    cmp = crmsim.compare({t: sc.with_overrides({"warning.targeting": t})
                          for t in ("risk", "uplift")}, replications=3, seed=0, progress=False)
    saved = cmp.table.xs("offers_saved", level="kpi")["mean"]
    return "uplift" if saved["uplift"] > saved["risk"] else "risk"


def _retention_clv() -> float:
    from crmsim.analysis import clv_constant_retention

    return round(clv_constant_retention(25, 0.9, 0.01), 2)


def _payback() -> int:
    from crmsim.analysis import cac_payback

    return int(cac_payback(150, 25, 0.9, 0.01))


def _five_point_factor() -> float:
    import crmsim

    sc = crmsim.load_scenario("retention_vs_acquisition")
    runs = crmsim.sweep(sc, {"churn.base": [0.05, 0.10]}, replications=1, seed=0,
                        progress=False)
    npv = runs[runs["kpi"] == "npv_profit"].set_index("churn.base")["value"]
    return round(float(npv[0.05] / npv[0.10]), 1)


def _bass_f12() -> float:
    from crmsim.analysis import bass_cdf

    return round(float(bass_cdf(12, 0.01, 0.3)), 3)


#: notebook 11's shop: the complaints scenario with three acquisition channels (initial base,
#: paid, word of mouth), points and membership tiers, RFM value tiers and a monthly churn warning
SHOP_DATABASE = {
    "customers.initial": 600,
    "acquisition.rate": 1.5,
    "acquisition.market_size": 20000,
    "acquisition.innovation": 0.00003,
    "acquisition.imitation": 0.001,
    "rewards.enabled": True,
    "rewards.tiers": [{"name": "silver", "min_spend": 400, "discount": 0.02},
                      {"name": "gold", "min_spend": 1000, "discount": 0.05, "priority_boost": 1}],
    "churn.coefficients.lock_in": -0.03,
    "tiering.enabled": True,
    "tiering.method": "rfm",
    "warning.enabled": True,
    "warning.top_k": 40,
    "warning.offer_cost": 10,
}

#: notebook 11's VIP rules: 100 customers each, chosen by SQL on what the firm knows
VIP_RULES = {
    "rfm": "SELECT customer_id FROM rfm ORDER BY rfm_score DESC, monetary DESC LIMIT 100",
    "spend": "SELECT customer_id FROM rfm ORDER BY monetary DESC LIMIT 100",
    "recent_spend": "SELECT customer_id FROM rfm WHERE recency <= 30 "
                    "ORDER BY monetary DESC LIMIT 100",
}

#: the truly valuable customers: still a customer, and in the top fifth by λ × mean spend
#: (the rate at which a customer brings money while it stays), from the truth table
TRUE_TOP_FIFTH = """
    SELECT customer_id FROM (
        SELECT customer_id, ntile(5) OVER (
            ORDER BY CASE WHEN active THEN purchase_rate * spend_level ELSE 0 END DESC,
                     customer_id) AS fifth
        FROM truth)
    WHERE fifth = 1"""


@functools.cache
def shop_database_run():
    """Notebook 11's run: the shop (:data:`SHOP_DATABASE`) with seed 1."""
    import crmsim

    sc = crmsim.load_scenario("complaints_recovery").with_overrides(SHOP_DATABASE)
    return crmsim.simulate(sc, seed=1)


def _sleeping_loyal() -> int:
    import crmsim

    return int(crmsim.sql(shop_database_run(), "SELECT count(*) AS n FROM rfm "
                                                "WHERE f_score >= 4 AND r_score <= 2")["n"][0])


def vip_hits(result, rule: str) -> int:
    """How many of the customers a :data:`VIP_RULES` rule picks are truly in the top fifth."""
    import crmsim

    return int(crmsim.sql(result, f"SELECT count(*) AS n FROM ({VIP_RULES[rule]}) "
                                  f"WHERE customer_id IN ({TRUE_TOP_FIFTH})")["n"][0])


def _best_vip_rule() -> str:
    hits = {rule: vip_hits(shop_database_run(), rule) for rule in VIP_RULES}
    return max(hits, key=hits.get)


#: the shop log of notebook 10 (shipped with crmsim, see data/README.md)
CDNOW_LOG = Path(__file__).resolve().parents[2] / "data" / "cdnow_sample.csv"

#: notebook 10's churn warning on the twin: every 4 weeks the 150 customers with the highest
#: recency score (silence against their own rhythm) get an offer. Cost, effect and duration are
#: assumptions, not fitted: a transaction log cannot tell how customers respond to an offer.
TWIN_WARNING = {
    "warning.enabled": True, "warning.every": 4.0, "warning.top_k": 150,
    "warning.targeting": "score", "warning.active_window": 52.0, "warning.window": 8.0,
    # the score: silence against the customer's own rhythm only (a shop's log has no surveys)
    "warning.recency_weight": 1.0, "warning.satisfaction_weight": 0.0,
    "warning.dissatisfaction_weight": 0.0, "warning.complaint_weight": 0.0,
    "warning.failed_recovery_weight": 0.0, "warning.abandoned_weight": 0.0,
    "warning.tenure_weight": 0.0, "warning.lock_in_weight": 0.0, "warning.survey_rate": 0.0,
    "warning.survey_cost": 0.0,
    # assumptions
    "warning.offer_cost": 2.0, "warning.offer_effect": -1.5, "warning.response": "uniform",
    "warning.offer_duration": 8.0,
}
#: notebook 10's points programme on the twin (every response parameter an assumption)
TWIN_POINTS = {
    "rewards.enabled": True, "rewards.points_per_unit": 1.0,
    "rewards.redemption_threshold": 200.0, "rewards.redemption_value": 10.0,
    "rewards.expiry": 52.0, "rewards.fixed_cost": 0.0, "rewards.tiers": [],
    "rewards.tier_window": 52.0,
    # assumptions about how customers respond
    "rewards.enrolment": 0.5, "rewards.self_selection": 1.0, "rewards.attraction": 0.5,
    "rewards.goal_gradient": 0.0, "rewards.post_reward_slump": 0.0,
    "churn.coefficients.lock_in": -0.05,
}


@functools.cache
def cdnow_calibration():
    """Notebook 10's calibration: the CDNOW sample up to 1997-09-30, time in weeks."""
    import crmsim

    return crmsim.calibrate(CDNOW_LOG, "1997-09-30", time_col="date", duplicates="keep")


def _p_alive_customer_1() -> float:
    return float(cdnow_calibration().summary.loc[1, "p_alive"])


def saved_per_offer(comparison, scenario: str):
    """offers_saved / offers of each replication of ``scenario`` in a comparison."""
    kpis = comparison.kpis[comparison.kpis["scenario"] == scenario]
    table = kpis.pivot(index="replication", columns="kpi", values="value")
    return table["offers_saved"] / table["offers"]


def _twin_targeting() -> str:
    import crmsim

    twin = cdnow_calibration().scenario
    comparison = crmsim.compare(
        {rule: twin.with_overrides({**TWIN_WARNING, "warning.targeting": rule})
         for rule in ("score", "random")}, replications=5, seed=0, progress=False)
    score, random = (saved_per_offer(comparison, rule).mean() for rule in ("score", "random"))
    return "score" if score > random else "random"
#: notebook 12's shop: the retail campaigns scenario, small (500 customers over 180 days); its
#: spring campaign on day 120 counts the response for 30 days and holds out a fifth. A monthly
#: churn-warning scan scores the customers without making offers (for the score rule)
CAMPAIGN_SHOP = {"customers.initial": 500, "horizon": 180, "acquisition.rate": 1.0,
                 "warning.enabled": True, "warning.top_k": 0}

#: exercise 12.1: the spring campaign (10% discount) with at most 200 to spend on contacts
BUDGET_CHOICES = {
    "email_all": {"channel": "email", "target": {"rule": "all"}},
    "sms_all": {"channel": "sms", "target": {"rule": "all"}},
    "phone_rfm": {"channel": "phone", "target": {"rule": "rfm", "top": 100}},
    "phone_score": {"channel": "phone", "target": {"rule": "score", "top": 100}},
    "phone_random": {"channel": "phone", "target": {"rule": "random", "top": 100}},
}

#: exercise 12.2: the offer of an SMS to every customer in the active file
SMS_OFFERS = {
    "message": {"kind": "message"},
    "discount": {"kind": "discount", "value": 0.1},
    "points": {"kind": "points", "value": 3.0},
}


def campaign_variant(changes: dict, others: dict | None = None):
    """Notebook 12's shop with the spring campaign changed (``changes``: keys of
    ``campaigns.plan.spring_call`` → new values) and ``others`` (name → campaign) before it in
    the plan, e.g. a pilot to learn from."""
    import crmsim

    sc = crmsim.load_scenario("retail_campaigns").with_overrides(CAMPAIGN_SHOP)
    spring = {**sc.campaigns.plan["spring_call"].model_dump(mode="json"), **changes}
    return sc.with_overrides({"campaigns.plan": {**(others or {}), "spring_call": spring}})


@functools.cache
def _campaign_choices(exercise: str):
    import crmsim

    choices = (BUDGET_CHOICES if exercise == "12.1" else
               {name: {"channel": "sms", "target": {"rule": "all"}, "offer": offer}
                for name, offer in SMS_OFFERS.items()})
    return crmsim.compare({name: campaign_variant(changes) for name, changes in choices.items()},
                          replications=6, seed=0, progress=False)


def best_choices(comparison, kpi: str = "campaign_profit_effect_true") -> tuple[str, frozenset]:
    """The scenario with the highest mean ``kpi`` and every scenario whose mean lies within its
    95% interval (as good, as far as the replications can tell)."""
    table = comparison.table.xs(kpi, level="kpi")
    best = str(table["mean"].idxmax())
    low = table.loc[best, "low"]
    return best, frozenset(str(name) for name, mean in table["mean"].items() if mean >= low)


EXERCISES: dict[str, Exercise] = {
    "00.1": Exercise(
        "Run the retail baseline with 500 customers and seed 1. How many customers churned?",
        lambda: int(_quickstart_run().kpis["churned"]),
        "res.kpis['churned'] of crmsim.simulate(sc.with_overrides({'customers.initial': 500}), "
        "seed=1)"),
    "00.2": Exercise(
        "Which column of res.customers holds each customer's true drop-out propensity θ?",
        lambda: "churn_propensity", "look at the latent-trait columns of res.customers"),
    "00.3": Exercise(
        "In that run, what share of revenue comes from the top 20% of customers (Pareto)? "
        "(two decimals)",
        _top20_share, "sort res.customers['revenue'], sum the top 20%, divide by the total",
        tolerance=0.01),
    "01.1": Exercise(
        "Retail baseline, 500 customers, seed 1: how many active customers are in stability "
        "(稳定期) at the horizon?",
        lambda: _stability(6), "res.timeseries['active_stability'].iloc[-1]"),
    "01.2": Exercise(
        "Raise lifecycle.stability_after from 6 to 10. Does the number in stability at the "
        "horizon go 'up' or 'down'?",
        lambda: "down" if _stability(10) < _stability(6) else "up",
        "stability needs more repeat purchases now"),
    "02.1": Exercise(
        "Retail baseline, 500 customers, seed 1: classify customers by margin with "
        "crmsim.analysis.abc_classes. What share of customers is class A? (two decimals)",
        _abc_share_a, "(abc_classes(res.customers['margin'].to_numpy()) == 'A').mean()",
        tolerance=0.005),
    "02.2": Exercise(
        "In the same run's RFM table (rfm_scores of res.transactions(), observation end 365), "
        "how many customers are in the best cell '555'?",
        _rfm_champions, "(table['rfm_cell'] == '555').sum()"),
    "02.3": Exercise(
        "Margin 50 a month, discount 1% a month, churn θ ~ Beta(2, 6) (mean 0.25). Is the "
        "expected CLV larger under the sBG model or with the mean retention 0.75 plugged into "
        "the constant-retention formula? 'sbg' or 'constant'",
        _sbg_vs_plug_in, "compare crmsim.analysis.clv_sbg(50, 2, 6, 0.01) with "
        "clv_constant_retention(50, 0.75, 0.01)"),
    "03.1": Exercise(
        "Service quality 0.80 for customers who expect 0.70 (adaptation 0.2, memory 0.4, "
        "performance weight 0.5, disconfirmation weight 1.0, no noise): at what value does "
        "satisfaction settle after many experiences? (four decimals)",
        lambda: _settled_satisfaction(0.2),
        "once expectations catch up, only the performance part 0.5·(q − norm) is left",
        tolerance=5e-4),
    "03.2": Exercise(
        "The same, but expectations never adapt (adaptation 0). Where does it settle?",
        lambda: _settled_satisfaction(0.0),
        "the surprise q − e never wears off: 0.5·0.1 + 1.0·0.1", tolerance=5e-4),
    "03.3": Exercise(
        "Does raising service quality from 0.70 to 0.80 lower churn in the retail baseline "
        "(400 customers, 3 paired replications, seed 0)? 'yes' or 'no'",
        _better_service_lowers_churn, "compare the two with crmsim.compare and read "
        "differences.loc[('better', 'churned')]"),
    "04.1": Exercise(
        "4 calls a minute, 1.8 minutes each: how many agents answer 80% within 30 seconds?",
        _agents_needed, "crmsim.analysis.agents_needed(4.0, 1.8, 0.8, 0.5)"),
    "04.2": Exercise(
        "complaints_recovery with 500 customers, no routine inquiries, seed 1: what is the "
        "complaint rate (complaints per failure)? (three decimals)",
        _complaint_rate, "res.kpis['complaint_rate']", tolerance=0.0015),
    "04.3": Exercise(
        "Which complaint outcome keeps customers best: 'quick', 'resolved', 'silent' or "
        "'unresolved'?",
        lambda: "quick", "look at res.recovery, or at the TARP studies"),
    "05.1": Exercise(
        "retail_points with 600 customers, seed 1: what share of the points earned was lost to "
        "expiry or by leaving members (breakage)? (three decimals)",
        _points_breakage, "res.kpis['breakage']", tolerance=0.0015),
    "05.2": Exercise(
        "telecom_portability with 1500 customers, seed 0: after number portability, which "
        "loyalty type churns more, 'true' or 'spurious'?",
        _portability_type, "compare res.kpis['churn_rate_true'] and ['churn_rate_spurious']"),
    "05.3": Exercise(
        "When heavy buyers join a programme more often, does comparing members with "
        "non-members overstate or understate what the programme does? 'overstate' or "
        "'understate'",
        lambda: "overstate", "members would have bought more anyway"),
    "06.1": Exercise(
        "churn_warning_winback, seed 1: what is the precision of the warning? (two decimals)",
        lambda: round(_warning_run().kpis["warning_precision"], 2),
        "res.kpis['warning_precision']", tolerance=0.005),
    "06.2": Exercise(
        "In that run, how many times more likely than average was a warned subscriber to "
        "churn (the lift)? (one decimal)",
        lambda: round(_warning_run().kpis["warning_lift"], 1), "res.kpis['warning_lift']",
        tolerance=0.05),
    "06.3": Exercise(
        "churn_warning_winback with 600 subscribers, 25 acquisitions a month, 18 months, "
        "3 paired replications (seed 0): does targeting by 'risk' or by 'uplift' reverse more "
        "churn decisions (offers_saved)?",
        _risk_or_uplift, "compare the two targeting rules and read offers_saved"),
    "07.1": Exercise(
        "A subscriber brings margin 25 a month (paid at sign-up and each renewal), stays "
        "with probability 0.9 a month, discount 1% a month. What is the CLV? (two decimals)",
        _retention_clv, "crmsim.analysis.clv_constant_retention(25, 0.9, 0.01)",
        tolerance=0.005),
    "07.2": Exercise(
        "With a CAC of 150, after how many payments has that subscriber repaid it (expected, "
        "discounted)?",
        _payback, "crmsim.analysis.cac_payback(150, 25, 0.9, 0.01)"),
    "07.3": Exercise(
        "retention_vs_acquisition, 1 replication, seed 0: NPV profit at 5% monthly defection "
        "is how many times the NPV profit at 10%? (one decimal)",
        _five_point_factor, "crmsim.sweep(sc, {'churn.base': [0.05, 0.10]}, replications=1, "
        "seed=0)", tolerance=0.05),
    "08.1": Exercise(
        "Notebook 08's pair (500 customers, 180 days, service quality 0.70 vs 0.76), 8 paired "
        "replications, seed 0: is the whole 95% interval of the profit difference above 0? "
        "'yes' or 'no'",
        _paired_profit_above_zero, "cmp.differences.loc[('better service', 'profit')]"),
    "08.2": Exercise(
        "Same pair, sequential replications from 4 until profit is within ±2% (at most 64): "
        "how many replications per scenario were needed?",
        _sequential_replications, "crmsim.compare(..., target_halfwidth=0.02, "
        "max_replications=64).replications"),
    "09.1": Exercise(
        "sBG with a = 0.7, b = 3: what share of a cohort survives 3 renewals? (four decimals)",
        _sbg_s3, "crmsim.analysis.sbg_survival(3, 0.7, 3.0)", tolerance=5e-5),
    "09.2": Exercise(
        "Margin 50 paid at acquisition and each renewal, retention 0.8, discount 1% per period: "
        "what is the CLV? (two decimals)",
        _clv, "m(1 + i)/(1 + i − r)", tolerance=0.005),
    "09.3": Exercise(
        "BG/NBD with r = 0.5, α = 4, a = 1.5, b = 3: expected repeat purchases in 52 weeks? "
        "(three decimals)",
        _bgnbd, "crmsim.analysis.bgnbd_expected_purchases(52, 0.5, 4, 1.5, 3)",
        tolerance=5e-4),
    "09.4": Exercise(
        "Bass diffusion with p = 0.01 and q = 0.3 a week: what share of the market has adopted "
        "after 12 weeks? (three decimals)",
        _bass_f12, "crmsim.analysis.bass_cdf(12, 0.01, 0.3)", tolerance=5e-4),
    "10.1": Exercise(
        "CDNOW customer 1 bought 3 times in the calibration period (x = 2, t_x = 30.43, "
        "T = 38.86 weeks). What is its probability of still being a customer (P(alive), 存活概率) "
        "at the calibration end under the fitted BG/NBD? (three decimals)",
        _p_alive_customer_1, "cal.summary.loc[1, 'p_alive'], or "
        "crmsim.analysis.bgnbd_probability_alive(2, 30.43, 38.86, *BG/NBD params)",
        tolerance=5e-4),
    "10.2": Exercise(
        "On the CDNOW twin with notebook 10's warning (crmsim.exercises.TWIN_WARNING: 150 "
        "offers every 4 weeks, a year), which targeting reverses more drop-outs per offer "
        "(offers_saved / offers; 5 paired replications, seed 0): 'score' (silence against the "
        "customer's own rhythm) or 'random' (a lottery in the active file)?",
        _twin_targeting, "compare the two with crmsim.compare and "
        "crmsim.exercises.saved_per_offer — and ask who the silent customers are"),
    "10.3": Exercise(
        "Which of these did the calibration estimate from the log — the others are assumptions "
        "you bring to the twin: 'warning.offer_effect', 'churn.base' or "
        "'economics.margin_rate'?",
        lambda: "churn.base", "a transaction log has purchases, dates and amounts: which "
        "parameter describes only those?"),
    "11.1": Exercise(
        "Notebook 11's shop database (seed 1): how many customers have an F score of 4 or 5 "
        "but an R score of 1 or 2 — frequent buyers who have gone quiet (沉睡的老客户)?",
        _sleeping_loyal, "crmsim.sql(res, 'SELECT count(*) FROM rfm WHERE ...')"),
    "11.2": Exercise(
        "You may give 100 VIP gifts (贵宾礼遇) in that shop. Which SQL rule picks the most "
        "customers who are truly in the top fifth by value (still a customer; λ × mean spend, "
        "from the truth table): 'rfm' (highest RFM score, ties by money), 'spend' (most money "
        "spent) or 'recent_spend' (most money spent among those who bought in the last 30 "
        "days)? The rules are crmsim.exercises.VIP_RULES.",
        _best_vip_rule, "a customer who has left is worth nothing, however much it spent: "
        "count each rule's picks in the truth's top fifth (crmsim.exercises.TRUE_TOP_FIFTH)"),
    "12.1": Exercise(
        "Notebook 12's shop (crmsim.exercises.campaign_variant), spring campaign with a 10% "
        "discount: you may spend at most 200 on contacts. Which choice of "
        "crmsim.exercises.BUDGET_CHOICES makes the most true incremental profit over the "
        "whole run (campaign_profit_effect_true; 6 paired replications, seed 0): 'email_all', "
        "'sms_all', 'phone_rfm', 'phone_score' or 'phone_random'? (Any choice within the 95% "
        "interval of the best counts.)",
        lambda: best_choices(_campaign_choices("12.1"))[0],
        "the firm cannot see who is persuadable: compare what a contact costs with what it "
        "brings on average, and remember the do-not-disturbs among the best customers",
        accepted=lambda: best_choices(_campaign_choices("12.1"))[1]),
    "12.2": Exercise(
        "The shop sends an SMS to every customer in its active file. Which offer "
        "(crmsim.exercises.SMS_OFFERS) makes the most true incremental profit over the whole "
        "run (6 paired replications, seed 0): 'message', 'discount' (10% off the next purchase) "
        "or 'points' (a bonus that costs the firm 3)? (Any offer within the 95% interval of "
        "the best counts.)",
        lambda: best_choices(_campaign_choices("12.2"))[0],
        "an offer pulls persuadables harder, and is taken by every sure thing that reads it",
        accepted=lambda: best_choices(_campaign_choices("12.2"))[1]),
}


