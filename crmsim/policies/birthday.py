"""A birthday coupon (生日关怀): a yearly offer that makes customers buy more for a while.

The worked example of ``docs/adding_a_policy.md``: one module and one registry line.

Every customer has a birthday, drawn once from the customer's own random stream (a uniform
point of the ``year``). On it, an active customer gets a coupon — sending it costs
``cost_per_coupon`` — and for ``duration`` after that buys at ``1 + rate_boost`` times its usual
rate, each purchase with ``discount`` off.

Simulated exactly: a Poisson process of rate λ(1 + b) over the coupon's days is the
superposition of the customer's own purchases (rate λ, unchanged) and extra *coupon purchases*
at rate λ·b, which this policy's process draws. A coupon purchase is an ordinary purchase —
paid, experienced, possibly a service failure — except that no drop-out decision follows it:
the customer's decisions stay with its regular purchases, so a coupon can raise sales but
never hasten a departure by itself. Coupon purchases take the customer's next event draws, so
the purchases after them see the draws that later purchases would have seen (common random
numbers hold for every customer the coupon never reaches).

Non-contractual settings only (a subscription has no purchase rate to raise).
"""

from __future__ import annotations

import math

from pydantic import Field

from crmsim.distributions import Probability
from crmsim.model.policy import Policy
from crmsim.results import event_kind
from crmsim.schema import Section

COUPON = event_kind("birthday_coupon")
#: each customer's stream: its birthday, then the gaps between coupon purchases
BIRTHDAY_PURPOSE = 20


class Birthday(Section):
    """A yearly birthday coupon (生日关怀) that raises the purchase rate for a while."""

    enabled: bool = Field(False, description="switch birthday coupons on")
    year: float = Field(365.0, gt=0, description="length of a year in time units")
    cost_per_coupon: float = Field(1.0, ge=0, description="cost of sending one coupon")
    duration: float = Field(7.0, gt=0, description="how long a coupon lasts")
    rate_boost: float = Field(1.0, ge=0, description="purchase rate × (1 + this) while it lasts")
    discount: Probability = Field(0.1, description="price discount on purchases while it lasts")


class BirthdayCoupon(Policy):
    """Birthday coupons of one run (see the module docstring)."""

    SECTIONS = {"birthday": Birthday}
    KPIS = {
        "birthday_coupons": "birthday coupons sent",
        "birthday_purchases": "extra purchases made with a birthday coupon",
        "birthday_discount": "revenue given away as birthday discounts",
    }
    COSTS = {"birthday_cost": "birthday coupons × cost per coupon"}
    EVENTS = ("birthday_coupon",)
    PURPOSES = (BIRTHDAY_PURPOSE,)

    def __init__(self, market):
        super().__init__(market)
        self.coupons = self.purchases = 0
        self.discount_given = 0.0
        self.until: dict[int, float] = {}  # customer id → end of its running coupon
        self._running: set[int] = set()  # customers whose birthday process runs

    @classmethod
    def check(cls, scenario) -> None:
        if scenario.birthday.enabled and scenario.market.setting != "noncontractual":
            raise ValueError("birthday.enabled needs market.setting: noncontractual (coupons "
                             "raise a purchase rate)")

    # ------------------------------------------------------------------ hooks

    def customer_started(self, customer) -> None:
        if customer.id not in self._running:  # a won-back customer may still have one
            self._running.add(customer.id)
            self.market.env.process(self._birthdays(customer))

    def price(self, customer, amount: float) -> float:
        until = self.until.get(customer.id)
        if until is None or self.market.env.now > until:
            return amount
        self.discount_given += amount * self.cfg.discount
        return amount * (1.0 - self.cfg.discount)

    # ------------------------------------------------------------------ the process

    def _birthdays(self, customer):
        market, cfg = self.market, self.cfg
        env = market.env
        draws = market.streams.stream(BIRTHDAY_PURPOSE, customer.id, "uniform")
        day = draws.next() * cfg.year
        birthday = day + cfg.year * math.floor((env.now - day) / cfg.year + 1)
        while True:
            yield env.timeout(birthday - env.now)
            if not customer.active:
                break
            self._send(customer)
            end = env.now + cfg.duration
            rate = customer.purchase_rate * cfg.rate_boost
            while rate > 0:
                gap = -math.log1p(-draws.next()) / rate
                if env.now + gap > end:
                    break
                yield env.timeout(gap)
                if not customer.active:
                    break
                yield from self._coupon_purchase(customer)
            if not customer.active:
                break
            birthday += cfg.year
        self._running.discard(customer.id)

    def _send(self, customer) -> None:
        market, cfg = self.market, self.cfg
        now = market.env.now
        self.coupons += 1
        self.until[customer.id] = now + cfg.duration
        market.recorder.book(now, "birthday_cost", cfg.cost_per_coupon)
        market.recorder.event(now, customer.id, COUPON, cfg.cost_per_coupon)

    def _coupon_purchase(self, customer):
        """An extra purchase: paid and experienced; no drop-out decision follows it."""
        self.purchases += 1
        market = self.market
        _, _, failure = market.purchase(customer)
        if failure is not None and market.recover is not None:
            yield from market.recover(customer, *failure)
        customer.pending_outcome = None  # settled: no decision follows a coupon purchase

    # ------------------------------------------------------------------ results

    def kpis(self) -> dict[str, float]:
        return {"birthday_coupons": self.coupons, "birthday_purchases": self.purchases,
                "birthday_discount": self.discount_given}
