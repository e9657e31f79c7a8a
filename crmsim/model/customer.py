"""A customer: latent traits, state, and its life as a chain of wake-ups on SimPy's clock.

Each customer sleeps until its own next event, so a million quiet customers cost nothing
between their purchases. A customer's next moment is one wake-up on the market's clock
(:meth:`crmsim.model.clock.Clock.call`): an entry in SimPy's queue, numbered and ordered as any
event, which the clock's step turns into a call of the step of the customer's life it stands
for. Between two wake-ups a customer holds nothing but its state and that one entry — no
process, no suspended generator, no event object — which is what makes a customer's event
cheap (see benchmarks/RESULTS.md). The steps:

* **non-contractual** (retail, e-commerce): the first purchase at acquisition; then purchases
  come as a Poisson process at the customer's rate λ_i, and right after each *repeat* purchase
  the customer decides whether to drop out (the BG/NBD story). If the next purchase is far away,
  the customer wakes once, when its silence passes ``decline_recency`` of its own mean gap, to
  enter the decline stage — the recency signal a CRM system would see. A customer who enters
  with a history (a population file, :mod:`crmsim.model.population`) skips the first purchase
  and resumes with the gap to its next one (:meth:`NoncontractualLife.resume`);
* **contractual** (telecom, bank, subscription): a payment at acquisition; at each renewal
  (every ``contract.period``) the customer experiences the period's service, decides whether to
  leave (the sBG story) and, if it stays, pays again.

When an experience is a service failure, the customer first complains (or not) and waits for
the outcome: the policy that handles complaints (:meth:`Market.recover`) is a SimPy generator —
the desk's queue is a :class:`simpy.PriorityResource` — and the customer follows it step by
step (:meth:`Life.after_failure`), as ``yield from`` would inside a process; only then does it
decide — if it is still a customer (the firm may have dropped it meanwhile).

Every wake-up is scheduled at the moment, with the priority and in the order a SimPy process
would schedule its timeout (a new life starts at once, before any later event, as a process's
initialisation does), so the same seed gives the same tables as the process-per-customer model
this replaced (the digest test, tests/test_digests.py).

The market (:mod:`crmsim.model.market`) does the bookkeeping; this module holds the behaviour.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
from simpy.core import NORMAL, URGENT

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


class Traits:
    """The latent traits of a market's customers, one column per trait (``array('d')``: 8
    bytes a value, no Python float per customer), row ``id`` for customer ``id``. Drawn once
    when the customers are created (:meth:`crmsim.model.market.Market.add_customers`), never
    changed. A customer reads its own as attributes (``customer.purchase_rate``); the model's
    hot path reads the columns directly."""

    #: the traits, in column order
    NAMES = ("purchase_rate", "churn_propensity", "spend_rate", "spend_level",
             "price_sensitivity", "complaint_propensity", "initial_expectation", "fit")
    __slots__ = NAMES

    def __init__(self):
        for name in self.NAMES:
            setattr(self, name, array("d"))

    def __len__(self) -> int:
        return len(self.purchase_rate)

    def extend(self, values: dict[str, np.ndarray]) -> None:
        """Rows for the next customers: one array of values per trait (all the same length)."""
        for name in self.NAMES:
            getattr(self, name).frombytes(np.ascontiguousarray(values[name], dtype=float)
                                          .tobytes())


def _trait(name: str, doc: str) -> property:
    def value(customer) -> float:
        return getattr(customer.traits, name)[customer.id]

    return property(value, doc=doc)


class Customer:
    """State of one customer. Latent traits are drawn once and never change (they live in the
    market's :class:`Traits` columns; each is read here as an attribute)."""

    __slots__ = (
        # read at every event, kept together at the front of the object (about two cache
        # lines: with a million customers, each event of a customer is a fetch from memory)
        "id", "active", "stage", "draws", "event_number", "purchases", "satisfaction",
        "expectation", "segment", "acquired_at", "recovery_bonus",
        "churned_at", "churn_reason",
        # the market's columns of latent traits (row ``id``: see the properties below)
        "traits",
        # state
        "failures", "pending_outcome", "loyalty_at_reference",
        # what the firm's CRM policies did to the customer (None if they never touched it)
        "treatment",
        # rewards programme state (None for non-members)
        "membership",
        # the desk's handling state
        "handling",
    )
    # ``draws``: the block of per-event draws that holds the next row (a
    # crmsim.streams.DrawBlock, shared with the customers created with it until the customer
    # outgrows it; released when the customer churns)

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

    purchase_rate = _trait("purchase_rate", "λ: purchases per time unit (Poisson; retail)")
    churn_propensity = _trait("churn_propensity", "θ: baseline probability of leaving at a "
                              "decision")
    spend_rate = _trait("spend_rate", "Gamma–Gamma ν (spend = Gamma(p) draw / ν); 0: a "
                        "constant spend")
    spend_level = _trait("spend_level", "mean spend of a purchase (p / ν, or the constant)")
    price_sensitivity = _trait("price_sensitivity", "how much a price or a rival's pull moves "
                               "the churn intention")
    complaint_propensity = _trait("complaint_propensity", "probability of complaining about a "
                                  "service failure")
    initial_expectation = _trait("initial_expectation", "expected quality at acquisition")
    fit = _trait("fit", "how much better or worse than average the service fits the customer "
                 "(quality shift)")

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


class _Following:
    """A customer following a generator of SimPy events (the recovery after a failure) step by
    step, as a SimPy process runs its generator (:meth:`simpy.events.Process._resume`): each
    event it yields that has not happened yet gets :meth:`resume` as a callback; one that has
    already happened is answered at once; a failed one is thrown into the generator. When the
    generator returns, ``then(customer, *args)`` — if the customer is still a customer (the
    firm may have stopped serving it meanwhile: a dropped customer decides nothing more).

    Unlike a process, no process is active while the generator runs
    (``env.active_process`` is None): a policy's recovery cannot use preemptive resources or
    interrupts (see :mod:`crmsim.model.policy`).
    """

    __slots__ = ("steps", "customer", "then", "args")
    _ok, _value = True, None  # what the generator is first sent: None, as SimPy starts one

    def __init__(self, steps, customer: Customer, then, args: tuple):
        self.steps, self.customer, self.then, self.args = steps, customer, then, args

    def resume(self, event) -> None:
        steps = self.steps
        while True:
            try:
                if event._ok:  # noqa: SLF001 — the fields SimPy's own Process reads
                    event = steps.send(event._value)  # noqa: SLF001
                else:  # a failed event: the generator handles it or fails the run
                    event._defused = True  # noqa: SLF001
                    error = event._value  # noqa: SLF001
                    copy = type(error)(*error.args)
                    copy.__cause__ = error
                    event = steps.throw(copy)
            except StopIteration:
                if self.customer.active:
                    self.then(self.customer, *self.args)
                return
            if event.callbacks is not None:  # not processed yet: wait for it
                event.callbacks.append(self.resume)
                return


class Life:
    """The lives of a market's customers: one object per run, not per customer.

    A step of a life is a method ``step(c, value)``; :meth:`crmsim.model.clock.Clock.call`
    calls it at its moment, with the ``value`` it was scheduled with (what the step needs from
    that moment: a gap, or None). Each step is bound once, here, and shared by every wake-up."""

    def __init__(self, market):
        self.market = market
        self.env = market.env
        self._call = market.env.call
        self._at_begin = self._begin  # bound once: see NoncontractualLife

    def start(self, c: Customer) -> None:
        """Start the customer's life: its first step runs at once, after the current event and
        before any later one (as a new SimPy process's initialisation does)."""
        self._call(self._at_begin, c, None, URGENT, 0)

    def _begin(self, c: Customer, _value) -> None:
        raise NotImplementedError

    def after_failure(self, c: Customer, failure: tuple, then, *args) -> None:
        """The customer complains (or not) about a service failure and waits for the outcome
        (the generator of :meth:`Market.recover`, ``failure`` its uniforms); then, if it is
        still a customer, ``then(c, *args)``.

        The generator runs now, within the current event, up to the first event it has to wait
        for, and goes on from each such event's callback — what ``yield from`` inside a SimPy
        process does (:meth:`simpy.events.Process._resume`), without a process
        (:class:`_Following`).
        """
        following = _Following(self.market.recover(c, *failure), c, then, args)
        following.resume(following)  # starts the generator (sends None)


class NoncontractualLife(Life):
    """Purchases at rate λ_i; a drop-out decision after each repeat purchase.

    The first purchase (acquisition) has no drop-out decision.
    """

    def __init__(self, market):
        super().__init__(market)
        self._rate_factors = market.hooks["rate_factor"]  # e.g. a points programme's goal gradient
        self._rates = market.traits.purchase_rate  # λ_i, by customer id
        self._decline_recency = market.decline_recency
        # the steps, bound once (a bound method made at every wake-up would cost one more
        # object per pending wake-up)
        self._at_decline, self._at_purchase = self._decline, self._purchase
        self._at_resume, self._at_resumed_decline = self._resume, self._resumed_decline

    def resume(self, c: Customer, timing: float, last_purchase: float) -> None:
        """An active customer who enters with a history (a population file) resumes buying.

        Its next purchase comes after an exponential gap with its rate counted from now (the
        Poisson process is memoryless: the silence since ``last_purchase`` does not shorten
        it); ``timing`` is the customer's uniform for that gap. Its silence counts from its
        last purchase, so it enters decline once ``decline_recency`` of its mean gap has passed
        since then — at once if that is already so. Then its life goes on as any customer's.
        """
        self._call(self._at_resume, c, (timing, last_purchase), URGENT, 0)

    def _begin(self, c: Customer, _value) -> None:
        _, timing, failure = self.market.purchase(c)  # the first purchase: no decision
        if failure is None:
            self._sleep(c, timing)
        else:
            self.after_failure(c, failure, self._after_first_failure, timing)

    def _after_first_failure(self, c: Customer, timing: float) -> None:
        c.pending_outcome = None  # no decision follows the first purchase
        self._sleep(c, timing)

    def _gap(self, c: Customer, timing: float) -> float:
        """The gap to the next purchase: exponential with rate λ_i (``timing`` its uniform),
        stretched by the policies that change the rate."""
        gap = -math.log1p(-timing) / self._rates[c.id]
        for factor in self._rate_factors:
            gap /= factor(c)
        return gap

    def _sleep(self, c: Customer, timing: float) -> None:
        """Until the next purchase; on the way, a wake-up when the silence means decline."""
        rate = self._rates[c.id]
        if rate <= 0:
            return  # never buys again
        gap = self._gap(c, timing)
        decline_after = self._decline_recency / rate
        if gap > decline_after and c.stage != lifecycle.DECLINE:
            self._call(self._at_decline, c, gap, NORMAL, decline_after)
        else:
            self._call(self._at_purchase, c, None, NORMAL, gap)

    def _decline(self, c: Customer, gap: float) -> None:
        if not c.active:  # the firm stopped serving the customer meanwhile
            return
        self.market.set_stage(c, lifecycle.DECLINE)
        self._call(self._at_purchase, c, None, NORMAL,
                   gap - self._decline_recency / self._rates[c.id])

    def _purchase(self, c: Customer, _value) -> None:
        if not c.active:  # the firm stopped serving the customer meanwhile
            return
        churn, timing, failure = self.market.purchase(c)
        if failure is None:
            self._decide(c, churn, timing)
        else:  # complain (or not) and wait for the outcome first
            self.after_failure(c, failure, self._decide, churn, timing)

    def _decide(self, c: Customer, churn: float, timing: float) -> None:
        market = self.market
        if market.decides_to_churn(c, churn):
            market.churn(c)
        else:
            self._sleep(c, timing)

    def _resume(self, c: Customer, value: tuple) -> None:
        timing, last_purchase = value
        rate = self._rates[c.id]
        if rate <= 0:
            return
        gap = self._gap(c, timing)
        start = self.env.now
        decline_at = last_purchase + self._decline_recency / rate
        if gap > decline_at - start and c.stage != lifecycle.DECLINE:
            if decline_at > start:
                self._call(self._at_resumed_decline, c, (gap, start), NORMAL, decline_at - start)
                return
            self.market.set_stage(c, lifecycle.DECLINE)
            self._call(self._at_purchase, c, None, NORMAL, max(0.0, gap - (self.env.now - start)))
        else:
            self._call(self._at_purchase, c, None, NORMAL, gap)

    def _resumed_decline(self, c: Customer, value: tuple) -> None:
        if not c.active:
            return
        self.market.set_stage(c, lifecycle.DECLINE)
        gap, start = value
        self._call(self._at_purchase, c, None, NORMAL, max(0.0, gap - (self.env.now - start)))


class ContractualLife(Life):
    """A payment at acquisition; at each renewal: experience, churn decision, payment."""

    def __init__(self, market):
        super().__init__(market)
        self._period = market.contract_period
        self._at_renewal = self._renewal  # the step, bound once

    def _begin(self, c: Customer, _value) -> None:
        self.market.payment(c)
        self._call(self._at_renewal, c, None, NORMAL, self._period)

    def _renewal(self, c: Customer, _value) -> None:
        if not c.active:  # the firm stopped serving the customer meanwhile
            return
        churn, failure = self.market.period_experience(c)
        if failure is None:
            self._decide(c, churn)
        else:  # complain (or not) and wait for the outcome first
            self.after_failure(c, failure, self._decide, churn)

    def _decide(self, c: Customer, churn: float) -> None:
        market = self.market
        if market.decides_to_churn(c, churn):
            market.churn(c)
            return
        market.payment(c)
        self._call(self._at_renewal, c, None, NORMAL, self._period)
