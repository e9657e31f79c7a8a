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
from scipy import special


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
