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
    return experience_rule(cfg)(customer, z, shift)


def experience_rule(cfg):
    """:func:`experience` with the parameters of ``cfg`` (the scenario's ``satisfaction``
    section) bound once: what a run calls at every experience."""
    service_quality, quality_noise = cfg.service_quality, cfg.quality_noise
    performance_weight, norm = cfg.performance_weight, cfg.initial_expectation
    disconfirmation_weight, memory, adaptation = (cfg.disconfirmation_weight, cfg.memory,
                                                  cfg.adaptation)

    def apply(customer, z: float, shift: float = 0.0) -> float:
        quality = service_quality + quality_noise * z + shift
        value = performance_weight * (quality - norm) + (
            disconfirmation_weight * (quality - customer.expectation)
        )
        customer.satisfaction += memory * (value - customer.satisfaction)
        customer.expectation += adaptation * (quality - customer.expectation)
        return quality

    return apply
