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


def churn_probability(theta: float, terms: dict[str, float]) -> tuple[float, str]:
    """(probability, reason) for a customer with propensity ``theta`` and pushes ``terms``.

    ``terms`` maps a reason to β_k · x_k.

    >>> churn_probability(0.2, {"dissatisfaction": 0.0})
    (0.2, 'natural')
    >>> p, reason = churn_probability(0.2, {"dissatisfaction": 1.0})
    >>> round(p, 4), reason
    (0.4046, 'dissatisfaction')
    """
    z = 0.0
    reason, push = NATURAL, 0.0
    for name, value in terms.items():
        z += value
        if value > push:
            reason, push = name, value
    if z == 0.0 or theta <= 0.0 or theta >= 1.0:
        return theta, reason
    logit = math.log(theta) - math.log1p(-theta) + z
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit)), reason
    e = math.exp(logit)
    return e / (1.0 + e), reason
