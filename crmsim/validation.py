"""Validation reductions: the model, with only a few keys changed, *is* a textbook model.

Each reduction lives in ``scenarios/validation/NAME.yaml`` (every β = 0, no policies) and has a
check that runs it and compares what the simulation produced with the closed form, with a
confidence interval. ``crmsim validate`` prints them all; the tests run them with their own
parameters and show that a deliberately wrong model fails.

A check returns one row per compared quantity: ``reduction, quantity, simulated, low, high,
closed_form, passed``. Where several quantities are compared at once (survival at many t, four
fitted parameters) the intervals are Bonferroni-adjusted so that the family holds at 95%.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from crmsim.analysis import (
    bass_cdf,
    bgnbd_expected_purchases,
    clv_constant_retention,
    fit_bgnbd,
    mean_ci,
    proportion_ci,
    rfm_summary,
    sbg_survival,
)
from crmsim.analysis.erlang import erlang_c
from crmsim.distributions import BetaDist, GammaDist
from crmsim.errors import ScenarioError
from crmsim.policies.service_desk import desk_figures
from crmsim.scenario import SCENARIO_DIR, Scenario, load_scenario
from crmsim.simulation import simulate

COLUMNS = ["reduction", "quantity", "simulated", "low", "high", "closed_form", "passed"]
LEVEL = 0.95


def _row(reduction, quantity, simulated, low, high, closed_form):
    return dict(reduction=reduction, quantity=quantity, simulated=simulated, low=low, high=high,
                closed_form=closed_form, passed=bool(low <= closed_form <= high))


def _require(condition: bool, key: str, value, allowed: str, reduction: str) -> None:
    if not condition:
        raise ScenarioError(f"{key} = {value!r}: the {reduction} reduction needs {allowed}")


def check_sbg(scenario: Scenario, seed: int = 0) -> pd.DataFrame:
    """sBG: share alive after t renewals against S(t) = B(a, b+t)/B(a, b)."""
    base = scenario.churn.base
    _require(isinstance(base, BetaDist), "churn.base", base, "{dist: beta, a, b}", "sBG")
    _require(scenario.market.setting == "contractual", "market.setting",
             scenario.market.setting, "contractual", "sBG")
    res = simulate(scenario, seed)
    period = scenario.contract.period
    renewals = np.arange(1, math.ceil(scenario.horizon / period))
    renewals = renewals[renewals * period < scenario.horizon]
    level = 1 - (1 - LEVEL) / max(len(renewals), 1)
    tenure = (res.customers["churned_at"] - res.customers["acquired_at"]).to_numpy()
    n = len(tenure)
    rows = []
    for t in renewals:
        alive = int(np.sum(np.isnan(tenure) | (tenure > t * period + 1e-9)))
        p, low, high = proportion_ci(alive, n, level)
        rows.append(_row("sbg", f"S({t})", p, low, high, float(sbg_survival(t, base.a, base.b))))
    return pd.DataFrame(rows, columns=COLUMNS)


def check_clv(scenario: Scenario, seed: int = 0) -> pd.DataFrame:
    """Constant retention: mean ``npv_margin`` against m(1+i)/(1+i−r).

    Payments fall at acquisition and at each renewal; with a period other than 1 the discount
    rate per period is (1+i)^period − 1. Payments that the horizon cuts off are left out of the
    closed form (the finite geometric sum), which equals m(1+i)/(1+i−r) for a long horizon.
    """
    base = scenario.churn.base
    _require(isinstance(base, (int, float)), "churn.base", base, "a plain probability", "CLV")
    _require(scenario.market.setting == "contractual", "market.setting",
             scenario.market.setting, "contractual", "CLV")
    res = simulate(scenario, seed)
    period = scenario.contract.period
    rate = (1 + scenario.economics.discount_rate) ** period - 1
    payments = math.ceil(scenario.horizon / period)
    margin = scenario.contract.price * scenario.economics.margin_rate
    closed = clv_constant_retention(margin, 1 - base, rate, periods=payments)
    mean, low, high = mean_ci(res.customers["npv_margin"], LEVEL)
    return pd.DataFrame([_row("clv", "mean npv_margin", mean, low, high, closed)],
                        columns=COLUMNS)


def check_bgnbd(scenario: Scenario, seed: int = 0, fit: bool = True) -> pd.DataFrame:
    """BG/NBD: mean repeat purchases against E[X(t)]; a fit of ``transactions()`` recovers
    (r, α, a, b) within Bonferroni-adjusted 95% intervals."""
    rate, base = scenario.purchase.rate, scenario.churn.base
    _require(isinstance(rate, GammaDist), "purchase.rate", rate, "{dist: gamma, shape, rate}",
             "BG/NBD")
    _require(isinstance(base, BetaDist), "churn.base", base, "{dist: beta, a, b}", "BG/NBD")
    _require(scenario.market.setting == "noncontractual", "market.setting",
             scenario.market.setting, "noncontractual", "BG/NBD")
    res = simulate(scenario, seed)
    horizon = scenario.horizon
    truth = dict(r=rate.shape, alpha=rate.rate, a=base.a, b=base.b)
    repeat = res.customers["purchases"] - 1
    mean, low, high = mean_ci(repeat, LEVEL)
    rows = [_row("bgnbd", f"E[X({horizon:g})]", mean, low, high,
                 float(bgnbd_expected_purchases(horizon, **truth)))]
    if fit:
        estimates = fit_bgnbd(rfm_summary(res.transactions(), horizon))
        z = stats.norm.ppf(1 - (1 - LEVEL) / (2 * len(truth)))
        for name, value in truth.items():
            est = estimates.loc[name]
            log_est = math.log(est["estimate"])
            rows.append(_row("bgnbd", f"fitted {name}", est["estimate"],
                             math.exp(log_est - z * est["se_log"]),
                             math.exp(log_est + z * est["se_log"]), value))
    return pd.DataFrame(rows, columns=COLUMNS)


def check_erlang_c(scenario: Scenario, seed: int = 0, batches: int = 20,
                   warm_up: float = 0.05) -> pd.DataFrame:
    """M/M/c desk: wait probability, ASA and service level against Erlang C.

    Waits of successive contacts are correlated, so the interval comes from batch means: the
    first ``warm_up`` share of the horizon is dropped (the desk starts empty), the rest is cut
    into ``batches`` periods, and the t-interval is taken over the batch figures.
    """
    service = scenario.service
    _require(service.patience is None, "service.patience", service.patience,
             "null (no abandonment)", "Erlang C")
    _require(service.failure_rate == 0, "service.failure_rate", service.failure_rate, "0",
             "Erlang C")
    _require(service.handle_distribution == "exponential", "service.handle_distribution",
             service.handle_distribution, "exponential", "Erlang C")
    _require(not service.schedule, "service.schedule", "...", "none", "Erlang C")
    res = simulate(scenario, seed)
    arrival_rate = scenario.customers.initial * service.contact_rate
    closed = erlang_c(arrival_rate, service.handle_time, service.agents, service.sla_target)
    figures = desk_batch_means(res, batches, warm_up)
    return pd.DataFrame([_row("erlang_c", quantity, mean, low, high, closed[name])
                         for quantity, name, mean, low, high in figures], columns=COLUMNS)


#: the desk figures compared with Erlang C: (KPI name, key of :func:`desk_figures`)
DESK_QUANTITIES = (("desk_wait_probability", "wait_probability"), ("desk_asa", "asa"),
                   ("desk_service_level", "service_level"))


def desk_batch_means(result, batches: int = 20, warm_up: float = 0.05
                     ) -> list[tuple[str, str, float, float, float]]:
    """The desk's wait probability, ASA and service level of a run, each with a 95% interval
    from batch means (Bonferroni-adjusted over the three): (KPI name, figure, mean, low, high).

    Waits of successive contacts are correlated, so the first ``warm_up`` share of the horizon
    is dropped (the desk starts empty), the rest cut into ``batches`` periods, and the
    t-interval taken over the batch figures. :func:`check_erlang_c` compares them with Erlang C;
    they serve as well to show that a desk which is *not* M/M/c fails that comparison.
    """
    scenario = result.scenario
    log = result.contacts
    start = warm_up * scenario.horizon
    log = log[log["arrival"] >= start]
    edges = np.linspace(start, scenario.horizon, batches + 1)
    batch = np.clip(np.searchsorted(edges, log["arrival"], side="right") - 1, 0, batches - 1)
    figures = pd.DataFrame([desk_figures(log[batch == b], scenario.service.sla_target)
                            for b in range(batches)])
    level = 1 - (1 - LEVEL) / len(DESK_QUANTITIES)
    return [(quantity, name, *mean_ci(figures[name], level))
            for quantity, name in DESK_QUANTITIES]


def check_bass(scenario: Scenario, seed: int = 0, replications: int = 10,
               points: int = 10) -> pd.DataFrame:
    """Bass diffusion: share of the market adopted by t against F(t), at ``points`` times.

    N(t) is one path of a stochastic process whose early randomness (who adopts first) shifts
    the whole curve, so a single run gives no interval: ``replications`` independent runs
    (children of ``seed``) give a t-interval per time, Bonferroni-adjusted over the times. The
    mean of the stochastic process differs from the deterministic F(t) by O(1/M).
    """
    acq = scenario.acquisition
    _require(acq.market_size is not None and acq.innovation > 0, "acquisition.innovation",
             acq.innovation, "market_size and innovation > 0", "Bass")
    _require(acq.word_of_mouth == "adopters", "acquisition.word_of_mouth", acq.word_of_mouth,
             "adopters", "Bass")
    _require(acq.paid_rate == 0, "acquisition.rate", acq.rate, "0 (no paid acquisition)",
             "Bass")
    _require(scenario.customers.initial == 0, "customers.initial", scenario.customers.initial,
             "0", "Bass")
    times = np.linspace(scenario.horizon / points, scenario.horizon, points)
    shares = []
    for child in np.random.SeedSequence(seed).spawn(replications):
        acquired = np.sort(simulate(scenario, child).customers["acquired_at"].to_numpy())
        shares.append(np.searchsorted(acquired, times, side="right") / acq.market_size)
    shares = np.array(shares)
    level = 1 - (1 - LEVEL) / points
    closed = bass_cdf(times, acq.innovation, acq.imitation)
    rows = []
    for k, t in enumerate(times):
        mean, low, high = mean_ci(shares[:, k], level)
        rows.append(_row("bass", f"F({t:g})", mean, low, high, float(closed[k])))
    return pd.DataFrame(rows, columns=COLUMNS)


#: the reductions that exist, by file name in scenarios/validation/
REDUCTIONS = {"sbg": check_sbg, "clv": check_clv, "bgnbd": check_bgnbd,
              "erlang_c": check_erlang_c, "bass": check_bass}


#: the keys each reduction may override and still be its textbook model (DESIGN.md's table)
OVERRIDABLE = {
    "sbg": ("churn.base.a", "churn.base.b", "customers.initial", "horizon"),
    "clv": ("churn.base", "contract.price", "contract.period", "economics.margin_rate",
            "economics.discount_rate", "customers.initial", "horizon"),
    "bgnbd": ("purchase.rate.shape", "purchase.rate.rate", "churn.base.a", "churn.base.b",
              "customers.initial", "horizon"),
    "erlang_c": ("customers.initial", "service.contact_rate", "service.agents",
                 "service.handle_time", "service.sla_target", "horizon"),
    "bass": ("acquisition.market_size", "acquisition.innovation", "acquisition.imitation",
             "horizon"),
}


def validation_scenario(name: str, overrides: dict | None = None) -> Scenario:
    """The shipped validation scenario ``name`` with optional dotted overrides."""
    scenario = load_scenario(SCENARIO_DIR / "validation" / f"{name}.yaml")
    return scenario.with_overrides(overrides) if overrides else scenario


def run_validation(names=None, seed: int = 0, overrides: dict | None = None) -> pd.DataFrame:
    """Run the named reductions (all by default); one table of every comparison.

    Each override goes to the reductions that list it in :data:`OVERRIDABLE` (a key that would
    turn a reduction into another model is not applied to it); a key none of them allows is an
    error.
    """
    names = list(names or REDUCTIONS)
    unknown = [n for n in names if n not in REDUCTIONS]
    if unknown:
        raise ScenarioError(f"unknown reduction {unknown[0]!r}; available: {', '.join(REDUCTIONS)}")
    overrides = overrides or {}
    unused = [k for k in overrides if not any(k in OVERRIDABLE[n] for n in names)]
    if unused:
        allowed = sorted({k for n in names for k in OVERRIDABLE[n]})
        raise ScenarioError(f"{unused[0]} = {overrides[unused[0]]!r}: no reduction run here "
                            f"may change it; allowed: {', '.join(allowed)}")
    tables = []
    for name in names:
        own = {k: v for k, v in overrides.items() if k in OVERRIDABLE[name]}
        scenario = validation_scenario(name, own)
        tables.append(REDUCTIONS[name](scenario, seed))
    return pd.concat(tables, ignore_index=True)
