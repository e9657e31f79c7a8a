"""The BG/NBD model of purchasing and drop-out (non-contractual customers).

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2). While alive, a customer buys as a Poisson process with
rate λ ~ Gamma(r, α); after each repeat purchase it drops out with probability p ~ Beta(a, b).
Expected repeat purchases in (0, t] for a customer who started at 0 (eq. 9 of the paper):

    E[X(t)] = (a + b − 1)/(a − 1) · [1 − (α/(α + t))^r · ₂F₁(r, b; a + b − 1; t/(α + t))]

The individual likelihood of (x, t_x, T) — x repeat purchases, the last at t_x, observed to T —
is the paper's eq. 6; :func:`fit_bgnbd` maximises it over a ``rfm_summary`` table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special

PARAMS = ("r", "alpha", "a", "b")


def bgnbd_expected_purchases(t, r: float, alpha: float, a: float, b: float):
    """E[X(t)], the expected number of repeat purchases in (0, t]; needs a > 1."""
    if a <= 1:
        raise ValueError(f"a = {a}: E[X(t)] is finite only for a > 1")
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    hyp = special.hyp2f1(r, b, a + b - 1, z)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def bgnbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Log-likelihood of each customer's (x, t_x, T) under BG/NBD parameters (r, α, a, b)."""
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    beta_ab = special.betaln(a, b)
    alive_part = special.betaln(a, b + x) - beta_ab - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped_part = np.where(
            x > 0,
            special.betaln(a + 1, b + x - 1) - beta_ab - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return common + np.logaddexp(alive_part, dropped_part)


def fit_bgnbd(summary: pd.DataFrame, start=(1.0, 1.0, 1.0, 1.0)) -> pd.DataFrame:
    """Maximum-likelihood BG/NBD fit of a ``rfm_summary`` table (frequency, recency, T).

    Returns one row per parameter with the estimate and a standard error from the numerical
    Hessian of the log-likelihood in log-parameter space (estimates are positive), and the 95%
    interval exp(log θ̂ ± 1.96 se).
    """
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))

    def negative(log_params):
        return -np.sum(bgnbd_log_likelihood(np.exp(log_params), x, t_x, T))

    fit = optimize.minimize(negative, np.log(start), method="Nelder-Mead",
                            options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 20000,
                                     "maxfev": 20000})
    fit = optimize.minimize(negative, fit.x, method="BFGS")
    hessian = _hessian(negative, fit.x)
    cov = np.linalg.inv(hessian)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    est = np.exp(fit.x)
    return pd.DataFrame(
        {
            "estimate": est,
            "se_log": se,
            "low": np.exp(fit.x - 1.96 * se),
            "high": np.exp(fit.x + 1.96 * se),
        },
        index=pd.Index(PARAMS, name="parameter"),
    )


def _hessian(f, x, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            e_i = np.eye(n)[i] * step
            e_j = np.eye(n)[j] * step
            h[i, j] = h[j, i] = (
                f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)
            ) / (4 * step * step)
    return h
