"""The churn (defection) decision, in two stages: an intention to leave, then the barriers.

At each decision point (a contract renewal, or right after a repeat purchase) a customer first
*intends* to leave with probability ::

    intention = sigmoid(logit(θ_i) + Σ_k β_k · x_k)

where θ_i is the customer's latent churn propensity (life events, needs that change) and the
x_k are what moves the wish to leave: dissatisfaction, a rival's pull, a retention offer ...
Then *switching barriers* decide whether the intention becomes a switch ::

    p = intention · exp(Σ_j β_j · b_j)        (every β_j ≤ 0)

where the b_j are what leaving would cost the customer: procedural, financial and relational
switching costs, and the points and tier benefits a programme member would forfeit. Barriers
matter only to customers who want to leave (Jones, Mothersbaugh & Beatty 2000; Burnham, Frels &
Mahajan 2003): a satisfied customer stays whether or not leaving is easy, which is why spurious
loyalty collapses when a barrier falls and true loyalty does not. With every β = 0 the decision
is exactly Bernoulli(θ_i): the textbook sBG (contractual) and BG/NBD (non-contractual) models.

The churn *reason* is the intention driver with the largest positive push ``β_k · x_k``;
"natural" when nothing pushed (the customer's own propensity).
"""

from __future__ import annotations

import math

NATURAL = "natural"
#: the churn reason of a customer the firm stopped serving (tiering.drop_unprofitable)
DROPPED = "dropped"
#: the churn reason of a customer who was already gone when the run started (a population
#: file's customer who dropped out after its last purchase before t = 0; no churn in the run)
BEFORE_START = "before_start"


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


def probability(theta: float, push: float, barrier: float = 0.0) -> float:
    """sigmoid(logit θ + push) · exp(barrier); exactly θ when push and barrier are 0.

    ``push`` is the sum of the intention terms, ``barrier`` (≤ 0) the sum of the barrier terms.
    """
    if push == 0.0 or theta <= 0.0 or theta >= 1.0:
        intention = theta
    else:  # sigmoid(logit(θ) + push), written out: this runs at every decision
        x = math.log(theta) - math.log1p(-theta) + push
        if x >= 0:
            intention = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            intention = e / (1.0 + e)
    return intention * math.exp(barrier) if barrier else intention


def reason(terms: dict[str, float]) -> str:
    """The driver with the largest positive push, or "natural"."""
    best, push = NATURAL, 0.0
    for name, value in terms.items():
        if value > push:
            best, push = name, value
    return best


def churn_probability(theta: float, terms: dict[str, float],
                      barriers: dict[str, float] | None = None) -> tuple[float, str]:
    """(probability, reason) for a customer with propensity ``theta``, intention pushes
    ``terms`` (reason → β_k · x_k) and ``barriers`` (name → β_j · b_j, each ≤ 0).

    >>> churn_probability(0.2, {"dissatisfaction": 0.0})
    (0.2, 'natural')
    >>> p, why = churn_probability(0.2, {"dissatisfaction": 1.0})
    >>> round(p, 4), why
    (0.4046, 'dissatisfaction')
    >>> p, why = churn_probability(0.2, {"dissatisfaction": 1.0}, {"switching_cost": -1.0})
    >>> round(p, 4), why            # the same intention, held back by a barrier
    (0.1488, 'dissatisfaction')
    """
    barrier = sum(barriers.values()) if barriers else 0.0
    return probability(theta, sum(terms.values()), barrier), reason(terms)
