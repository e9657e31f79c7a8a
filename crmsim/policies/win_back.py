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

from crmsim.policies.tiering import DROPPED
from crmsim.results import WIN_BACK_ATTEMPT
from crmsim.streams import Purpose


class WinBackPolicy:
    """Win-back approaches of one run."""

    def __init__(self, market):
        self.market = market
        self.cfg = market.scenario.win_back
        self.attempts = 0
        self.successes = 0
        self._draws = {}  # customer id → its win-back stream (continues across lifetimes)

    def effort(self, customer) -> float:
        tiering = self.market.tiering
        level = tiering.level(customer) if tiering is not None else None
        return level.win_back_effort if level is not None else 1.0

    def success_probability(self, customer) -> float:
        cfg = self.cfg
        base = getattr(cfg.success, customer.churn_reason or "natural", cfg.success.natural)
        return min(1.0, base * self.effort(customer) * (1 + cfg.discount_response * cfg.discount))

    def on_churn(self, customer) -> None:
        if customer.churn_reason != DROPPED and self.effort(customer) > 0:
            self.market.env.process(self._approach(customer))

    def _approach(self, customer):
        market, cfg = self.market, self.cfg
        env = market.env
        draws = self._draws.get(customer.id)
        if draws is None:
            draws = self._draws[customer.id] = market.streams.stream(
                Purpose.WIN_BACK, customer.id, "uniform")
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
                market.win_back(customer, discount=cfg.discount, until=env.now
                                + cfg.discount_duration, expectation_lift=cfg.expectation_lift)
                return



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
