"""Discounting and customer lifetime value (客户终身价值, CLV).

Discounting is discrete, per time unit: a cash flow at time t is worth ``(1 + i)^(-t)`` today.

With a constant retention rate r, a margin m paid at acquisition and at each renewal, and a
discount rate i per period, the expected lifetime value at acquisition is the geometric series

    CLV = Σ_{k≥0} m · r^k / (1 + i)^k = m (1 + i) / (1 + i − r)

(Gupta & Lehmann 2003, "Customers as assets"; Berger & Nasr 1998, case 1 with payment up front).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special


def discount_factor(t, discount_rate: float):
    """``(1 + i)^(-t)`` for a cash flow at time ``t``."""
    return np.power(1.0 + discount_rate, -np.asarray(t, dtype=float))


def clv_constant_retention(margin: float, retention: float, discount_rate: float,
                           periods: int | None = None) -> float:
    """Expected CLV with payment at acquisition and at each of the renewals.

    ``periods=None`` is the infinite-horizon closed form m(1+i)/(1+i−r); an integer counts the
    payments (acquisition included) that can fall within a finite horizon.

    >>> round(clv_constant_retention(50, 0.8, 0.01), 4)
    240.4762
    >>> round(clv_constant_retention(50, 0.8, 0.0, periods=1), 4)
    50.0
    """
    if not 0 <= retention < 1 + discount_rate:
        raise ValueError(f"retention = {retention}: must be in [0, 1 + discount_rate)")
    ratio = retention / (1.0 + discount_rate)
    if periods is None:
        return margin * (1.0 + discount_rate) / (1.0 + discount_rate - retention)
    return float(margin * (1 - ratio**periods) / (1 - ratio))


def historical_clv(transactions, margin_rate: float, discount_rate: float = 0.0):
    """Realized (historical) CLV of each customer: Σ margin · (1 + i)^−(t − t_first).

    The margins a customer has brought so far, discounted to its first purchase (the course's
    历史价值, as opposed to the predicted future value). Works on any transactions table with
    customer_id, time, amount; returns a Series indexed by customer_id.

    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "time": [0.0, 1.0, 5.0],
    ...                    "amount": [100.0, 110.0, 40.0]})
    >>> historical_clv(tx, margin_rate=0.5, discount_rate=0.1).round(2).tolist()
    [100.0, 20.0]
    """
    first = transactions.groupby("customer_id")["time"].transform("min")
    value = (transactions["amount"] * margin_rate
             * discount_factor(transactions["time"] - first, discount_rate))
    return value.groupby(transactions["customer_id"]).sum().rename("historical_clv")


def clv_sbg(margin: float, a: float, b: float, discount_rate: float) -> float:
    """Expected discounted lifetime value of a new contract customer under the sBG model.

    With θ ~ Beta(a, b) the survival after t renewals is S(t) = B(a, b+t)/B(a, b) =
    (b)_t / (a+b)_t, so with payment at acquisition and at each renewal

        E[CLV] = m Σ_{t≥0} S(t) / (1 + d)^t = m · ₂F₁(1, b; a + b; 1/(1 + d))

    (Fader & Hardie 2010, "Customer-base valuation in a contractual setting: the perils of
    ignoring heterogeneity", Marketing Science 29(1), the "DEL" of a just-acquired customer).
    Plugging the mean retention into the constant-retention formula instead *understates* it.

    >>> round(clv_sbg(50, 2.0, 6.0, 0.01), 2)  # heterogeneous churn, mean θ = 0.25
    300.43
    >>> round(clv_constant_retention(50, 0.75, 0.01), 2)  # the same mean, no heterogeneity
    194.23
    """
    if discount_rate <= 0 and a <= 1:
        return float("inf")  # Σ S(t) diverges for a ≤ 1 without discounting
    return float(margin * special.hyp2f1(1.0, b, a + b, 1.0 / (1.0 + discount_rate)))


def cac_payback(cac: float, margin: float, retention: float, discount_rate: float = 0.0,
                max_periods: int = 10_000) -> float:
    """Periods until a new customer's expected discounted margin repays its acquisition cost.

    Margin m at acquisition and at each renewal, kept with probability r each period: the
    expected cumulative value after n payments is m Σ_{k<n} (r/(1+i))^k. Returns the number of
    payments n needed to reach ``cac`` (inf if it never does: CLV < CAC).

    >>> cac_payback(100, 30, 0.8)  # 30 + 24 + 19.2 + 15.4 = 88.6 < 100, + 12.3 = 100.9
    5
    """
    ratio = retention / (1.0 + discount_rate)
    total, term = 0.0, float(margin)
    for n in range(1, max_periods + 1):
        total += term
        if total >= cac:
            return n
        term *= ratio
    return math.inf
