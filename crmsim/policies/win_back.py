"""Win-back (客户赢回): approaching customers who left.

``win_back.delay`` after a customer churns the firm approaches it, up to ``attempts`` times,
``delay`` apart (:class:`crmsim.scenario.WinBack`). The chance that an approach succeeds depends
on *why* the customer left — a customer lured away by a competitor's price is easier to win back
than one who left after a service failure — and on the effort the customer's value tier earns
(:mod:`crmsim.policies.tiering`): probability = success[reason] × effort × (1 +
discount_response × discount), at most 1, and an approach costs ``cost`` × effort. A customer the
firm stopped serving is not approached; a tier with effort 0 is not approached either.

A won-back customer (stage ``won_back``, 赢回) starts a second lifetime with neutral satisfaction,
pays ``1 − discount`` of the price for ``discount_duration``, and expects more than before
(``expectation_lift``): coming back after a bad experience makes customers watchful. Its
per-event random draws continue where its first lifetime stopped (common random numbers hold).
"""

from __future__ import annotations

import math

from pydantic import Field

from crmsim.distributions import Probability
from crmsim.model.churn import DROPPED
from crmsim.model.policy import Policy
from crmsim.results import event_kind
from crmsim.schema import Section

WIN_BACK_ATTEMPT, WON_BACK = event_kind("win_back_attempt"), event_kind("won_back")
#: the random streams of approaches (owner: the customer)
WIN_BACK_PURPOSE = 4


class WinBackSuccess(Section):
    """Chance that one win-back approach succeeds, by the reason the customer left."""

    natural: Probability = Field(0.15, description="left for its own reasons")
    dissatisfaction: Probability = Field(0.10, description="left dissatisfied")
    service_failure: Probability = Field(0.05, description="left after a service failure")
    low_switching_cost: Probability = Field(0.15, description="left because leaving was easy")
    reward_lock_in: Probability = Field(0.15, description="left despite reward lock-in")
    competitor: Probability = Field(0.25, description="lured by a competitor (price)")


class WinBack(Section):
    """Win-back (客户赢回): approaching churned customers.

    ``delay`` after a customer churns the firm approaches it, up to ``attempts`` times ``delay``
    apart. Success probability is ``success`` for the churn reason × the tier's
    ``win_back_effort`` × (1 + ``discount_response`` × ``discount``), at most 1; an attempt
    costs ``cost`` × effort. A won-back customer pays ``1 − discount`` of the price for
    ``discount_duration`` and returns with expectations raised by ``expectation_lift``.
    """

    enabled: bool = Field(False, description="switch win-back on")
    delay: float = Field(30.0, gt=0, description="time from churn to the first approach")
    attempts: int = Field(1, ge=1, description="approaches at most")
    success: WinBackSuccess = Field(default_factory=WinBackSuccess)
    cost: float = Field(20.0, ge=0, description="cost of one approach (effort 1)")
    discount: Probability = Field(0.0, description="price discount offered to come back")
    discount_response: float = Field(2.0, ge=0, description="success × (1 + this × discount)")
    discount_duration: float = Field(90.0, gt=0, description="how long the discount lasts")
    expectation_lift: float = Field(0.1, ge=0, description="how much more a returning customer "
                                    "expects")


class WinBackPolicy(Policy):
    """Win-back approaches of one run."""

    SECTIONS = {"win_back": WinBack}
    KPIS = {
        "win_back_attempts": "approaches to churned customers",
        "win_backs": "churned customers won back",
        "win_back_rate": "win_backs / win_back_attempts",
        "second_lifetime": "mean time from win-back to churning again or the horizon (censored)",
        "win_back_retention": "share of won-back customers active at the horizon",
    }
    COSTS = {"win_back_cost": "win-back approaches × their cost"}
    EVENTS = ("win_back_attempt", "won_back")
    PURPOSES = (WIN_BACK_PURPOSE,)
    REVIVES = True

    def __init__(self, market):
        super().__init__(market)
        self.attempts = 0
        self.successes = 0
        self._draws = {}  # customer id → its win-back stream (continues across lifetimes)

    @staticmethod
    def effort(customer) -> float:
        """The effort the customer's value tier earns (1 without tiering)."""
        care = customer.treatment
        level = care.tier_level if care is not None else None
        return level.win_back_effort if level is not None else 1.0

    def success_probability(self, customer) -> float:
        cfg = self.cfg
        base = getattr(cfg.success, customer.churn_reason or "natural", cfg.success.natural)
        return min(1.0, base * self.effort(customer) * (1 + cfg.discount_response * cfg.discount))

    def churned(self, customer) -> None:
        if customer.churn_reason != DROPPED and self.effort(customer) > 0:
            self.market.env.process(self._approach(customer))

    def _approach(self, customer):
        market, cfg = self.market, self.cfg
        env = market.env
        draws = self._draws.get(customer.id)
        if draws is None:
            draws = self._draws[customer.id] = market.streams.stream(
                WIN_BACK_PURPOSE, customer.id, "uniform")
        for _ in range(cfg.attempts):
            yield env.timeout(cfg.delay)
            if customer.active:  # back by other means meanwhile
                return
            cost = cfg.cost * self.effort(customer)
            won = draws.next() < self.success_probability(customer)
            self.attempts += 1
            market.recorder.book(env.now, "win_back_cost", cost)
            market.recorder.event(env.now, customer.id, WIN_BACK_ATTEMPT, cost,
                                  details="won" if won else "lost")
            if won:
                self.successes += 1
                self.welcome_back(customer)
                return

    def welcome_back(self, customer) -> None:
        """The customer returns: a second lifetime starts now (stage won_back), at a discount
        until ``discount_duration`` from now and with raised expectations."""
        market, cfg = self.market, self.cfg
        now = market.env.now
        care = customer.treated()
        care.won_back_at = now
        if cfg.discount:
            care.discount = (now + cfg.discount_duration, 1.0 - cfg.discount)
        market.revive(customer, cfg.expectation_lift, WON_BACK)

    def price(self, customer, amount: float) -> float:
        """A won-back customer's discount, while it lasts."""
        care = customer.treatment
        if care is not None and care.discount is not None:
            if self.market.env.now <= care.discount[0]:
                return amount * care.discount[1]
            care.discount = None
        return amount

    def kpis(self) -> dict[str, float]:
        customers = self.market.customers if self.enabled else []
        return win_back_kpis(self.attempts, self.successes, customers,
                             self.market.scenario.horizon)


def win_back_kpis(attempts: int, successes: int, customers, horizon: float) -> dict[str, float]:
    """Attempts, successes, and the won-back customers' second lifetimes so far (censored at
    the horizon)."""
    back = [c for c in customers if not math.isnan(c.won_back_at)]
    second = [(c.churned_at if not c.active else horizon) - c.won_back_at for c in back]
    return {
        "win_back_attempts": attempts,
        "win_backs": successes,
        "win_back_rate": successes / attempts if attempts else math.nan,
        "second_lifetime": sum(second) / len(second) if second else math.nan,
        "win_back_retention": sum(c.active for c in back) / len(back) if back else math.nan,
    }
