"""The holdout check of a calibration, from the closed forms (留出期检验).

A calibration is believed when it predicts what it has not seen: the purchases of the same
customers after ``calibration_end``. :func:`closed_form_holdout` sets the BG/NBD closed forms
beside what the log shows for the holdout period (calibration end, holdout end]:

* per customer, the conditional expectation E[Y(t) | x, t_x, T] (Fader, Hardie & Lee 2005,
  eq. 10; t = holdout end − calibration end) against the actual number of purchases;
* in total, Σ_i E[Y(t) | x_i, t_x,i, T_i] against the actual repeat transactions;
* the **tracking plot** data (FHL 2005, Fig. 2): cumulative repeat transactions period by
  period over the calibration and holdout periods, actual against the model's unconditional
  expectation Σ_i E[X(g − s_i)] for each customer i who first bought at s_i (eq. 9), and in the
  holdout period also against the conditional one (actual up to the calibration end plus
  Σ_i E[Y(g − calibration end) | history_i]);
* the **conditional expectations** plot data (FHL 2005, Fig. 4): mean holdout purchases by
  calibration-period frequency x = 0, 1, …, ``max_frequency``+, actual against eq. 10.

:func:`holdout` (``crmsim.holdout``) runs the digital twin (:mod:`crmsim.twin`) — the same
customers, their traits drawn from their posteriors — over the holdout period with replications
and sets its numbers beside these columns: with every β = 0 it must reproduce the closed forms
within its own noise (the twin is the fitted model), and both are then checked against what the
shop's customers actually did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from crmsim.analysis import bgnbd_expected_purchases, bgnbd_probability_alive
from crmsim.calibration import Calibration
from crmsim.errors import ScenarioError
from crmsim.transaction_log import TIME_UNITS, option, read_transactions


@dataclass(frozen=True)
class HoldoutCheck:
    """Closed-form expectations against the actual holdout purchases.

    ``summary``: ``customers``, ``holdout_length`` (time units), ``expected_repeat`` (the sum
    of eq. 10 over customers), ``actual_repeat``. ``customers``: per customer ``frequency``,
    ``recency``, ``T``, ``p_alive``, ``expected``, ``actual`` (holdout purchases).
    ``tracking``: per period end ``time`` (and ``date`` for a log of dates), cumulative repeat
    transactions ``actual``, ``expected`` (unconditional, eq. 9) and ``expected_conditional``
    (from the calibration end on). ``by_frequency``: per calibration frequency ``customers``,
    mean holdout purchases ``actual`` and ``expected``.
    """

    summary: dict
    customers: pd.DataFrame
    tracking: pd.DataFrame
    by_frequency: pd.DataFrame


def closed_form_holdout(calibration: Calibration, transactions, holdout_end, *,
                        period: float = 1.0, max_frequency: int = 7) -> HoldoutCheck:
    """Compare the calibration's closed-form expectations with the log after the calibration.

    ``transactions`` is the log that was calibrated (read with the same options);
    ``holdout_end`` a date (or a number for numeric logs) after the calibration end and no later
    than the last transaction. ``period`` is the step of the tracking table in time units.
    """
    log = read_transactions(transactions, **calibration.read_options)
    table = log.table.copy()
    if log.origin is not None:      # count time from the calibration's origin
        unit = pd.Timedelta(days=TIME_UNITS[calibration.time_unit])
        table["time"] += (log.origin - calibration.origin) / unit
    shifted = replace(log, table=table, origin=calibration.origin)
    end = calibration.calibration_end
    stop = shifted.to_time(holdout_end, "holdout_end")
    last = float(table["time"].max())
    if not end < stop <= last + 1e-9:
        raise ScenarioError(
            f"{option('holdout_end')} = {holdout_end!r}: allowed after the calibration end "
            f"({shifted.describe(end)}) and no later than the last transaction "
            f"({shifted.describe(last)})", log.source)
    if not period > 0:
        raise ScenarioError(f"period = {period!r}; allowed: a number of time units > 0")

    s = calibration.summary
    first = table.groupby("customer_id", sort=True)["time"].transform("min")
    in_cohort = table["customer_id"].isin(s.index)
    calibration_rows = table[in_cohort & (table["time"] <= end)]
    seen = calibration_rows.groupby("customer_id").size()
    if len(seen) != len(s) or int((seen - 1).sum()) != int(s["frequency"].sum()):
        raise ScenarioError(
            f"this log's calibration period has {len(seen)} of the calibrated customers and "
            f"{int((seen - 1).sum())} repeat purchases; the calibration had {len(s)} and "
            f"{int(s['frequency'].sum())}: pass the log that was calibrated", log.source)

    repeat = table[in_cohort & (table["time"] > first)]
    holdout_rows = repeat[(repeat["time"] > end) & (repeat["time"] <= stop)]
    actual = holdout_rows.groupby("customer_id").size().reindex(s.index, fill_value=0)
    length = stop - end
    r, alpha, a, b = (calibration.params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    p_alive = bgnbd_probability_alive(x, t_x, T, r, alpha, a, b)
    expected = p_alive * bgnbd_expected_purchases(length, r + x, alpha + T, a, b + x)
    customers = pd.DataFrame({"frequency": s["frequency"], "recency": s["recency"], "T": T,
                              "p_alive": p_alive, "expected": expected,
                              "actual": actual.to_numpy()}, index=s.index)

    grid = np.unique(np.concatenate([np.arange(1, int(np.ceil(stop / period))) * period,
                                     [end, stop]]))
    grid = grid[grid <= stop]
    repeat_times = np.sort(repeat["time"].to_numpy())
    cumulative_actual = np.searchsorted(repeat_times, grid, side="right")
    tracking = pd.DataFrame({"time": grid})
    if log.origin is not None:
        tracking["date"] = shifted.to_date(grid)
    tracking["actual"] = cumulative_actual
    tracking["expected"] = _unconditional_cumulative(grid, s["first_purchase"].to_numpy(float),
                                                     r, alpha, a, b)
    tracking["expected_conditional"] = _conditional_cumulative(
        grid, end, x, T, p_alive, r, alpha, a, b,
        int(np.searchsorted(repeat_times, end, side="right")))

    labels = np.minimum(x, max_frequency).astype(int)
    names = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    grouped = customers.groupby(labels)
    by_frequency = pd.DataFrame({"customers": grouped.size(),
                                 "actual": grouped["actual"].mean(),
                                 "expected": grouped["expected"].mean()})
    by_frequency.index = pd.Index([names[k] for k in by_frequency.index],
                                  name="calibration_frequency")
    summary = {"customers": int(len(s)), "holdout_length": float(length),
               "expected_repeat": float(expected.sum()), "actual_repeat": int(actual.sum())}
    return HoldoutCheck(summary=summary, customers=customers, tracking=tracking,
                        by_frequency=by_frequency)


def _unconditional_cumulative(grid, first_purchase, r, alpha, a, b) -> np.ndarray:
    """Σ_i E[X(g − s_i)] over customers with s_i < g, for each g in ``grid`` (eq. 9)."""
    starts, counts = np.unique(first_purchase, return_counts=True)
    ages = grid[:, None] - starts[None, :]
    mean = np.zeros(ages.shape)
    positive = ages > 0
    mean[positive] = bgnbd_expected_purchases(ages[positive], r, alpha, a, b)
    return mean @ counts


def _conditional_cumulative(grid, end, x, T, p_alive, r, alpha, a, b,
                            actual_at_end) -> np.ndarray:
    """Actual repeat transactions up to the calibration end plus Σ_i E[Y(g − end) | history]
    for g ≥ end (NaN before): eq. 10 = P(alive) · eq. 9 at (r + x, α + T, a, b + x), computed
    once per distinct (x, T)."""
    keys = pd.DataFrame({"x": x, "T": T, "p_alive": p_alive})
    groups = keys.groupby(["x", "T"], sort=False)["p_alive"].sum().reset_index()
    out = np.full(len(grid), np.nan)
    after = grid >= end
    horizon = grid[after] - end
    gx, gT, weight = (groups[c].to_numpy(float) for c in ("x", "T", "p_alive"))
    mean = bgnbd_expected_purchases(horizon[:, None], r + gx[None, :], alpha + gT[None, :], a,
                                    b + gx[None, :])
    out[after] = actual_at_end + mean @ weight
    return out


# --------------------------------------------------------------------------- the twin's check


@dataclass(frozen=True)
class Holdout:
    """The digital twin against the holdout period (:func:`holdout`).

    ``summary``: ``predicted_repeat`` (the twin's mean total of repeat transactions in the
    holdout period over the replications), ``low``, ``high`` (its 95% t-interval), ``spread_low``,
    ``spread_high`` (2.5% and 97.5% quantiles of the replications' totals: where one run of the
    twin falls, the range to set the actual total against), ``expected_repeat`` (the closed
    form, Σ E[Y(t) | x, t_x, T]), ``actual_repeat``, ``alive_share`` (the twin's share of
    customers active at the calibration end, mean over replications) and ``mean_p_alive``,
    ``replications``, ``customers``, ``holdout_length``.

    ``customers``: per customer (index: the log's id) ``frequency``, ``recency``, ``T``,
    ``p_alive``, ``predicted`` (the twin's mean holdout purchases), ``expected`` (closed form),
    ``actual``. ``tracking``: per period end ``time`` (``date``), cumulative repeat transactions
    ``actual``, ``expected`` (unconditional closed form), ``expected_conditional``, and the
    twin's ``twin`` (mean), ``twin_low``, ``twin_high`` (2.5% and 97.5% quantiles over
    replications) from the calibration end on. ``by_frequency``: per calibration frequency
    ``customers``, mean holdout purchases ``actual``, ``expected`` and ``twin``.
    ``totals``: the twin's total per replication.
    """

    summary: dict
    customers: pd.DataFrame
    tracking: pd.DataFrame
    by_frequency: pd.DataFrame
    totals: np.ndarray
    time_unit: str = "week"

    def tracking_plot(self, ax=None):
        """Cumulative repeat transactions, twin against actual (the tracking plot)."""
        from crmsim.plots import holdout_tracking

        return holdout_tracking(self, ax=ax)

    def frequency_plot(self, ax=None):
        """Mean holdout purchases by calibration frequency, twin against actual."""
        from crmsim.plots import holdout_by_frequency

        return holdout_by_frequency(self, ax=ax)

    def __repr__(self) -> str:
        s = self.summary
        return (f"Holdout(predicted_repeat={s['predicted_repeat']:.1f} [{s['low']:.1f}, "
                f"{s['high']:.1f}], expected_repeat={s['expected_repeat']:.1f}, "
                f"actual_repeat={s['actual_repeat']}, replications={s['replications']})")


def _twin_holdout_run(task) -> dict:
    """One replication of the twin over the holdout period: each calibration customer's
    purchases (repeat by construction: they bought before t = 0) and their sorted times."""
    from crmsim.simulation import simulate

    customers, grid = task.extra["customers"], task.extra["grid"]
    child = np.random.SeedSequence(task.seed, spawn_key=(task.replication,))
    result = simulate(task.scenario, child)
    purchases = result.transactions()
    purchases = purchases[purchases["customer_id"] < customers]
    ids = purchases["customer_id"].to_numpy()
    times = np.sort(purchases["time"].to_numpy())
    return {"ok": True,
            "per_customer": np.bincount(ids, minlength=customers),
            "cumulative": np.searchsorted(times, grid, side="right"),
            # no acquisition, no policy: each customer active at t = 0 is active at the end
            # or churned during the run
            "alive": (result.kpis["active_end"] + result.kpis["churned"]) / customers}


def holdout(calibration: Calibration, transactions, holdout_end, replications: int = 20,
            seed: int = 0, *, period: float = 1.0, max_frequency: int = 7,
            executor="serial", jobs: int | None = None, progress: bool = False) -> Holdout:
    """Run the calibration's digital twin over the holdout period and set it beside the log.

    The twin is :attr:`Calibration.scenario` with its horizon set to the holdout length
    (holdout end − calibration end) and acquisition off — the calibration customers' draws do not
    depend on it (common random numbers), and the holdout counts only their purchases. Each of
    ``replications`` runs uses child seed k of ``seed``, as :func:`crmsim.compare` does (so any
    ``executor`` gives the same numbers). Every β of the twin is 0, so its expected holdout
    purchases are the closed form's (:func:`closed_form_holdout`): the check that the twin is
    the fitted model, and then, with the actual purchases, that the model fits the shop.
    """
    from crmsim.analysis.stats import mean_ci
    from crmsim.experiment import Task, _check_replications, execute

    _check_replications(replications)
    check = closed_form_holdout(calibration, transactions, holdout_end, period=period,
                                max_frequency=max_frequency)
    length = check.summary["holdout_length"]
    end = calibration.calibration_end
    customers = len(calibration.summary)
    twin = calibration.scenario.with_overrides(
        {"horizon": length, "report_every": min(period, length), "acquisition.rate": 0.0},
        source="holdout")
    grid = check.tracking["time"].to_numpy(float)
    after = grid >= end
    tasks = [Task("twin", k, twin, seed, {"customers": customers,
                                          "grid": grid[after] - end})
             for k in range(replications)]
    outcomes = execute(tasks, executor=executor, jobs=jobs, progress=progress,
                       run=_twin_holdout_run)
    per_customer = np.stack([o["per_customer"] for o in outcomes])
    cumulative = np.stack([o["cumulative"] for o in outcomes]).astype(float)
    totals = per_customer.sum(axis=1)
    mean, low, high = mean_ci(totals)

    table = check.customers.copy()
    table.insert(table.columns.get_loc("expected"), "predicted", per_customer.mean(axis=0))
    tracking = check.tracking.copy()
    at_end = float(tracking.loc[after, "actual"].iloc[0]) if after.any() else 0.0
    for name, values in (("twin", cumulative.mean(axis=0)),
                         ("twin_low", np.quantile(cumulative, 0.025, axis=0)),
                         ("twin_high", np.quantile(cumulative, 0.975, axis=0))):
        column = np.full(len(grid), np.nan)
        column[after] = at_end + values
        tracking[name] = column
    labels = np.minimum(table["frequency"].to_numpy(), max_frequency).astype(int)
    by_frequency = check.by_frequency.copy()
    by_frequency["twin"] = table.groupby(labels)["predicted"].mean().to_numpy()
    summary = {
        "predicted_repeat": mean, "low": low, "high": high,
        "spread_low": float(np.quantile(totals, 0.025)),
        "spread_high": float(np.quantile(totals, 0.975)),
        "expected_repeat": check.summary["expected_repeat"],
        "actual_repeat": check.summary["actual_repeat"],
        "alive_share": float(np.mean([o["alive"] for o in outcomes])),
        "mean_p_alive": float(table["p_alive"].mean()),
        "replications": int(replications), "customers": customers,
        "holdout_length": float(length),
    }
    return Holdout(summary=summary, customers=table, tracking=tracking,
                   by_frequency=by_frequency, totals=totals, time_unit=calibration.time_unit)
