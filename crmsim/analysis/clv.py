"""Discounting and customer lifetime value (客户终身价值, CLV).

Discounting is discrete, per time unit: a cash flow at time t is worth ``(1 + i)^(-t)`` today.

With a constant retention rate r, a margin m paid at acquisition and at each renewal, and a
discount rate i per period, the expected lifetime value at acquisition is the geometric series

    CLV = Σ_{k≥0} m · r^k / (1 + i)^k = m (1 + i) / (1 + i − r)

(Gupta & Lehmann 2003, "Customers as assets"; Berger & Nasr 1998, case 1 with payment up front).
"""

from __future__ import annotations

import numpy as np


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
