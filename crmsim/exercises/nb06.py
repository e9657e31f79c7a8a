"""Exercises of notebook 06: churn warning, retention offers and win-back (see
:mod:`crmsim.exercises`).

The notebook judges retention by what it leaves the firm: the run's NPV profit *plus* the
customers still active at the horizon, each valued at its expected future margin (CLV) — a
retention offer kept in month 20 pays mostly after month 24, so a profit that stops at the
horizon undercounts it (Gupta & Lehmann 2003, "customers as assets": the firm's value is its
customers' lifetime value). :func:`customer_value` estimates that CLV from the operator's own
runs; :func:`firm_value` adds it to each replication of a comparison.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

import crmsim
from crmsim.analysis import clv_constant_retention
from crmsim.exercises.base import Exercise, best_of

#: the churn-warning operator (scenarios/churn_warning_winback.yaml) at 60% of its size; the
#: business segment keeps up its switching costs at the base's price, as the shipped scenario
#: says (a segment inherits the keys it does not set) — set explicitly so that every variant
#: of the scenario prices them alike
OPERATOR = {"customers.initial": 600, "acquisition.rate": 27,
            "customers.segments.business.switching_cost.upkeep": 1.0}
#: the firm's running costs per active customer (what a kept customer also costs)
RUNNING_COSTS = ("quality_cost", "barrier_cost", "serve_cost")
SEEDS = (0, 1, 2)


def operator(**overrides) -> crmsim.Scenario:
    """Notebook 06's operator (:data:`OPERATOR`) with dotted-key ``overrides``."""
    return crmsim.load_scenario("churn_warning_winback").with_overrides(
        {**OPERATOR, **overrides})


@functools.cache
def shipped_runs(seeds=SEEDS) -> tuple:
    """The operator as shipped (score targeting, 50 offers a month, win-back by tier), one run
    per seed."""
    return tuple(crmsim.simulate(operator(), seed=seed) for seed in seeds)


@functools.cache
def scored_runs(seeds=SEEDS) -> tuple:
    """The operator scoring every subscriber every month but making no offers (top_k 0): what
    the score sees, with nobody's fate changed by an offer."""
    return tuple(crmsim.simulate(operator(**{"warning.top_k": 0}), seed=seed)
                 for seed in seeds)


def scan_outcomes(result) -> pd.DataFrame:
    """The warning's scans (``result.table("warning_signals")``) with ``left``: whether the
    subscriber churned within ``warning.window`` after the scan; scans whose window reaches past
    the horizon are left out (their outcome is not known yet)."""
    signals = result.table("warning_signals")
    window = result.scenario.warning.window
    signals = signals[signals["time"] + window <= result.scenario.horizon].copy()
    events = result.events
    churn = events[events["kind"] == "churn"][["customer_id", "time"]]
    exits = churn.groupby("customer_id")["time"].apply(np.array).to_dict()
    signals["left"] = [bool(np.any((t < exits.get(c, np.empty(0)))
                                   & (exits.get(c, np.empty(0)) <= t + window)))
                       for c, t in zip(signals["customer_id"], signals["time"], strict=True)]
    return signals


def precision_recall(outcomes: pd.DataFrame, shares) -> pd.DataFrame:
    """Precision, recall and lift when each scan warns its top ``share`` by score (ranked
    within the scan, as the firm does every month), for each share."""
    rank = outcomes.groupby("time")["score"].rank(ascending=False, pct=True, method="first")
    base = outcomes["left"].mean()
    rows = []
    for share in shares:
        warned = rank <= share
        hits = (outcomes["left"] & warned).sum()
        precision = hits / warned.sum()
        rows.append((share, precision, hits / outcomes["left"].sum(), precision / base))
    return pd.DataFrame(rows, columns=["share", "precision", "recall", "lift"])


#: the signals the firm records (columns of ``warning_signals``) and the score it makes of them
SIGNALS = ("usage", "survey_level", "complaints", "failed_recoveries", "tenure", "score")


def signal_contrast(seeds=SEEDS) -> pd.DataFrame:
    """Mean of each signal (:data:`SIGNALS`) among the scans of subscribers who left within the
    window and of those who stayed, per seed (:func:`scored_runs`: nobody got an offer). Long:
    seed, signal, left, stayed."""
    rows = []
    for seed, run in zip(seeds, scored_runs(seeds), strict=True):
        outcomes = scan_outcomes(run)
        means = outcomes.groupby("left")[list(SIGNALS)].mean()
        for signal in SIGNALS:
            rows.append({"seed": seed, "signal": signal, "left": means.loc[True, signal],
                         "stayed": means.loc[False, signal]})
    return pd.DataFrame(rows)


#: shares of the file warned in the precision–recall trade-off
SHARES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def trade_off(seeds=SEEDS, shares=SHARES) -> pd.DataFrame:
    """:func:`precision_recall` of the score on each seed's scans (:func:`scored_runs`), with the
    base rate (what a random list reaches). Long: seed, share, precision, recall, lift,
    base_rate."""
    tables = []
    for seed, run in zip(seeds, scored_runs(seeds), strict=True):
        outcomes = scan_outcomes(run)
        tables.append(precision_recall(outcomes, shares).assign(
            seed=seed, base_rate=outcomes["left"].mean()))
    return pd.concat(tables, ignore_index=True)


@functools.cache
def customer_value() -> dict[str, float]:
    """The expected future value of an active subscriber: monthly churn among active customers
    and net margin per customer-month (margin less quality, barrier and serving costs) from the
    shipped runs, then the constant-retention CLV m(1+i)/(1+i−r) (payment now and at each
    renewal, :func:`crmsim.analysis.clv_constant_retention`). It ignores that customers differ
    (heterogeneity makes the true value higher, see notebook 02) — an estimate, stated as one."""
    churn, net = [], []
    for run in shipped_runs():
        ts = run.timeseries
        months = ts["active"].iloc[:-1].to_numpy() * np.diff(ts["time"].to_numpy())
        churn.append(ts["churned"].iloc[1:].sum() / months.sum())
        running = ts[list(RUNNING_COSTS)].iloc[1:].to_numpy().sum()
        net.append((ts["margin"].iloc[1:].sum() - running) / months.sum())
    rate, margin = float(np.mean(churn)), float(np.mean(net))
    i = operator().economics.discount_rate
    return {"monthly_churn": rate, "net_margin": margin, "discount_rate": i,
            "clv": clv_constant_retention(margin, 1 - rate, i)}


def firm_value(comparison) -> pd.DataFrame:
    """Per replication and scenario: NPV profit plus the customers active at the horizon valued
    at :func:`customer_value`'s CLV, discounted to t = 0 (the value the policy leaves the firm).
    Wide: index replication, columns scenario."""
    kpis = comparison.kpis
    wide = kpis.pivot_table(index="replication", columns=["scenario", "kpi"], values="value")
    value = customer_value()
    scenario = next(iter(comparison.scenarios.values()))
    later = value["clv"] * (1 + value["discount_rate"]) ** -scenario.horizon
    return pd.DataFrame({name: wide[name]["npv_profit"] + wide[name]["active_end"] * later
                         for name in comparison.scenarios})


def best_value(comparison) -> tuple[str, frozenset]:
    """:func:`crmsim.exercises.base.best_of` on :func:`firm_value`."""
    return best_of(firm_value(comparison))


def win_back_by_tier(result) -> pd.DataFrame:
    """What win-back did per value tier in one run (客户赢回, 分级对待): approaches, successes,
    their cost, and the margin the won-back customers paid after coming back, plus the customers
    still active at the horizon valued at :func:`customer_value`'s CLV. The tier is the one the
    customer had when it churned."""
    events = result.events
    attempts = events[events["kind"] == "win_back_attempt"].sort_values("time")
    attempts = attempts.assign(won=attempts["details"] == "won")
    tiers = events[events["kind"] == "value_tier"][["time", "customer_id", "details"]]
    attempts = pd.merge_asof(attempts, tiers.sort_values("time").rename(
        columns={"details": "tier"}), on="time", by="customer_id", allow_exact_matches=False)
    attempts["tier"] = attempts["tier"].fillna("none")
    margin_rate = result.scenario.economics.margin_rate
    i = result.scenario.economics.discount_rate
    paid = events[events["kind"].isin(["payment", "purchase"])]
    value = customer_value()
    later = value["clv"] * (1 + i) ** -result.scenario.horizon
    active = result.customers.set_index("customer_id")["churned_at"].isna()
    rows = []
    for tier, group in attempts.groupby("tier"):
        won = group[group["won"]]
        margin = 0.0
        for cid, back in zip(won["customer_id"], won["time"], strict=True):
            after = paid[(paid["customer_id"] == cid) & (paid["time"] >= back)]
            margin += float((after["amount"] * margin_rate * (1 + i) ** -after["time"]).sum())
        still = int(active.reindex(won["customer_id"]).fillna(False).sum())
        rows.append({"tier": tier, "attempts": len(group), "won": len(won),
                     "cost": float(group["amount"].sum()), "margin_after": margin,
                     "active_at_end": still, "value": margin + still * later})
    table = pd.DataFrame(rows).set_index("tier")
    table["return_per_cost"] = table["value"] / table["cost"]
    return table


#: exercise 06.1: retention offers per monthly scan (score targeting)
OFFERS_PER_SCAN = (0, 25, 100)
#: exercise 06.2: win-back effort by tier (key, ordinary, small); 'none' switches win-back off
WIN_BACK_PLANS = {
    "none": {"win_back.enabled": False},
    "equal": {"tiering.key.win_back_effort": 1.0, "tiering.ordinary.win_back_effort": 1.0,
              "tiering.small.win_back_effort": 1.0},
    "by_tier": {},  # as shipped: key 2, ordinary 1, small 0.5 (关键客户极力挽回, 小客户见机行事)
    "key_only": {"tiering.key.win_back_effort": 2.0, "tiering.ordinary.win_back_effort": 0.0,
                 "tiering.small.win_back_effort": 0.0},
}
#: exercise 06.3: how strong an offer (it costs offer_cost × |offer_effect|)
OFFER_STRENGTHS = (-1.0, -2.5, -5.0, -10.0)


@functools.cache
def _offers_per_scan():
    return crmsim.compare({str(k): operator(**{"warning.top_k": k}) for k in OFFERS_PER_SCAN},
                          replications=3, seed=0, progress=False)


@functools.cache
def _win_back_plans():
    return crmsim.compare({name: operator(**changes) for name, changes in WIN_BACK_PLANS.items()},
                          replications=3, seed=0, progress=False)


@functools.cache
def _offer_strengths():
    return crmsim.compare({str(e): operator(**{"warning.offer_effect": e})
                           for e in OFFER_STRENGTHS}, replications=3, seed=0, progress=False)


#: this notebook's exercises, by id ("06.1", "06.2", ...)
EXERCISES: dict[str, Exercise] = {
    "06.1": Exercise(
        "The operator (crmsim.exercises.nb06.operator) makes retention offers to the top-k "
        "subscribers by warning score every month (50 as shipped). Which k — '0', '25' "
        "or '100' — leaves the firm the most value (crmsim.exercises.nb06.firm_value: NPV profit plus "
        "the customers active at month 24 at their CLV)? (3 paired replications, seed 0; any k "
        "not reliably worse than the best counts)",
        lambda: best_value(_offers_per_scan())[0],
        "an offer costs 25; count the customers each k keeps and what one is worth "
        "(crmsim.exercises.nb06.customer_value)",
        accepted=lambda: best_value(_offers_per_scan())[1]),
    "06.2": Exercise(
        "Win-back by tier (关键客户极力挽回, 小客户见机行事): which plan of "
        "crmsim.exercises.nb06.WIN_BACK_PLANS leaves the operator the most value "
        "(firm_value): 'none', 'equal' (the same effort for every tier), 'by_tier' (key 2, "
        "ordinary 1, small 0.5, as shipped) or 'key_only'? (3 paired replications, seed 0; any "
        "plan not reliably worse than the best counts)",
        lambda: best_value(_win_back_plans())[0],
        "an approach costs 40 × effort and succeeds with the churn reason's chance × effort; "
        "compare what a won-back customer of each tier brings with what approaching it costs "
        "(crmsim.exercises.nb06.win_back_by_tier)",
        accepted=lambda: best_value(_win_back_plans())[1]),
    "06.3": Exercise(
        "How strong should the retention offer be? It costs offer_cost × |offer_effect| = 10 × "
        "|effect| per offer. Which warning.offer_effect — '-1.0', '-2.5' (as shipped), '-5.0' "
        "or '-10.0' — leaves the operator the most value (firm_value)? (3 paired replications, "
        "seed 0; any strength not reliably worse than the best counts)",
        lambda: best_value(_offer_strengths())[0],
        "a stronger offer saves more of the warned subscribers but every offer costs more, "
        "also those to subscribers who would have stayed anyway",
        accepted=lambda: best_value(_offer_strengths())[1]),
}
