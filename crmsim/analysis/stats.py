"""Confidence intervals used across crmsim (t-interval for means, Wilson for proportions)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval for the mean of ``values``.

    NaNs are dropped; with fewer than two values the interval is (mean, nan, nan).

    >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    >>> m, round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def proportion_ci(successes: int, trials: int, level: float = 0.95) -> tuple[float, float, float]:
    """(proportion, low, high) with the Wilson score interval (scipy's ``binomtest``)."""
    if trials == 0:
        return math.nan, math.nan, math.nan
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(level, method="wilson")
    return successes / trials, float(ci.low), float(ci.high)
