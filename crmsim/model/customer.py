"""A customer: latent traits, state, and its life as a SimPy process.

Each customer is one SimPy process that sleeps until its own next event, so a million quiet
customers cost nothing between their purchases:

* **non-contractual** (retail, e-commerce): the first purchase at acquisition; then purchases
  come as a Poisson process at the customer's rate λ_i, and right after each *repeat* purchase
  the customer decides whether to drop out (the BG/NBD story). If the next purchase is far away,
  the customer wakes once, when its silence passes ``decline_recency`` of its own mean gap, to
  enter the decline stage — the recency signal a CRM system would see. A customer who enters
  with a history (a population file, :mod:`crmsim.model.population`) skips the first purchase
  and resumes with the gap to its next one (:func:`resumed_noncontractual_life`);
* **contractual** (telecom, bank, subscription): a payment at acquisition; at each renewal
  (every ``contract.period``) the customer experiences the period's service, decides whether to
  leave (the sBG story) and, if it stays, pays again.

When an experience is a service failure, the customer first complains (or not) and waits for
the outcome (the policy that handles complaints, :meth:`Market.recover`); only then does it
decide.

The market (:mod:`crmsim.model.market`) does the bookkeeping; this module holds the behaviour.
"""

from __future__ import annotations

import math

from crmsim.model import lifecycle

#: value tiers (客户分级: 关键 / 普通 / 小客户); "none" before a tiering policy classifies
TIERS = ("key", "ordinary", "small")


class Treatment:
    """The firm's record of what its CRM policies did to one customer, shared between them:
    its value tier with what the tier earns (desk priority, offers, win-back effort), a running
    retention offer, a win-back discount, when it was won back. Only customers a policy touched
    carry one (a million untouched customers pay one empty slot each). A policy that needs
    state of its own keeps it itself."""

    __slots__ = ("tier", "tier_level", "tier_priority", "offer", "discount", "won_back_at")

    def __init__(self):
        self.tier = "none"
        self.tier_level = None  # what the tier earns (a tiering.TierLevel)
        self.tier_priority = 0
        self.offer = None  # (until, push on the churn index) of a retention offer
        self.discount = None  # (until, price factor) of a win-back discount
        self.won_back_at = math.nan


class Customer:
    """State of one customer. Latent traits are drawn once and never change."""

    __slots__ = (
        "id", "segment", "acquired_at", "churned_at", "active", "churn_reason", "stage",
        # latent traits
        "purchase_rate", "churn_propensity", "spend_rate", "spend_level", "price_sensitivity",
        "complaint_propensity", "initial_expectation", "fit",
        # state
        "expectation", "satisfaction", "purchases", "event_number", "failures",
        "recovery_bonus",
        "pending_outcome", "loyalty_at_reference",
        # what the firm's CRM policies did to the customer (None if they never touched it)
        "treatment",
        # rewards programme state (None for non-members)
        "membership",
        # the block of per-event draws that holds the next row (a crmsim.streams.DrawBlock,
        # shared with the customers created with it until the customer outgrows it; released
        # when the customer churns) and the desk's handling state
        "draws", "handling",
    )

    def __init__(self, customer_id: int, segment, acquired_at: float):
        self.id = customer_id
        self.segment = segment
        self.acquired_at = acquired_at
        self.churned_at = math.nan
        self.active = True  # churned_at is NaN (kept by the market, read at every event)
        self.churn_reason = None
        self.stage = lifecycle.PROSPECT
        self.satisfaction = 0.0
        self.purchases = 0
        # the row of per-event draws the next regular purchase or renewal takes: equal to
        # ``purchases`` unless a policy made extra purchases with its own draws
        self.event_number = 0
        self.failures = 0
        self.recovery_bonus = 0.0  # satisfaction above the pre-failure level (recovery paradox)
        self.pending_outcome = None  # complaint outcome awaiting the next churn decision
        self.loyalty_at_reference = None  # Dick & Basu type at the loyalty reference time
        self.handling = None
        self.membership = None
        self.treatment = None

    @property
    def member(self) -> bool:
        """Whether the customer joined the rewards programme."""
        return self.membership is not None

    @property
    def priority_boost(self) -> int:
        """Desk priority gained from a membership tier and from the value tier."""
        boost = self.membership.priority_boost if self.membership is not None else 0
        return boost - self.treatment.tier_priority if self.treatment is not None else boost

    def treated(self) -> Treatment:
        """The customer's :class:`Treatment`, created when a policy first touches it."""
        if self.treatment is None:
            self.treatment = Treatment()
        return self.treatment

    @property
    def tier(self) -> str:
        """Value tier (key / ordinary / small), "none" until the tiering policy classifies it."""
        return self.treatment.tier if self.treatment is not None else "none"

    @property
    def won_back_at(self) -> float:
        """When the customer was last won back (NaN if never)."""
        return self.treatment.won_back_at if self.treatment is not None else math.nan


def noncontractual_life(market, customer: Customer, timing: float | None = None):
    """Purchases at rate λ_i; a drop-out decision after each repeat purchase.

    The first purchase (acquisition) has no drop-out decision. With ``timing`` (the uniform of
    the gap to the next purchase) the life goes on from a purchase already made instead.

    This loop runs for every purchase of every customer: it keeps what it reads as locals.
    """
    if timing is None:
        _, timing, failure = market.purchase(customer)  # the first purchase: no decision
        if failure is not None:
            yield from market.recover(customer, *failure)
            customer.pending_outcome = None  # no decision follows the first purchase
    rate = customer.purchase_rate
    if rate <= 0:
        return
    timeout = market.env.timeout
    rate_factors = market.hooks["rate_factor"]
    decline_after = market.decline_recency / rate
    purchase, decides_to_churn = market.purchase, market.decides_to_churn
    while True:
        gap = -math.log1p(-timing) / rate  # exponential with rate λ_i
        for factor in rate_factors:  # e.g. a points programme's goal gradient
            gap /= factor(customer)
        if gap > decline_after and customer.stage != lifecycle.DECLINE:
            yield timeout(decline_after)
            if not customer.active:
                return
            market.set_stage(customer, lifecycle.DECLINE)
            yield timeout(gap - decline_after)
        else:
            yield timeout(gap)
        if not customer.active:  # the firm stopped serving the customer meanwhile
            return
        churn, timing, failure = purchase(customer)
        if failure is not None:  # complain (or not) and wait for the outcome first
            yield from market.recover(customer, *failure)
        if decides_to_churn(customer, churn):
            market.churn(customer)
            return


def resumed_noncontractual_life(market, customer: Customer, timing: float,
                                last_purchase: float):
    """An active customer who enters with a history (a population file) resumes buying.

    Its next purchase comes after an exponential gap with its rate counted from now (the
    Poisson process is memoryless: the silence since ``last_purchase`` does not shorten it);
    ``timing`` is the customer's uniform for that gap. Its silence counts from its last
    purchase, so it enters decline once ``decline_recency`` of its mean gap has passed since
    then — at once if that is already so. Then its life goes on as any customer's.
    """
    env = market.env
    rate = customer.purchase_rate
    if rate <= 0:
        return
    gap = -math.log1p(-timing) / rate
    for factor in market.hooks["rate_factor"]:
        gap /= factor(customer)
    start = env.now
    decline_at = last_purchase + market.decline_recency / rate
    if gap > decline_at - start and customer.stage != lifecycle.DECLINE:
        if decline_at > start:
            yield env.timeout(decline_at - start)
            if not customer.active:
                return
        market.set_stage(customer, lifecycle.DECLINE)
        yield env.timeout(max(0.0, gap - (env.now - start)))
    else:
        yield env.timeout(gap)
    if not customer.active:
        return
    churn, timing, failure = market.purchase(customer)
    if failure is not None:
        yield from market.recover(customer, *failure)
    if market.decides_to_churn(customer, churn):
        market.churn(customer)
        return
    yield from noncontractual_life(market, customer, timing)


def contractual_life(market, customer: Customer):
    """A payment at acquisition; at each renewal: experience, churn decision, payment."""
    env = market.env
    period = market.contract_period
    market.payment(customer)
    while True:
        yield env.timeout(period)
        if not customer.active:  # the firm stopped serving the customer meanwhile
            return
        churn, failure = market.period_experience(customer)
        if failure is not None:  # complain (or not) and wait for the outcome first
            yield from market.recover(customer, *failure)
        if market.decides_to_churn(customer, churn):
            market.churn(customer)
            return
        market.payment(customer)
