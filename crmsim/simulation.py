"""``simulate(scenario, seed)``: one run of the model, as tables.

The data flows one way: scenario → :class:`~crmsim.model.market.Market` (SimPy) →
:class:`~crmsim.results.Recorder` → tables (:class:`~crmsim.results.RunResult`).

Seeds: the run's randomness comes from one ``numpy.random.SeedSequence``. Pass an int (the
SeedSequence entropy) or a SeedSequence (an experiment passes replication k's child seed, the same
for every scenario: common random numbers).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from crmsim import limits
from crmsim.model import churn as churn_rule
from crmsim.model.lifecycle import STAGES
from crmsim.model.market import Market, loyalty_type
from crmsim.policies import service_desk
from crmsim.policies.early_warning import warning_kpis
from crmsim.policies.tiering import TIERS
from crmsim.policies.win_back import win_back_kpis
from crmsim.results import Ledger, RunResult, timeseries_table
from crmsim.scenario import Scenario


def as_seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (int, np.integer)) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ValueError(f"seed = {seed!r}: must be a non-negative integer or a numpy SeedSequence")


def simulate(scenario: Scenario, seed=0) -> RunResult:
    """Run ``scenario`` once with ``seed``; return its tables and KPIs.

    >>> import crmsim
    >>> sc = crmsim.Scenario().with_overrides({"customers.initial": 20, "horizon": 30})
    >>> res = crmsim.simulate(sc, seed=1)
    >>> res.kpis["initial"], len(res.customers)
    (20, 20)
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"simulate() needs a Scenario (crmsim.load_scenario(...)), got {type(scenario).__name__}"
        )
    limits.check(scenario)
    seed_sequence = as_seed_sequence(seed)
    market = Market(scenario, seed_sequence).run()
    rec = market.recorder
    cols = rec.columns()
    acquired_at = np.fromiter((c.acquired_at for c in market.customers), dtype=float,
                              count=len(market.customers))
    ledger = Ledger(cols, acquired_at, scenario.customers.initial,
                    scenario.economics.margin_rate, scenario.economics.discount_rate)
    entropy = seed_sequence.entropy if isinstance(seed_sequence.entropy, int) else None
    return RunResult(
        scenario=scenario,
        seed=seed if isinstance(seed, (int, np.integer)) else entropy,
        kpis=compute_kpis(market, ledger),
        builders={
            "events": lambda: rec.events_table(cols),
            "customers": lambda: customers_table(market, ledger),
            "timeseries": lambda: timeseries_table(rec.snapshots, ledger, market.desk),
            "recovery": lambda: (market.desk.recovery_table() if market.desk is not None
                                 else service_desk.recovery_table([])),
            "contacts": lambda: (market.desk.log() if market.desk is not None
                                 else service_desk.contact_log()),
        },
        extra={"spawn_key": tuple(seed_sequence.spawn_key)},
    )


def customers_table(market: Market, ledger: Ledger) -> pd.DataFrame:
    cs = market.customers
    money = ledger.per_customer()
    table = pd.DataFrame(
        {
            "customer_id": np.fromiter((c.id for c in cs), dtype=np.int64, count=len(cs)),
            "segment": pd.Categorical([c.segment.name for c in cs],
                                      categories=[s.name for s in market.segments]),
            "tier": pd.Categorical([c.tier for c in cs], categories=VALUE_TIERS),
            "stage": pd.Categorical([c.stage for c in cs], categories=STAGES),
            "acquired_at": [c.acquired_at for c in cs],
            "churned_at": [c.churned_at for c in cs],
            "won_back_at": [c.won_back_at for c in cs],
            "purchases": np.fromiter((c.purchases for c in cs), dtype=np.int64, count=len(cs)),
            "revenue": money["revenue"],
            "margin": money["margin"],
            "npv_margin": money["npv_margin"],
            "purchase_rate": [c.purchase_rate for c in cs],
            "churn_propensity": [c.churn_propensity for c in cs],
            "spend_level": [c.spend_level for c in cs],
            "price_sensitivity": [c.price_sensitivity for c in cs],
            "complaint_propensity": [c.complaint_propensity for c in cs],
            "initial_expectation": [c.initial_expectation for c in cs],
            "quality_fit": [c.fit for c in cs],
            "expectation": [c.expectation for c in cs],
            "satisfaction": [c.satisfaction for c in cs],
            "last_purchase": money["last_purchase"],
            "complaints": service_desk.complaint_counts(market.desk, len(cs)),
            "churn_reason": pd.Series([c.churn_reason for c in cs], dtype=object),
        }
    )
    table = table.assign(**loyalty_columns(market))
    table["loyalty_at_reference"] = pd.Categorical(
        [c.loyalty_at_reference or "not yet" for c in cs], categories=[*LOYALTY_TYPES, "not yet"])
    if market.rewards is not None:
        table["member"] = [c.membership is not None for c in cs]
        table["points"] = [c.membership.points if c.membership else 0.0 for c in cs]
        table["member_tier"] = [market.rewards.tier_name(c.membership.tier) if c.membership
                                else "none" for c in cs]
    return table


#: value tiers (tiering policy), "none" when tiering is off or before the first classification
VALUE_TIERS = [*TIERS, "none"]
LOYALTY_TYPES = ["true", "latent", "spurious", "none"]
#: the course's finer loyalty types (MOOC ch. 8 / textbook ch. 9)
COURSE_TYPES = ["超值 true", "激励 incentive", "惰性 inertia", "潜在 latent", "无 none"]
_LOCK_IN_TERMS = ("low_switching_cost", "reward_lock_in")
_SATISFACTION_TERMS = ("dissatisfaction", "service_failure")


def loyalty_columns(market: Market) -> dict[str, list]:
    """Loyalty type, the retention decomposition and the course type of every customer.

    For an active customer at the horizon, the churn probability p = sigmoid(logit θ + Σ terms)
    is recomputed without the satisfaction terms and without the lock-in terms (switching cost,
    reward lock-in): ``retention_from_satisfaction`` and ``retention_from_lock_in`` are how much
    each lowers p. The course type follows from what keeps a repeat customer: satisfaction
    (超值, true), rewards (激励, incentive) or switching costs / habit (惰性, inertia); satisfied
    customers without repeat patronage are latent (潜在). Churned customers get NaN and "none".
    """
    threshold = market.scenario.lifecycle.formation_after
    out = {k: [] for k in ("loyalty_type", "churn_probability", "retention_from_satisfaction",
                           "retention_from_lock_in", "course_loyalty")}
    for c in market.customers:
        repeats = c.purchases - 1 if c.active else -1
        kind = loyalty_type(c.satisfaction, repeats, threshold)
        out["loyalty_type"].append(kind)
        if not c.active:
            for key in ("churn_probability", "retention_from_satisfaction",
                        "retention_from_lock_in"):
                out[key].append(math.nan)
            out["course_loyalty"].append("无 none")
            continue
        terms = market.churn_terms(c)
        total = sum(terms.values())
        p = churn_rule.probability(c.churn_propensity, total)
        no_sat = churn_rule.probability(
            c.churn_propensity, total - sum(terms.get(k, 0.0) for k in _SATISFACTION_TERMS))
        no_lock = churn_rule.probability(
            c.churn_propensity, total - sum(terms.get(k, 0.0) for k in _LOCK_IN_TERMS))
        from_sat, from_lock = no_sat - p, no_lock - p
        out["churn_probability"].append(p)
        out["retention_from_satisfaction"].append(from_sat)
        out["retention_from_lock_in"].append(from_lock)
        if kind in ("true", "spurious"):
            if kind == "true" and from_sat >= from_lock:
                course = "超值 true"
            elif -terms.get("reward_lock_in", 0.0) > -terms.get("low_switching_cost", 0.0):
                course = "激励 incentive"
            else:
                course = "惰性 inertia"
        else:
            course = "潜在 latent" if kind == "latent" else "无 none"
        out["course_loyalty"].append(course)
    out["loyalty_type"] = pd.Categorical(out["loyalty_type"], categories=LOYALTY_TYPES)
    out["course_loyalty"] = pd.Categorical(out["course_loyalty"], categories=COURSE_TYPES)
    return out


def compute_kpis(market: Market, ledger: Ledger) -> dict[str, float]:
    rec = market.recorder
    money = ledger.totals()
    costs = sum(rec.costs.values())
    npv_costs = sum(rec.npv_costs.values())
    satisfaction = [c.satisfaction for c in market.customers if c.active]
    total_customers = len(market.customers)
    kpis = {
        "active_end": len(satisfaction),
        "initial": int(market.scenario.customers.initial),
        "acquired": money["acquired"],
        "churned": money["churned"],
        "churn_rate": money["churned"] / total_customers if total_customers else math.nan,
        "purchases": money["purchases"],
        "revenue": money["revenue"],
        "margin": money["margin"],
    }
    kpis.update(rec.costs)
    kpis.update(
        costs=costs,
        profit=money["margin"] - costs,
        npv_profit=money["npv_margin"] - npv_costs,
        mean_satisfaction=float(np.mean(satisfaction)) if satisfaction else math.nan,
    )
    kpis.update(desk_kpis(market))
    kpis.update(policy_kpis(market))
    if market.rewards is not None:
        kpis.update(market.rewards.kpis(market.customers))
    kpis.update(churn_by_loyalty(market))
    return {k: _plain(v) for k, v in kpis.items()}


def _plain(value):
    """A KPI as a plain Python number; every undefined figure is the one ``math.nan`` (so two
    identical runs give equal KPI dicts)."""
    if isinstance(value, float):
        return math.nan if value != value else float(value)
    return value


def policy_kpis(market: Market) -> dict[str, float]:
    """Acquisition, tiering, early-warning and win-back KPIs (zeros and NaNs when off)."""
    horizon = market.scenario.horizon
    kpis = market.acquisition.kpis()
    if market.tiering is not None:
        kpis.update(market.tiering.kpis())
    if market.warning is not None:
        kpis.update(market.warning.kpis(horizon))
    else:
        empty = np.zeros(0)
        kpis.update(warning_kpis([], [], empty, empty, empty, 1.0, 1.0, horizon))
    wb = market.win_back_policy
    kpis.update(win_back_kpis(wb.attempts if wb else 0, wb.successes if wb else 0,
                              market.customers if wb else [], horizon))
    return kpis


def desk_kpis(market: Market) -> dict[str, float]:
    """The service-desk KPIs (zeros and NaNs when the scenario has no desk)."""
    if market.desk is not None:
        return market.desk.kpis(market.scenario.horizon)
    return service_desk.desk_kpis(service_desk.contact_log(), market.scenario.service.sla_target)


def churn_by_loyalty(market: Market) -> dict[str, float]:
    """Share of each loyalty type (read at the reference time) that churned after it."""
    at = market.loyalty_reference_time
    counts = {k: [0, 0] for k in LOYALTY_TYPES}
    for c in market.customers:
        if c.loyalty_at_reference is not None:
            counts[c.loyalty_at_reference][0] += 1
            counts[c.loyalty_at_reference][1] += c.churned_at > at
    return {f"churn_rate_{k}": (n_churned / n if n else math.nan)
            for k, (n, n_churned) in counts.items()}
