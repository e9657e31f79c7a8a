"""``simulate(scenario, seed)``: one run of the model, as tables.

The data flows one way: scenario → :class:`~crmsim.model.market.Market` (SimPy) →
:class:`~crmsim.results.Recorder` → tables (:class:`~crmsim.results.RunResult`).

Seeds: the run's randomness comes from one ``numpy.random.SeedSequence``. Pass an int (the
SeedSequence entropy) or a SeedSequence (an experiment passes replication k's child seed, the same
for every scenario: common random numbers).
"""

from __future__ import annotations

import math
from array import array
from operator import attrgetter

import numpy as np
import pandas as pd

from crmsim import limits
from crmsim.model import churn as churn_rule
from crmsim.model import collector
from crmsim.model.customer import TIERS
from crmsim.model.lifecycle import STAGES
from crmsim.model.market import Market, loyalty_type
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
    with collector.paused():  # the run and its KPIs build many objects, no cycles
        return _simulate(scenario, seed, seed_sequence)


def table_names(scenario: Scenario) -> tuple[str, ...]:
    """The names of the tables a run of ``scenario`` has, known before it runs: the core's
    (events, customers, timeseries) and those of its policies (``campaigns`` only when
    campaigns take part). The market is built, not run: about a millisecond."""
    market = Market(scenario, np.random.SeedSequence(0))
    return ("events", "customers", "timeseries",
            *(name for policy in market.policies for name in policy.tables()))


def _simulate(scenario: Scenario, seed, seed_sequence: np.random.SeedSequence) -> RunResult:
    market = Market(scenario, seed_sequence).run()
    run_counterfactual(market, seed_sequence)
    rec = market.recorder
    acquired_at = np.fromiter((c.acquired_at for c in market.customers), dtype=float,
                              count=len(market.customers))
    ledger = Ledger(rec.columns(), acquired_at, scenario.customers.initial,
                    scenario.economics.margin_rate, scenario.economics.discount_rate,
                    np.array([snapshot["time"] for snapshot in rec.snapshots], dtype=float))
    entropy = seed_sequence.entropy if isinstance(seed_sequence.entropy, int) else None
    builders = {
        "events": rec.events_table,
        "customers": lambda: customers_table(market, ledger),
        "timeseries": lambda: timeseries_table(rec.snapshots, ledger, [
            lambda ends, p=p: p.period_columns(ends) for p in market.policies]),
    }
    for policy in market.policies:
        builders.update(policy.tables())
    return RunResult(
        scenario=scenario,
        seed=seed if isinstance(seed, (int, np.integer)) else entropy,
        kpis=compute_kpis(market, ledger),
        builders=builders,
        extra={"spawn_key": tuple(seed_sequence.spawn_key)},
    )


def run_counterfactual(market: Market, seed_sequence: np.random.SeedSequence) -> Market | None:
    """The counterfactual run of the policies that ask for one (``Policy.COUNTERFACTUAL``).

    If any policy that takes part in ``market``'s run declares a counterfactual, the scenario is
    run again with the same seed and all of them switched off (each one's
    ``Policy.switched_off``), and the finished twin is handed to each through
    ``policy.counterfactual(twin)``. Same seed, per-customer streams: a customer the policies
    never touched lives the same life in both runs (common random numbers), so per-customer
    differences are the policies' exact effects. Returns the twin (None: nothing asked for one,
    and nothing was run).
    """
    wanting = [p for p in market.policies if p.enabled and p.COUNTERFACTUAL]
    if not wanting:
        return None
    scenario = market.scenario
    for policy in wanting:
        scenario = type(policy).switched_off(scenario)
    twin = Market(scenario, seed_sequence).run()
    if any(p.enabled and p.COUNTERFACTUAL for p in twin.policies):
        raise RuntimeError("the counterfactual run still has a policy that asks for one: "
                           "its switched_off() does not switch it off")
    for policy in wanting:
        policy.counterfactual(twin)
    return twin


def categorical(values, categories: list[str], n: int) -> pd.Categorical:
    """``pd.Categorical(list(values), categories=categories)`` for ``n`` values, made from
    their codes (a byte each, up to 127 categories) without a list or an object array of a million strings on the
    way; a value outside ``categories`` is missing, as there."""
    code = {name: k for k, name in enumerate(categories)}.get
    dtype = np.int8 if len(categories) < 128 else np.int32  # (from_codes narrows it again)
    return pd.Categorical.from_codes(
        np.fromiter((code(value, -1) for value in values), dtype=dtype, count=n), categories)


def customers_table(market: Market, ledger: Ledger) -> pd.DataFrame:
    """One row per customer. Built column by column, each one array (no list of a million
    floats beside it, no copy into a consolidated block): a large run's table is built while
    the run is still held."""
    cs = market.customers
    n = len(cs)
    money = dict(ledger.per_customer)
    if market.history is not None:  # a population file's customers bought before t = 0 too
        known = market.history.size
        money["last_purchase"] = money["last_purchase"].copy()
        money["last_purchase"][:known] = np.fmax(money["last_purchase"][:known],
                                                 market.history.last_purchase)

    def numbers(attribute: str, dtype=float) -> np.ndarray:
        return np.fromiter(map(attrgetter(attribute), cs), dtype=dtype, count=n)

    def trait(name: str) -> np.ndarray:  # the market's column (its rows are the customer ids)
        return np.array(getattr(market.traits, name), dtype=float)

    columns = {
        "customer_id": numbers("id", np.int64),
        "segment": categorical((c.segment.name for c in cs), [s.name for s in market.segments],
                               n),
        "tier": categorical(map(attrgetter("tier"), cs), VALUE_TIERS, n),
        "stage": categorical(map(attrgetter("stage"), cs), STAGES, n),
        "acquired_at": numbers("acquired_at"),
        "churned_at": numbers("churned_at"),
        "won_back_at": numbers("won_back_at"),
        "purchases": numbers("purchases", np.int64),
        "revenue": money["revenue"],
        "margin": money["margin"],
        "npv_margin": money["npv_margin"],
        "purchase_rate": trait("purchase_rate"),
        "churn_propensity": trait("churn_propensity"),
        "spend_level": trait("spend_level"),
        "price_sensitivity": trait("price_sensitivity"),
        "complaint_propensity": trait("complaint_propensity"),
        "initial_expectation": trait("initial_expectation"),
        "quality_fit": trait("fit"),
        "expectation": numbers("expectation"),
        "satisfaction": numbers("satisfaction"),
        "last_purchase": money["last_purchase"],
        "complaints": market.policy_records()["complaints"],
        "churn_reason": pd.Series([c.churn_reason for c in cs], dtype=object),
        **loyalty_columns(market),
        "loyalty_at_reference": categorical(
            (c.loyalty_at_reference or "not yet" for c in cs), [*LOYALTY_TYPES, "not yet"], n),
    }
    for policy in market.policies:
        columns.update(policy.customer_columns(cs))
    return pd.DataFrame(columns, copy=False)  # no copies: the columns are these arrays


#: value tiers (tiering policy), "none" when tiering is off or before the first classification
VALUE_TIERS = [*TIERS, "none"]
LOYALTY_TYPES = ["true", "latent", "spurious", "none"]
#: the course's finer loyalty types (MOOC ch. 8 / textbook ch. 9)
COURSE_TYPES = ["超值 true", "激励 incentive", "惰性 inertia", "潜在 latent", "无 none"]
_SATISFACTION_TERMS = ("dissatisfaction", "service_failure")


def loyalty_columns(market: Market) -> dict[str, np.ndarray | pd.Categorical]:
    """Loyalty type, the retention decomposition and the course type of every customer.

    One classification: Dick & Basu's ``loyalty_type`` (relative attitude — satisfaction ≥ 0 —
    × repeat patronage: true / latent / spurious / none). ``course_loyalty`` names the same
    groups in the course's terms and splits spurious loyalty by what holds the customer:
    true → 超值 (true), latent → 潜在 (latent), no loyalty → 无 (none), spurious → 激励
    (incentive) when the points and tier benefits it would forfeit are its larger barrier,
    else 惰性 (inertia: switching costs and habit).

    For an active customer at the horizon the churn probability p is recomputed without the
    satisfaction terms of the intention and without the switching barriers:
    ``retention_from_satisfaction`` and ``retention_from_lock_in`` are how much each lowers p.
    Churned customers (no patronage left: latent or none) get NaN.
    """
    threshold = market.scenario.lifecycle.formation_after
    kinds, courses = array("b"), array("b")  # the codes of the two categorical columns
    out = {k: array("d") for k in ("churn_probability", "retention_from_satisfaction",
                                   "retention_from_lock_in")}
    kind_code = {kind: k for k, kind in enumerate(LOYALTY_TYPES)}
    course_code = {course: k for k, course in enumerate(COURSE_TYPES)}
    for c in market.customers:
        repeats = c.purchases - 1 if c.active else -1
        kind = loyalty_type(c.satisfaction, repeats, threshold)
        kinds.append(kind_code[kind])
        if not c.active:
            for key in out:
                out[key].append(math.nan)
            courses.append(course_code[_COURSE_OF[kind]])
            continue
        terms, barriers = market.churn_drivers(c)
        push, barrier = sum(terms.values()), sum(barriers.values())
        theta = c.churn_propensity
        p = churn_rule.probability(theta, push, barrier)
        no_sat = churn_rule.probability(
            theta, push - sum(terms.get(k, 0.0) for k in _SATISFACTION_TERMS), barrier)
        no_lock = churn_rule.probability(theta, push)
        out["churn_probability"].append(p)
        out["retention_from_satisfaction"].append(no_sat - p)
        out["retention_from_lock_in"].append(no_lock - p)
        courses.append(course_code[_COURSE_OF[kind] if kind != "spurious" else (
            "激励 incentive" if barriers.get("reward_lock_in", 0.0) < barriers.get(
                "switching_cost", 0.0) else "惰性 inertia")])
    columns = {key: np.frombuffer(values, dtype=float) for key, values in out.items()}
    return {
        "loyalty_type": pd.Categorical.from_codes(np.frombuffer(kinds, dtype=np.int8),
                                                  LOYALTY_TYPES),
        **columns,
        "course_loyalty": pd.Categorical.from_codes(np.frombuffer(courses, dtype=np.int8),
                                                    COURSE_TYPES),
    }


_COURSE_OF = {"true": "超值 true", "latent": "潜在 latent", "none": "无 none"}


def compute_kpis(market: Market, ledger: Ledger) -> dict[str, float]:
    rec = market.recorder
    money = ledger.totals
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
    for policy in market.policies:
        kpis.update(policy.kpis())
    kpis.update(churn_by_loyalty(market))
    return {k: _plain(v) for k, v in kpis.items()}


def _plain(value):
    """A KPI as a plain Python number; every undefined figure is the one ``math.nan`` (so two
    identical runs give equal KPI dicts)."""
    if isinstance(value, float):
        return math.nan if value != value else float(value)
    return value


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
