"""A rival's pull (竞争对手): a competitor whose attractiveness acts on the churn decision.

The competitor is not the firm's policy but the market's; it has the same shape. Its
attractiveness follows a schedule (``competitor.schedule``: from ``at`` on, ``value``) and pulls
hardest on price-sensitive customers: the churn index gains
``churn.coefficients.competitor × price sensitivity × attractiveness``. A change of
attractiveness is a moment at which loyalty types are worth reading (the market's loyalty
reference time is the first scheduled change).
"""

from __future__ import annotations

from pydantic import Field

from crmsim.model.policy import Policy
from crmsim.schema import Section


class CompetitorStep(Section):
    """From ``at`` on, the competitor's attractiveness is ``value``."""

    at: float = Field(ge=0, description="time")
    value: float = Field(description="attractiveness (0: none; 1: a strong rival offer)")


class Competitor(Section):
    """A rival's pull (竞争对手), acting most on price-sensitive customers."""

    attractiveness: float = Field(0.0, description="attractiveness before the schedule")
    schedule: list[CompetitorStep] = Field(default_factory=list, description="changes over time")


class CompetitorPull(Policy):
    """The competitor's term of the churn decision (on when its coefficient is not 0)."""

    SECTIONS = {"competitor": Competitor}

    def __init__(self, market):
        super().__init__(market)
        self.beta = market.scenario.churn.coefficients.competitor

    @property
    def enabled(self) -> bool:
        return bool(self.beta)

    def attractiveness(self, now: float) -> float:
        value = self.cfg.attractiveness
        for step in self.cfg.schedule:
            if step.at <= now:
                value = step.value
        return value

    def shock_times(self) -> list[float]:
        return [step.at for step in self.cfg.schedule]

    def churn_terms(self, customer, terms: dict) -> None:
        terms["competitor"] = self.beta * customer.price_sensitivity * (
            self.attractiveness(self.market.env.now))
