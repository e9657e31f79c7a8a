"""Exercises of notebook 12, campaigns and targeting (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise

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


#: this notebook's exercises, by id
EXERCISES: dict[str, Exercise] = {
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
