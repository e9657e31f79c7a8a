"""Satisfaction (满意度) from expectation disconfirmation, with adapting expectations.

Oliver's expectation–disconfirmation idea in a few lines. An experience has perceived quality
``q = service_quality + fit_i + quality_noise · z``, where ``fit_i`` is how well the offering
suits this customer (persistent; 门当户对) and z is the noise of each experience. Its value to the customer mixes how good it was
(performance, against the market norm) and how much it beat what the customer expected
(disconfirmation)::

    value = performance_weight · (q − initial_expectation) + disconfirmation_weight · (q − e)
    satisfaction ← satisfaction + memory · (value − satisfaction)
    e            ← e + adaptation · (q − e)

Because the expectation ``e`` moves toward what was experienced, a firm that raises its service
level first delights its customers and then, as they get used to it, sees the disconfirmation
part wear off: "exceeding expectations" must be renewed to keep paying.
"""

from __future__ import annotations


def experience(customer, cfg, z: float, shift: float = 0.0) -> float:
    """Apply one experience with standard-normal noise ``z``; return the perceived quality.

    ``shift`` moves the perceived quality: the customer's own fit with the offering, minus the
    shortfall of a service failure.
    """
    quality = cfg.service_quality + cfg.quality_noise * z + shift
    value = cfg.performance_weight * (quality - cfg.initial_expectation) + (
        cfg.disconfirmation_weight * (quality - customer.expectation)
    )
    customer.satisfaction += cfg.memory * (value - customer.satisfaction)
    customer.expectation += cfg.adaptation * (quality - customer.expectation)
    return quality
