"""Calibration (校准): from a shop's transaction log to the parameters and the posterior of
each of its customers — the first half of a digital twin.

:func:`calibrate` reads the log (:mod:`crmsim.transaction_log`), cuts it at
``calibration_end``, summarises every customer seen by then (frequency x = repeat purchases,
recency t_x, age T, mean repeat spend z̄: :func:`crmsim.analysis.rfm_summary`) and fits, by
maximum likelihood,

* the BG/NBD model of purchasing and drop-out — r, α (purchase rate λ ~ Gamma(r, α)),
  a, b (drop-out probability p ~ Beta(a, b)) — on all customers
  (:func:`crmsim.analysis.fit_bgnbd`; Fader, Hardie & Lee 2005, Marketing Science), and
* the Gamma–Gamma model of spend — p, q, γ (spend per purchase ~ Gamma(p, ν),
  ν ~ Gamma(q, γ)) — on the customers with repeat purchases
  (:func:`crmsim.analysis.fit_gamma_gamma`; Fader, Hardie & Lee 2005, JMR).

Then, for each customer, Bayes' rule turns the population into *this* customer (the columns a
twin draws its hidden traits from): P(alive), and the posterior of λ, p (alive: λ ~ Gamma(r + x,
α + T), p ~ Beta(a, b + x); dropped out: λ ~ Gamma(r + x, α + t_x), p ~ Beta(a + 1, b + x − 1))
and of the spend rate ν ~ Gamma(p x + q, γ + x z̄) (:func:`crmsim.analysis.bgnbd_posterior`,
:func:`crmsim.analysis.gamma_gamma_posterior`).

Customers whose first purchase comes after ``calibration_end`` are not fitted (they are the
acquisition a twin models separately); they are counted in the report.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.analysis import (
    bgnbd_conditional_expected_purchases,
    bgnbd_posterior,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_posterior,
    rfm_summary,
)
from crmsim.errors import ScenarioError
from crmsim.transaction_log import (
    REPORT_ITEMS,
    TIME_UNITS,
    TransactionLog,
    option,
    read_transactions,
)

PARAMS = ("r", "alpha", "a", "b", "p", "q", "gamma")

#: report items that :func:`calibrate` adds to the log's (:data:`crmsim.transaction_log.REPORT_ITEMS`)
CALIBRATION_REPORT_ITEMS = {
    "calibration_customers": "customers whose first purchase is on or before the calibration "
                             "end (the customers fitted)",
    "customers_after_calibration_end": "customers whose first purchase is after the calibration "
                                       "end: not fitted (new customers)",
    "transactions_after_calibration_end": "purchases after the calibration end (the holdout "
                                          "period), not used by the fit",
    "repeat_customers": "calibration customers with at least one repeat purchase",
    "spend_fit_customers": "repeat customers with a positive mean repeat spend: the "
                           "Gamma-Gamma fit",
    "repeat_customers_without_spend": "repeat customers whose repeat purchases are all of "
                                      "amount 0: left out of the Gamma-Gamma fit (prior spend)",
}


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` learned from a log.

    Attributes
    ----------
    params:
        ``r, alpha, a, b`` (BG/NBD) and ``p, q, gamma`` (Gamma–Gamma), maximum likelihood.
    standard_errors:
        The same keys: standard errors on the natural scale, from the Hessian (delta method
        from log space); ``fit`` has the 95% intervals.
    log_likelihood:
        BG/NBD log-likelihood at the estimates (all calibration customers).
    spend_log_likelihood:
        Gamma–Gamma log-likelihood at the estimates (the customers in the spend fit).
    fit:
        One row per parameter: ``model``, ``estimate``, ``se``, ``se_log``, ``low``, ``high``.
    summary:
        One row per calibration customer (index ``customer_id``): ``frequency``, ``recency``,
        ``T``, ``monetary_value`` (mean repeat spend), ``first_purchase`` (time), ``revenue``
        (all its purchases in the calibration period), ``p_alive``,
        the posterior columns of :func:`crmsim.analysis.bgnbd_posterior` and
        :func:`crmsim.analysis.gamma_gamma_posterior`, and ``in_spend_fit``.
    calibration_end:
        In ``time_unit`` since the log's origin (its first day for a log of dates).
    report:
        Counts of rows read, dropped, combined, and of customers fitted and left out
        (:meth:`report_table` says what each means).
    diagnostics:
        Per model (``"BG/NBD"``, ``"Gamma-Gamma"``): starts tried, how many reached the best
        optimum, whether the gradient vanished there (``converged``) and whether the Hessian was
        positive definite (``hessian_ok``; without it the standard errors are NaN).
    """

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    spend_log_likelihood: float
    fit: pd.DataFrame
    summary: pd.DataFrame
    calibration_end: float
    time_unit: str
    origin: pd.Timestamp | None
    report: dict[str, int]
    diagnostics: dict = field(default_factory=dict)
    read_options: dict = field(default_factory=dict)
    #: where the log came from (its file name, or "transactions" for a DataFrame)
    source: str = "transactions"
    #: the log's first time (the start of the calibration period), in ``time_unit``
    start: float = 0.0

    @property
    def calibration_end_date(self) -> pd.Timestamp | None:
        """The calibration end as a date (``None`` for numeric logs)."""
        if self.origin is None:
            return None
        return self.origin + pd.Timedelta(days=self.calibration_end * TIME_UNITS[self.time_unit])

    def conditional_expected_purchases(self, t) -> pd.Series:
        """Each customer's expected purchases in the ``t`` time units after the calibration end
        (Fader, Hardie & Lee 2005, eq. 10)."""
        s = self.summary
        values = bgnbd_conditional_expected_purchases(
            t, s["frequency"], s["recency"], s["T"], *(self.params[k] for k in
                                                       ("r", "alpha", "a", "b")))
        return pd.Series(values, index=s.index, name="expected_purchases")

    @property
    def population(self) -> pd.DataFrame:
        """The customers as a population table for a twin (:func:`crmsim.twin.population_table`):
        their histories and the posteriors of their hidden traits, one row each."""
        from crmsim.twin import population_table

        return population_table(self)

    @functools.cached_property
    def scenario(self):
        """The digital twin (数字孪生): a scenario whose initial customers are these customers,
        with their histories and traits drawn from their posteriors (see :mod:`crmsim.twin`).
        Its population file lives in a cache folder; :meth:`to_yaml` writes it beside a YAML
        file instead."""
        from crmsim.twin import twin_scenario

        return twin_scenario(self)

    def to_yaml(self, path, population: str | None = None):
        """Write the twin as a readable scenario file ``path`` (the fit and its origin in
        comments) and the customers beside it, ``<stem>_population.parquet`` (or
        ``population``, a file name); ``crmsim run`` and ``crmsim compare`` accept the file.
        Returns the path."""
        from crmsim.twin import write_twin

        return write_twin(self, path, population)

    def report_table(self) -> pd.DataFrame:
        """The report with what each count means."""
        meanings = {**REPORT_ITEMS, **CALIBRATION_REPORT_ITEMS}
        return pd.DataFrame({"count": list(self.report.values()),
                             "meaning": [meanings.get(k, "") for k in self.report]},
                            index=list(self.report))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return (f"Calibration({self.report.get('calibration_customers', 0)} customers, "
                f"{shown}, log_likelihood={self.log_likelihood:.2f})")


def calibrate(transactions, calibration_end, *, time_unit: str = "week",
              customer_col: str = "customer_id", time_col: str = "time",
              amount_col: str = "amount", duplicates: str = "error",
              date_format: str | None = None) -> Calibration:
    """Fit BG/NBD and Gamma–Gamma to a transaction log up to ``calibration_end``.

    ``transactions`` is a DataFrame or the path of a CSV file, one row per transaction;
    ``calibration_end`` a date for a log of dates (any pandas-parsable format) or a number for
    numeric times. ``time_unit`` (``day``, ``week``, ``month``, ``year``) is the unit time is
    counted in, so the fitted α and every time are in it. ``duplicates`` says what rows that
    repeat an earlier row exactly are: an error (the default: crmsim will not guess),
    ``"keep"`` (separate purchases) or ``"drop"`` (copies). ``date_format`` (e.g.
    ``"%d/%m/%Y"``) says how to read dates when their first value does not. Bad input raises
    :class:`~crmsim.errors.ScenarioError` with one line naming the row, the value and what is
    allowed; see :mod:`crmsim.transaction_log`.
    """
    read_options = dict(time_unit=time_unit, customer_col=customer_col, time_col=time_col,
                        amount_col=amount_col, duplicates=duplicates, date_format=date_format)
    log = read_transactions(transactions, **read_options)
    end = _calibration_end(log, calibration_end)
    table = log.table
    in_period = table["time"] <= end
    first = table.groupby("customer_id", sort=True)["time"].min()
    report = dict(log.report)
    report["calibration_customers"] = int((first <= end).sum())
    report["customers_after_calibration_end"] = int((first > end).sum())
    report["transactions_after_calibration_end"] = int((~in_period).sum())

    summary = rfm_summary(table.loc[in_period], observation_end=end)
    repeat = summary["frequency"] > 0
    with_spend = repeat & (summary["monetary_value"] > 0)
    report["repeat_customers"] = int(repeat.sum())
    report["spend_fit_customers"] = int(with_spend.sum())
    report["repeat_customers_without_spend"] = int((repeat & ~with_spend).sum())
    when = log.describe(end)
    if report["repeat_customers"] == 0:
        raise ScenarioError(
            f"{option('calibration_end')} = {when}: none of the {len(summary)} customers seen by "
            f"then bought again (on a later day) before it; BG/NBD and Gamma-Gamma need repeat "
            f"purchases — choose a later {option('calibration_end')} or a log with repeat "
            "customers", log.source)
    if report["spend_fit_customers"] < 2:
        raise ScenarioError(
            f"{option('calibration_end')} = {when}: {report['spend_fit_customers']} customer(s) "
            f"with repeat purchases of a positive amount; the Gamma-Gamma spend model needs at "
            f"least 2 — choose a later {option('calibration_end')}", log.source)

    purchases = fit_bgnbd(summary)
    spend = fit_gamma_gamma(summary)
    fit = pd.concat([purchases.assign(model="BG/NBD"), spend.assign(model="Gamma-Gamma")])
    fit = fit[["model", "estimate", "se", "se_log", "low", "high"]]
    params = {k: float(fit.loc[k, "estimate"]) for k in PARAMS}
    errors = {k: float(fit.loc[k, "se"]) for k in PARAMS}

    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    posterior = bgnbd_posterior(x, t_x, T, *(params[k] for k in ("r", "alpha", "a", "b")))
    spend_x = np.where(with_spend, x, 0.0)     # no (positive) repeat spend: the prior
    spend_posterior = gamma_gamma_posterior(spend_x, summary["monetary_value"],
                                            params["p"], params["q"], params["gamma"])
    revenue = table.loc[in_period].groupby("customer_id", sort=True)["amount"].sum()
    summary = summary.assign(first_purchase=end - summary["T"],
                             revenue=revenue.reindex(summary.index).to_numpy())
    for frame in (posterior, spend_posterior):
        frame.index = summary.index
    summary = pd.concat([summary, posterior, spend_posterior], axis=1)
    summary["in_spend_fit"] = with_spend.to_numpy()
    return Calibration(
        params=params, standard_errors=errors,
        log_likelihood=float(purchases.attrs["log_likelihood"]),
        spend_log_likelihood=float(spend.attrs["log_likelihood"]),
        fit=fit, summary=summary, calibration_end=end, time_unit=log.time_unit,
        origin=log.origin, report=report, read_options=read_options,
        diagnostics={"BG/NBD": dict(purchases.attrs), "Gamma-Gamma": dict(spend.attrs)},
        source=log.source, start=log.first_time)


def _calibration_end(log: TransactionLog, value) -> float:
    end = log.to_time(value, "calibration_end")
    first, last = log.first_time, log.last_time
    if end < first or end > last:
        side = "before the first" if end < first else "after the last"
        raise ScenarioError(
            f"{option('calibration_end')} = {value!r} is {side} transaction in the log; "
            f"allowed: from {log.describe(first)} to {log.describe(last)}", log.source)
    return end
