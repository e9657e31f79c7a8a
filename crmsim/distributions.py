"""Heterogeneity distributions for latent customer traits.

A scenario gives each trait either as a plain number (every customer the same) or as a
distribution (customers differ), the way the textbook models are written:

* purchase rate λ ~ Gamma(shape r, rate α) — the NBD / Pareto-NBD / BG-NBD assumption;
* churn propensity θ ~ Beta(a, b) — the shifted-beta-geometric (sBG) and BG/NBD assumption;
* spend per purchase ~ Gamma–Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): each purchase
  z ~ Gamma(p, rate ν), with the customer's ν ~ Gamma(q, rate γ), so the mean spend is p/ν.

``trait_quantile`` turns each customer's own uniform draws into trait values.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Discriminator, Field, Tag
from scipy import special

from crmsim.schema import Section


class BetaDist(Section):
    """Beta(a, b) heterogeneity, mean a / (a + b)."""

    dist: Literal["beta"] = "beta"
    a: float = Field(gt=0, description="first shape parameter (> 0)")
    b: float = Field(gt=0, description="second shape parameter (> 0)")

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


class GammaDist(Section):
    """Gamma(shape, rate) heterogeneity, mean shape / rate."""

    dist: Literal["gamma"] = "gamma"
    shape: float = Field(gt=0, description="shape r (> 0)")
    rate: float = Field(gt=0, description="rate α (> 0), in 1 / time unit for purchase rates")

    @property
    def mean(self) -> float:
        return self.shape / self.rate


class GammaGammaSpend(Section):
    """Gamma–Gamma spend: each purchase ~ Gamma(p, rate ν), customer ν ~ Gamma(q, rate γ)."""

    dist: Literal["gamma_gamma"] = "gamma_gamma"
    p: float = Field(gt=0, description="shape of spend per purchase (> 0)")
    q: float = Field(gt=1, description="shape of the customer's ν (> 1, so mean spend is finite)")
    gamma: float = Field(gt=0, description="rate of the customer's ν (> 0)")

    @property
    def mean(self) -> float:
        """Population mean spend per purchase, p γ / (q − 1)."""
        return self.p * self.gamma / (self.q - 1)


def _number_or_dist(value) -> str:
    return "distribution" if isinstance(value, dict) or isinstance(value, BaseModel) else "number"


Probability = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]

#: a probability for every customer, or Beta heterogeneity
ProbabilityTrait = Annotated[
    Annotated[Probability, Tag("number")] | Annotated[BetaDist, Tag("distribution")],
    Discriminator(_number_or_dist),
]
#: a non-negative rate for every customer, or Gamma heterogeneity
RateTrait = Annotated[
    Annotated[NonNegative, Tag("number")] | Annotated[GammaDist, Tag("distribution")],
    Discriminator(_number_or_dist),
]
#: a spend per purchase for every customer, or Gamma–Gamma heterogeneity
SpendTrait = Annotated[
    Annotated[NonNegative, Tag("number")] | Annotated[GammaGammaSpend, Tag("distribution")],
    Discriminator(_number_or_dist),
]

#: tags that pydantic puts into error locations; they are not scenario keys
UNION_TAGS = ("number", "distribution")


def trait_quantile(trait, u: np.ndarray) -> np.ndarray:
    """Customers' values of a trait from their uniforms ``u`` (inverse CDF, vectorized).

    Drawing every trait by its quantile function makes a customer's trait a monotone function of
    the customer's own uniform: under common random numbers a customer who is a heavy buyer in
    one scenario stays a heavy buyer when the rate parameters change, and a plain number consumes
    the same uniform as a distribution would, so other traits never shift.

    For Gamma–Gamma spend the value is the customer's ν (the rate of spend per purchase); the
    customer's mean spend is p / ν.
    """
    u = np.asarray(u, dtype=float)
    if isinstance(trait, (int, float)):
        return np.full_like(u, float(trait))
    if isinstance(trait, BetaDist):
        return special.betaincinv(trait.a, trait.b, u)
    if isinstance(trait, GammaDist):
        return special.gammaincinv(trait.shape, u) / trait.rate
    if isinstance(trait, GammaGammaSpend):
        return special.gammaincinv(trait.q, u) / trait.gamma
    raise TypeError(f"not a trait: {trait!r}")
