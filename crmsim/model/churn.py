"""The churn (defection) decision.

At each decision point (a contract renewal, or right after a repeat purchase) the customer leaves
with probability ::

    p = sigmoid(logit(θ_i) + Σ_k β_k · x_k)

where θ_i is the customer's latent churn propensity and the x_k are what the firm can move:
satisfaction, switching cost, and (as policies are added) reward lock-in, competitor pull and
retention offers. With every β_k = 0 the decision is exactly Bernoulli(θ_i): the textbook sBG
(contractual) and BG/NBD (non-contractual) models.

The churn *reason* is the driver with the largest positive push ``β_k · x_k``; "natural" when
nothing pushed (the customer's own propensity).
"""

from __future__ import annotations

import math

NATURAL = "natural"
#: the churn reason of a customer the firm stopped serving (tiering.drop_unprofitable)
DROPPED = "dropped"


def logit(theta: float) -> float:
    """log(θ / (1 − θ)), ±inf at 0 and 1."""
    if theta <= 0.0:
        return -math.inf
    if theta >= 1.0:
        return math.inf
    return math.log(theta) - math.log1p(-theta)


def sigmoid(x: float) -> float:
    """1 / (1 + e^(−x)), without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # underflows to 0 for very negative x
    return e / (1.0 + e)


def probability(theta: float, push: float) -> float:
    """sigmoid(logit θ + push); exactly θ when push is 0 (and for θ of 0 or 1)."""
    if push == 0.0 or theta <= 0.0 or theta >= 1.0:
        return theta
    return sigmoid(logit(theta) + push)


def reason(terms: dict[str, float]) -> str:
    """The driver with the largest positive push, or "natural"."""
    best, push = NATURAL, 0.0
    for name, value in terms.items():
        if value > push:
            best, push = name, value
    return best


def churn_probability(theta: float, terms: dict[str, float]) -> tuple[float, str]:
    """(probability, reason) for a customer with propensity ``theta`` and pushes ``terms``.

    ``terms`` maps a reason to β_k · x_k.

    >>> churn_probability(0.2, {"dissatisfaction": 0.0})
    (0.2, 'natural')
    >>> p, why = churn_probability(0.2, {"dissatisfaction": 1.0})
    >>> round(p, 4), why
    (0.4046, 'dissatisfaction')
    """
    return probability(theta, sum(terms.values())), reason(terms)
