"""The BG/NBD model of purchasing and drop-out (non-contractual customers).

Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2), 275–284 (equation numbers below are the paper's);
Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model", note at
brucehardie.com.

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α) (shape r, rate α);
after each *repeat* purchase it drops out for good with probability p ~ Beta(a, b). A customer's
history in (0, T] is summarised by x repeat purchases, the last at t_x (t_x = 0 when x = 0).

* Expected repeat purchases in (0, t] of a new customer (eq. 9)::

      E[X(t)] = (a + b − 1)/(a − 1) · [1 − (α/(α + t))^r · ₂F₁(r, b; a + b − 1; t/(α + t))]

  It is finite for every a > 0 and finite t: at a = 1 numerator and denominator vanish together
  (₂F₁(r, b; b; z) = (1 − z)^(−r)), a removable singularity; only t → ∞ needs a > 1. The same
  number is the integral E_p[(1 − (α/(α + p t))^r) / p] over p ~ Beta(a, b) (given λ and p,
  E[X(t)] = (1 − e^(−λpt))/p, eq. 7, averaged over λ), which crmsim evaluates by Gauss–Jacobi
  quadrature where the closed form cancels (|a − 1| < 10⁻⁴) or overflows.
* Individual likelihood (eq. 6)::

      L(r, α, a, b | x, t_x, T) = B(a, b + x)/B(a, b) · Γ(r + x) α^r / (Γ(r) (α + T)^(r+x))
          + δ_{x>0} · B(a + 1, b + x − 1)/B(a, b) · Γ(r + x) α^r / (Γ(r) (α + t_x)^(r+x))

  the first term for a customer still alive at T, the second for one who dropped out right
  after the purchase at t_x.
* P(alive | x, t_x, T) (FHL 2008, from eq. 6 and Bayes)::

      P(alive) = 1 / (1 + δ_{x>0} · a/(b + x − 1) · ((α + T)/(α + t_x))^(r+x))

* Posterior (the two terms of eq. 6 read as a mixture): alive ⇒ λ ~ Gamma(r + x, α + T) and
  p ~ Beta(a, b + x); dropped out ⇒ λ ~ Gamma(r + x, α + t_x) and p ~ Beta(a + 1, b + x − 1).
* Conditional expectation of purchases in (T, T + t] (eq. 10)::

      E[Y(t) | x, t_x, T] = (a + b + x − 1)/(a − 1)
          · [1 − ((α + T)/(α + T + t))^(r+x) · ₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t))]
          / (1 + δ_{x>0} · a/(b + x − 1) · ((α + T)/(α + t_x))^(r+x))

  which is P(alive) times eq. 9 with the alive posterior's parameters (r + x, α + T, a, b + x);
  crmsim computes it that way, so the a = 1 limit is handled once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from crmsim.analysis.mle import fit_log_parameters

PARAMS = ("r", "alpha", "a", "b")

#: |a − 1| below which E[X(t)] is taken by quadrature instead of the cancelling closed form
_NEAR_ONE = 1e-4


def _check_positive(**params) -> None:
    for name, value in params.items():
        value = np.asarray(value, dtype=float)
        if not np.all(value > 0):
            raise ValueError(f"{name} = {value}: BG/NBD parameters must be > 0")


def bgnbd_expected_purchases(t, r, alpha, a: float, b):
    """E[X(t)], the expected number of repeat purchases in (0, t] of a new customer (eq. 9).

    Defined for every a > 0 (see the module docstring for a = 1). ``t``, ``r``, ``alpha`` and
    ``b`` may be arrays (broadcast together): with a posterior's (r + x, α + T, a, b + x) this
    is the expectation for an alive customer with that history.

    >>> round(float(bgnbd_expected_purchases(52, 0.5, 4.0, 1.5, 3.0)), 4)
    2.1079
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be ≥ 0")
    return _mean_repeat(t, r, alpha, a, b)


def _mean_repeat(t, r, alpha, a, b):
    """Eq. 9 for arrays t, r, alpha, b (broadcast) and one a > 0."""
    t, r, alpha, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, r, alpha, b)))
    a = float(a)
    out = np.zeros(t.shape)
    with np.errstate(all="ignore"):
        if abs(a - 1) >= _NEAR_ONE:
            z = t / (alpha + t)
            hyp = special.hyp2f1(r, b, a + b - 1, z)
            out = (a + b - 1) / (a - 1) * (1 - np.exp(r * np.log(alpha / (alpha + t))) * hyp)
            bad = ~np.isfinite(out) | (out < 0)
        else:
            bad = np.ones(t.shape, dtype=bool)
    bad &= t > 0
    out = np.where(t == 0, 0.0, out)
    if np.any(bad):
        out = np.array(out, copy=True)
        out[bad] = _mean_repeat_quadrature(t[bad], r[bad], alpha[bad], a, b[bad])
    return out[()] if out.ndim == 0 else out


def _mean_repeat_quadrature(t, r, alpha, a, b):
    """E_p[(1 − (α/(α + pt))^r)/p], p ~ Beta(a, b), by Gauss–Jacobi quadrature.

    The weight p^(a−1) (1−p)^(b−1) is built into the nodes, so the a < 1 endpoint singularity
    costs nothing; the integrand is analytic on [0, 1] with its nearest singularity at
    p = −α/t, and the number of nodes follows from that distance (Bernstein ellipse), capped.
    """
    out = np.empty(len(t))
    for b_value in np.unique(b):
        rows = np.flatnonzero(b == b_value)
        ratio = np.max(t[rows] / alpha[rows])
        x0 = 1 + 2 / ratio                      # the singularity, mapped to x = 2p − 1 ∈ [−1, 1]
        rho = x0 + np.sqrt(x0 * x0 - 1)
        nodes = int(min(3000, np.ceil(40 / (2 * np.log(rho))) + 16))
        x, w = special.roots_jacobi(nodes, b_value - 1, a - 1)
        p = (x + 1) / 2
        w = w / w.sum()
        g = -np.expm1(-r[rows, None] * np.log1p(p[None, :] * t[rows, None] / alpha[rows, None]))
        out[rows] = (g / p[None, :]) @ w
    return out


def bgnbd_probability_alive(frequency, recency, T, r: float, alpha: float, a: float, b: float):
    """P(alive | x, t_x, T): the chance that a customer with this history has not dropped out
    by T (Fader, Hardie & Lee 2008). 1 for a customer without repeat purchases."""
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = (np.log(a) - np.log(b + x - 1)
                         + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, special.expit(-log_odds_dead), 1.0)


def bgnbd_conditional_expected_purchases(t, frequency, recency, T, r: float, alpha: float,
                                         a: float, b: float):
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a customer with this history
    (eq. 10) = P(alive) · E[X(t)] under the alive posterior (r + x, α + T, a, b + x).

    Defined for every a > 0.
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                         for v in (t, frequency, recency, T)))
    alive = bgnbd_probability_alive(x, t_x, T, r, alpha, a, b)
    return alive * _mean_repeat(t, r + x, alpha + T, a, b + x)


def bgnbd_posterior(frequency, recency, T, r: float, alpha: float, a: float,
                    b: float) -> pd.DataFrame:
    """Each customer's posterior, given x, t_x, T: a two-part mixture (see module docstring).

    Columns: ``p_alive``; ``rate_shape`` (r + x, both parts); ``rate_rate_alive`` (α + T),
    ``rate_rate_dead`` (α + t_x); ``dropout_a_alive`` (a), ``dropout_b_alive`` (b + x),
    ``dropout_a_dead`` (a + 1), ``dropout_b_dead`` (b + x − 1); the dead-part columns are NaN
    for x = 0 (such a customer is alive for sure). Also the posterior means ``rate_mean`` and
    ``dropout_mean`` of λ and p over the mixture.
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    p_alive = bgnbd_probability_alive(x, t_x, T, r, alpha, a, b)
    repeat = x > 0
    shape = r + x
    rate_alive = alpha + T
    rate_dead = np.where(repeat, alpha + t_x, np.nan)
    b_alive = b + x
    a_dead = np.where(repeat, a + 1.0, np.nan)
    b_dead = np.where(repeat, b + x - 1, np.nan)
    dead = 1 - p_alive
    rate_mean = p_alive * shape / rate_alive + np.where(repeat, dead * shape / rate_dead, 0.0)
    dropout_mean = (p_alive * a / (a + b_alive)
                    + np.where(repeat, dead * a_dead / (a_dead + b_dead), 0.0))
    return pd.DataFrame({
        "p_alive": p_alive,
        "rate_shape": shape,
        "rate_rate_alive": rate_alive,
        "rate_rate_dead": rate_dead,
        "dropout_a_alive": np.full(x.shape, float(a)),
        "dropout_b_alive": b_alive,
        "dropout_a_dead": a_dead,
        "dropout_b_dead": b_dead,
        "rate_mean": rate_mean,
        "dropout_mean": dropout_mean,
    })


def bgnbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Log-likelihood of each customer's (x, t_x, T) under BG/NBD parameters (r, α, a, b)
    (eq. 6, the two terms added in log space)."""
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


def bgnbd_total_log_likelihood(params, frequency, recency, T) -> float:
    """The sample's log-likelihood: the sum of :func:`bgnbd_log_likelihood` over customers."""
    return float(np.sum(bgnbd_log_likelihood(params, frequency, recency, T)))


def _negative_log_likelihood(log_params, x, t_x, T):
    """−Σ log L and its gradient with respect to (log r, log α, log a, log b)."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    log_alive_T = np.log(alpha + T)
    log_alive_tx = np.log(alpha + t_x)
    beta_ab = special.betaln(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        alive_part = special.betaln(a, b + x) - beta_ab - (r + x) * log_alive_T
        dropped_part = np.where(
            repeat, special.betaln(a + 1, b + x - 1) - beta_ab - (r + x) * log_alive_tx, -np.inf)
    mixture = np.logaddexp(alive_part, dropped_part)
    ll = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + mixture
    w_alive = np.exp(alive_part - mixture)
    w_dead = 1 - w_alive
    psi_abx = special.digamma(a + b + x)
    psi_bx1 = special.digamma(np.where(repeat, b + x - 1, 1.0))
    d_r = (special.digamma(r + x) - special.digamma(r) + np.log(alpha)
           - w_alive * log_alive_T - w_dead * log_alive_tx)
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dead / (alpha + t_x))
    d_a = (-(special.digamma(a) - special.digamma(a + b))
           + w_alive * (special.digamma(a) - psi_abx)
           + w_dead * (special.digamma(a + 1) - psi_abx))
    d_b = (-(special.digamma(b) - special.digamma(a + b))
           + w_alive * (special.digamma(b + x) - psi_abx)
           + w_dead * (psi_bx1 - psi_abx))
    gradient = np.array([d_r.sum() * r, d_alpha.sum() * alpha, d_a.sum() * a, d_b.sum() * b])
    return -float(ll.sum()), -gradient


def fit_bgnbd(summary: pd.DataFrame, starts=None, level: float = 0.95) -> pd.DataFrame:
    """Maximum-likelihood BG/NBD fit of a ``rfm_summary`` table (frequency, recency, T).

    Log-parameterised, with an analytic gradient, from several starts (by default four,
    spread around the observed purchase rate so that the time unit does not matter). Returns
    one row per parameter — ``estimate``, ``se`` (natural scale), ``se_log`` (of log θ̂),
    ``low``, ``high`` (``level`` interval exp(log θ̂ ± z se_log)) — with ``attrs`` holding the
    ``log_likelihood`` at the optimum (see :func:`crmsim.analysis.mle.fit_log_parameters`).
    """
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    if starts is None:
        rate = max(x.sum(), 1.0) / max(T.sum(), 1e-12)   # repeat purchases per unit time
        starts = [(r0, r0 / rate, a0, b0)
                  for r0, a0, b0 in ((1.0, 1.0, 1.0), (0.3, 0.5, 2.0), (3.0, 2.0, 6.0),
                                     (0.5, 1.5, 1.0))]
    return fit_log_parameters(lambda lp: _negative_log_likelihood(lp, x, t_x, T), starts,
                              PARAMS, level=level, scale=max(len(x), 1))
