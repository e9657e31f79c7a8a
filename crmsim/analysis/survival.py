"""Survival of contractual customers: the shifted-beta-geometric (sBG) model and its estimate.

Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1).
Each customer renews each period with its own probability 1 − θ, and θ ~ Beta(a, b) across
customers. The share still alive after t renewals is

    S(t) = B(a, b + t) / B(a, b)

and the retention rate at renewal t, r_t = (b + t − 1) / (a + b + t − 1), rises with t although
no customer changes: the heterogeneity "sorting" effect that makes cohort retention curves climb.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special


def sbg_survival(t, a: float, b: float):
    """S(t) = B(a, b+t) / B(a, b), computed with log-Beta functions for stability."""
    t = np.asarray(t, dtype=float)
    return np.exp(special.betaln(a, b + t) - special.betaln(a, b))


def sbg_retention(t, a: float, b: float):
    """Retention rate at renewal t (t ≥ 1): S(t) / S(t − 1) = (b + t − 1) / (a + b + t − 1)."""
    t = np.asarray(t, dtype=float)
    return (b + t - 1) / (a + b + t - 1)


def empirical_survival(customers: pd.DataFrame, times) -> pd.DataFrame:
    """Share of customers alive at each of ``times`` after their acquisition.

    Uses ``acquired_at`` and ``churned_at`` (NaN while active). Only customers observed for at
    least t (acquired at or before horizon − t is the caller's job; here all customers are
    counted, which is right for a cohort acquired at t = 0). Returns t, at_risk, alive, survival.
    """
    tenure_at_churn = (customers["churned_at"] - customers["acquired_at"]).to_numpy()
    n = len(customers)
    rows = []
    for t in np.asarray(times, dtype=float):
        alive = int(np.sum(np.isnan(tenure_at_churn) | (tenure_at_churn > t)))
        rows.append((t, n, alive, alive / n if n else np.nan))
    return pd.DataFrame(rows, columns=["t", "at_risk", "alive", "survival"])


def sbg_log_likelihood(a: float, b: float, churned_at, observed) -> float:
    """Log-likelihood of contract data under the sBG model (Fader & Hardie 2007, eq. 4–6).

    ``churned_at[i]`` is the renewal at which customer i left (1, 2, ...; NaN if still a
    customer) and ``observed[i]`` the renewals it has been observed for. A leaver at t
    contributes P(T = t) = B(a + 1, b + t − 1) / B(a, b); a customer still there after m
    renewals contributes S(m) = B(a, b + m) / B(a, b).
    """
    churned_at = np.asarray(churned_at, dtype=float)
    observed = np.asarray(observed, dtype=float)
    left = ~np.isnan(churned_at)
    base = special.betaln(a, b)
    ll = np.sum(special.betaln(a + 1, b + churned_at[left] - 1) - base)
    ll += np.sum(special.betaln(a, b + observed[~left]) - base)
    return float(ll)


def fit_sbg(churned_at, observed) -> dict[str, float]:
    """Maximum-likelihood (a, b) of the sBG model from contract data (see
    :func:`sbg_log_likelihood`); feed them to :func:`crmsim.analysis.clv_sbg` for the predictive
    CLV of a new customer, or to :func:`sbg_survival` to project retention.

    >>> fit = fit_sbg(churned_at=[1, 1, 2, 3, np.nan, np.nan, np.nan, np.nan],
    ...               observed=[1, 1, 2, 3, 4, 4, 4, 4])
    >>> sorted(fit)
    ['a', 'b', 'log_likelihood']
    """
    def negative(log_params):
        a, b = np.exp(log_params)
        return -sbg_log_likelihood(a, b, churned_at, observed)

    result = optimize.minimize(negative, x0=np.log([1.0, 3.0]), method="Nelder-Mead",
                               options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    a, b = np.exp(result.x)
    return {"a": float(a), "b": float(b), "log_likelihood": float(-result.fun)}


def contract_renewals(customers: pd.DataFrame, period: float, horizon: float):
    """(churned_at, observed) in renewals, from a customers table (``acquired_at``,
    ``churned_at``), for :func:`fit_sbg`. A customer acquired at t₀ has been observed for the
    renewals that fell before the horizon, ⌈(horizon − t₀)/period⌉ − 1."""
    tenure = (customers["churned_at"] - customers["acquired_at"]).to_numpy(dtype=float)
    churned = np.round(tenure / period)
    observed = np.ceil((horizon - customers["acquired_at"].to_numpy(dtype=float)) / period) - 1
    return churned, np.where(np.isnan(churned), observed, churned)
