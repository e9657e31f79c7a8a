"""The Bass diffusion model of new-product (and new-customer) adoption (客户开发 / 口碑).

Bass (1969), "A new product growth model for consumer durables", Management Science 15(5).
Of a market of M prospects, a prospect who has not adopted yet adopts at the hazard

    h(t) = p + q · N(t) / M

where p is *innovation* (adoption from outside influence — advertising) and q *imitation* (word
of mouth from the N(t) adopters so far). The share adopted by t, F(t) = N(t)/M, solves
F' = (p + qF)(1 − F) with F(0) = 0:

    F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})

Adoptions peak at t* = ln(q/p)/(p + q) when q > p.
"""

from __future__ import annotations

import math

import numpy as np


def bass_cdf(t, innovation: float, imitation: float):
    """F(t): share of the market adopted by t (starting from nobody at t = 0).

    >>> round(float(bass_cdf(10, 0.03, 0.38)), 4)
    0.8128
    """
    p, q = innovation, imitation
    e = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return (1.0 - e) / (1.0 + (q / p) * e)


def bass_adoption_rate(t, innovation: float, imitation: float):
    """f(t) = dF/dt = (p + q F)(1 − F): adoptions per time unit as a share of the market."""
    f = bass_cdf(t, innovation, imitation)
    return (innovation + imitation * f) * (1.0 - f)


def bass_peak_time(innovation: float, imitation: float) -> float:
    """t* = ln(q/p) / (p + q), when adoptions per time unit are highest (0 if q ≤ p)."""
    if imitation <= innovation:
        return 0.0
    return math.log(imitation / innovation) / (innovation + imitation)
