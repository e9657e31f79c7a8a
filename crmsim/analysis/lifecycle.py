"""The value of each lifecycle stage: revenue and churn hazard per stage (客户生命周期各阶段的价值).

The course's relationship lifecycle (考察期 → 形成期 → 稳定期, and 退化期) says that a relationship
is worth most in stability: the customer buys most and is least likely to leave. Two figures per
stage make that measurable from a run's events:

* **revenue per customer-period** — the money customers paid while in the stage, divided by the
  time customers spent in it (a purchase counts in the stage the customer was in when it came
  to buy);
* **churn hazard** — the chance of leaving at a decision, among customers who reach it in the
  stage: churns from the stage divided by the decisions taken in it. It is the discrete-time
  hazard of survival analysis (Singer & Willett 1993, "It's about time: using discrete-time
  survival analysis to study duration and the timing of events", *Journal of Educational
  Statistics* 18(2)); in crmsim's models a customer decides right after each repeat purchase
  (non-contractual, the BG/NBD story) or at each renewal (contractual, the sBG story), so
  decisions, not days, are the clock. Churns per customer-period are reported too.

The *share of churners* that left from a stage is not a hazard: it also counts how many
customers pass through the stage and how many decisions each takes there — a stage that holds
many decisions has many churners even when each decision is safer.
"""

from __future__ import annotations

import pandas as pd

from crmsim.model import lifecycle

#: the stages of an active customer, in course order (the rows of :func:`value_by_stage`)
ORDER = (lifecycle.EXPLORATION, lifecycle.FORMATION, lifecycle.STABILITY, lifecycle.DECLINE,
         lifecycle.WON_BACK)


def value_by_stage(result, per: float | None = None) -> pd.DataFrame:
    """Revenue and churn hazard of each lifecycle stage in a run (see the module doc).

    ``result`` is a :class:`~crmsim.RunResult`; ``per`` the length of the period the rates are
    given for (default: the scenario's ``report_every``). Returns one row per stage that
    customers spent time in: ``customer_time`` (customer-time units in the stage),
    ``purchases`` and ``revenue`` (paid while in it), ``decisions`` (churn decisions taken in
    it), ``churned`` (customers who left from it), ``revenue_per_period`` and
    ``purchases_per_period`` (per customer-period), ``churn_hazard`` (churned / decisions),
    ``churned_per_period`` (churned per customer-period) and ``share_of_churners``.
    """
    sc = result.scenario
    per = sc.report_every if per is None else per
    events = result.events
    stages = events[events["kind"] == "stage"][["time", "customer_id", "details"]]
    stages = stages.rename(columns={"details": "stage"})
    ends = stages.groupby("customer_id")["time"].shift(-1).fillna(sc.horizon)
    active = stages["stage"] != lifecycle.CHURNED
    time_in = (ends - stages["time"])[active].groupby(stages.loc[active, "stage"]).sum()

    # the stage in force at each event, in the order events happened: a purchase's own stage
    # update is recorded after it, so a purchase counts in the stage the customer came in
    in_force = events["details"].where(events["kind"] == "stage")
    in_force = in_force.groupby(events["customer_id"]).ffill()
    paid = events["kind"].isin(["purchase", "payment"])
    revenue = events.loc[paid, "amount"].groupby(in_force[paid]).sum()
    purchases = in_force[paid].value_counts()

    # churns: the stage the customer left from (the one before 'churned')
    left_from = stages.groupby("customer_id")["stage"].shift(1)
    churned = left_from[stages["stage"] == lifecycle.CHURNED].value_counts()

    # decisions survived: non-contractual, every repeat purchase not followed by churn, in the
    # stage after its own update; contractual, every renewal payment, in the stage in force
    # just before it (the period's experience came first, then the decision, then the payment)
    # (a won-back customer's returning purchase starts a new life: no decision follows it)
    repeat = paid & (events[paid].groupby("customer_id").cumcount() > 0).reindex(
        events.index, fill_value=False)
    returns = stages[stages["stage"] == lifecycle.WON_BACK].set_index(["customer_id", "time"])
    repeat &= ~pd.MultiIndex.from_frame(events[["customer_id", "time"]]).isin(returns.index)
    if sc.market.setting == "contractual":
        stayed = in_force[repeat].value_counts()
    else:
        after = pd.merge_asof(
            events.loc[repeat, ["time", "customer_id"]].reset_index().sort_values("time"),
            stages[active].sort_values("time", kind="stable"), on="time", by="customer_id",
            direction="backward")
        churn_times = events[events["kind"] == "churn"].set_index(["customer_id", "time"]).index
        left = pd.MultiIndex.from_frame(after[["customer_id", "time"]]).isin(churn_times)
        stayed = after.loc[~left, "stage"].value_counts()

    table = pd.DataFrame({"customer_time": time_in, "purchases": purchases, "revenue": revenue,
                          "churned": churned}).fillna(0.0)
    table["decisions"] = stayed.reindex(table.index, fill_value=0) + table["churned"]
    table = table.reindex([s for s in ORDER if s in table.index])
    table["revenue_per_period"] = table["revenue"] / table["customer_time"] * per
    table["purchases_per_period"] = table["purchases"] / table["customer_time"] * per
    table["churn_hazard"] = table["churned"] / table["decisions"]
    table["churned_per_period"] = table["churned"] / table["customer_time"] * per
    table["share_of_churners"] = table["churned"] / table["churned"].sum()
    table.index.name = "stage"
    return table
