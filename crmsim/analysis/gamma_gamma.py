"""The Gamma–Gamma model of spend per purchase (monetary value, 客户价值的 M).

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
Journal of Marketing Research 42(4), 415–430; Fader & Hardie (2013), "The Gamma-Gamma model of
monetary value", note at brucehardie.com.

Each of a customer's purchases is z ~ Gamma(p, ν) (shape p, rate ν), so the customer's mean spend
is p/ν; across customers ν ~ Gamma(q, γ). Spend is assumed independent of the purchase process
(BG/NBD), which is why the two models are fitted separately. Only customers with repeat
purchases inform it: with x repeat purchases of mean z̄ (the first purchase left out, as in the
papers), x·z̄ ~ Gamma(p x, ν), and integrating ν out gives the density of z̄::

    f(z̄ | x) = Γ(p x + q) / (Γ(p x) Γ(q)) · γ^q · z̄^(p x − 1) · x^(p x) / (γ + x z̄)^(p x + q)

* Posterior of ν given (x, z̄): Gamma(p x + q, γ + x z̄) — conjugate; with x = 0 it is the prior.
* Conditional expected spend per purchase::

      E[Z | x, z̄] = p (γ + x z̄) / (p x + q − 1)
                  = (q − 1)/(p x + q − 1) · p γ/(q − 1) + p x/(p x + q − 1) · z̄

  a weighted mean of the population mean p γ/(q − 1) (finite for q > 1) and the customer's own
  z̄, the weight on z̄ growing with x.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from crmsim.analysis.mle import fit_log_parameters

PARAMS = ("p", "q", "gamma")


def gamma_gamma_log_likelihood(params, frequency, monetary_value) -> np.ndarray:
    """log f(z̄ | x) of each customer with x > 0 repeat purchases of mean z̄ > 0."""
    p, q, gamma = params
    x = np.asarray(frequency, dtype=float)
    z = np.asarray(monetary_value, dtype=float)
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
            + q * np.log(gamma) + (px - 1) * np.log(z) + px * np.log(x)
            - (px + q) * np.log(gamma + x * z))


def gamma_gamma_total_log_likelihood(params, frequency, monetary_value) -> float:
    """Σ :func:`gamma_gamma_log_likelihood` over the customers given (all must have x, z̄ > 0)."""
    return float(np.sum(gamma_gamma_log_likelihood(params, frequency, monetary_value)))


def _negative_log_likelihood(log_params, x, z):
    p, q, gamma = np.exp(log_params)
    px = p * x
    log_total = np.log(gamma + x * z)
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
          + q * np.log(gamma) + (px - 1) * np.log(z) + px * np.log(x) - (px + q) * log_total)
    psi_sum = special.digamma(px + q)
    d_p = x * (psi_sum - special.digamma(px) + np.log(z) + np.log(x) - log_total)
    d_q = psi_sum - special.digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + x * z)
    gradient = np.array([d_p.sum() * p, d_q.sum() * q, d_gamma.sum() * gamma])
    return -float(ll.sum()), -gradient


def fit_gamma_gamma(summary: pd.DataFrame, starts=None, level: float = 0.95) -> pd.DataFrame:
    """Maximum-likelihood (p, q, γ) from a ``rfm_summary`` table (frequency, monetary_value).

    Uses the customers with repeat purchases and a positive mean repeat spend (the others carry
    no information on spend per purchase). Log-parameterised, analytic gradient, several starts
    (scaled to the observed mean spend, so the currency unit does not matter). Same table as
    :func:`crmsim.analysis.fit_bgnbd`: ``estimate``, ``se``, ``se_log``, ``low``, ``high``, and
    ``attrs["log_likelihood"]``, ``attrs["customers"]``.
    """
    used = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    x = summary.loc[used, "frequency"].to_numpy(float)
    z = summary.loc[used, "monetary_value"].to_numpy(float)
    if len(x) < 2:
        raise ValueError(f"the Gamma-Gamma model needs customers with repeat purchases and "
                         f"positive spend; found {len(x)}")
    if starts is None:
        mean = float(np.mean(z))   # p γ / (q − 1) ≈ mean  ⇒  γ = mean (q − 1) / p
        starts = [(p0, q0, mean * (q0 - 1) / p0)
                  for p0, q0 in ((1.0, 2.0), (5.0, 4.0), (2.0, 10.0), (10.0, 1.5))]
    table = fit_log_parameters(lambda lp: _negative_log_likelihood(lp, x, z), starts, PARAMS,
                               level=level, scale=len(x))
    table.attrs["customers"] = int(len(x))
    return table


def gamma_gamma_posterior(frequency, monetary_value, p: float, q: float,
                          gamma: float) -> pd.DataFrame:
    """Each customer's posterior of ν: ``spend_shape`` = p x + q, ``spend_rate`` = γ + x z̄
    (the prior q, γ for x = 0), and ``expected_spend`` (:func:`gamma_gamma_expected_spend`)."""
    x = np.asarray(frequency, dtype=float)
    z = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
    return pd.DataFrame({
        "spend_shape": p * x + q,
        "spend_rate": gamma + x * z,
        "expected_spend": gamma_gamma_expected_spend(x, z, p, q, gamma),
    })


def gamma_gamma_expected_spend(frequency, monetary_value, p: float, q: float, gamma: float):
    """E[Z | x, z̄] = p (γ + x z̄) / (p x + q − 1); the population mean p γ/(q − 1) for x = 0.

    Infinite where p x + q ≤ 1 (the posterior mean of 1/ν does not exist).
    """
    x = np.asarray(frequency, dtype=float)
    z = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
    denominator = p * x + q - 1
    with np.errstate(divide="ignore"):
        return np.where(denominator > 0, p * (gamma + x * z) / denominator, np.inf)


def gamma_gamma_mean_spend(p: float, q: float, gamma: float) -> float:
    """Population mean spend per purchase, p γ / (q − 1) (infinite for q ≤ 1)."""
    return p * gamma / (q - 1) if q > 1 else float("inf")
