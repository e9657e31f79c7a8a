"""The non-contractual life written out in one generator, for runs no policy hooks into.

:func:`crmsim.model.customer.noncontractual_life` spells a customer's life as the model's
concepts: the market's ``purchase`` (its draws, ``_pay``, ``experience`` with the satisfaction
and stage rules, ``set_stage``, the recorder) and ``decides_to_churn`` (``switching_cost``, the
churn rule). That is a dozen Python calls per purchase, and every purchase of every customer
goes through them: they were the top of the profile (issue 17).

When no policy takes part in a purchase or a churn decision — no ``price``, ``paid``,
``rate_factor``, ``service_failure``, ``churn_terms``, ``barriers`` or ``churn_decided`` hook,
which is the case of the plain retail scenarios — :class:`~crmsim.model.market.Market` runs
this generator instead: the same steps with the same arithmetic in the same order, written out
in one function with the run's constants bound once in a closure (shared by all customers: a
customer's generator frame holds only its own state). Rare steps (a new block of draws, the
decline wake-up, a churn, a tenure uplift, switching-cost shocks) still call the market.

It must stay the same model to the last bit: tests/test_digests.py covers it (retail_baseline,
retail_better_service) and tests/test_plain_life.py compares it with the general path on
scenarios that exercise its branches. A change to a rule (satisfaction, stage, churn, price)
must be made in both places.
"""

from __future__ import annotations

import math

from crmsim.model import churn as churn_rule
from crmsim.model import lifecycle
from crmsim.results import PURCHASE, STAGE
from crmsim.streams import Column

_TIMING, _CHURN = Column.TIMING, Column.CHURN
_EXPERIENCE, _SPEND = Column.EXPERIENCE, Column.SPEND
_DECLINE, _WON_BACK = lifecycle.DECLINE, lifecycle.WON_BACK
_EXPLORATION, _FORMATION, _STABILITY = (lifecycle.EXPLORATION, lifecycle.FORMATION,
                                        lifecycle.STABILITY)

#: the hooks that take part in a purchase or a churn decision: with none of them in use, a
#: run's non-contractual customers live :func:`plain_life`'s life
PURCHASE_HOOKS = ("price", "paid", "rate_factor", "service_failure", "churn_terms", "barriers",
                  "churn_decided")
#: switched off by tests/test_plain_life.py to run the general path for comparison
ENABLED = True


def applies(market) -> bool:
    """Whether ``market``'s non-contractual customers can live the written-out life."""
    return (ENABLED and not market.contractual
            and not any(market.hooks[h] for h in PURCHASE_HOOKS))


def plain_life(market):
    """The life generator of ``market``'s customers (the signature of
    :func:`~crmsim.model.customer.noncontractual_life`), with the run's constants bound."""
    env = market.env
    timeout = env.timeout
    recorder = market.recorder
    # the event columns (never replaced during a run; the details column may be widened, so
    # it is looked up at each event)
    record_time, record_customer = recorder.time.append, recorder.customer.append
    record_kind, record_amount = recorder.kind.append, recorder.amount.append
    stage_counts = market.stage_counts
    decline_recency = market.decline_recency
    # satisfaction.experience_rule's parameters
    sat = market.satisfaction_cfg
    service_quality, quality_noise = sat.service_quality, sat.quality_noise
    performance_weight, norm = sat.performance_weight, sat.initial_expectation
    disconfirmation_weight, memory, adaptation = (sat.disconfirmation_weight, sat.memory,
                                                  sat.adaptation)
    # lifecycle.stage_rule's thresholds
    cfg = market.lifecycle_cfg
    decline_below, stability_after, formation_after = (cfg.decline_satisfaction,
                                                       cfg.stability_after, cfg.formation_after)
    price_index, tenure_uplift = market.price_index, market.tenure_uplift
    beta_satisfaction, price_push = market.beta_satisfaction, market.price_push
    beta_switching = market.beta_switching
    log, log1p, exp, expm1 = math.log, math.log1p, math.exp, math.expm1

    def set_stage(c, stage, now):
        """Market.set_stage for a change of stage (``stage`` differs from ``c.stage``)."""
        old = c.stage
        if old in stage_counts:
            stage_counts[old] -= 1
        if stage in stage_counts:
            stage_counts[stage] += 1
        c.stage = stage
        recorder.event(now, c.id, STAGE, details=stage)

    def purchase(c):
        """Market.purchase and decides_to_churn for a regular purchase: the uniform of the gap
        to the next purchase, or None if the customer left."""
        now = env.now
        cid = c.id
        # ---- the row of draws of the customer's event number (Market._draws)
        block = c.draws
        k = c.event_number
        i = k - block.first_row
        if 0 <= i < block.rows:
            at = ((cid - block.first_owner) * block.rows + i) * block.width
        else:
            block = c.draws = market.streams.own_block(cid, k, c.segment.spend_shape,
                                                       market.draw_width)
            at = block.start(cid, k)
        data = block.data
        # ---- Market._pay
        amount = data[at + _SPEND] / c.spend_rate if c.spend_rate else c.spend_level
        c.purchases += 1
        if price_index != 1.0:
            amount *= price_index
        c.event_number = k + 1
        if tenure_uplift:
            amount *= 1.0 + tenure_uplift * market.scenario.economics.tenure_factor(
                now - c.acquired_at)
        record_time(now)
        record_customer(cid)
        record_kind(PURCHASE)
        record_amount(amount)
        recorder.detail.append(0)
        # ---- Market.experience (satisfaction.experience_rule with the customer's fit)
        before = c.satisfaction
        quality = service_quality + quality_noise * data[at + _EXPERIENCE] + c.fit
        value = performance_weight * (quality - norm) + (
            disconfirmation_weight * (quality - c.expectation))
        satisfaction = c.satisfaction = before + memory * (value - before)
        c.expectation += adaptation * (quality - c.expectation)
        market.satisfaction_sum += satisfaction - before
        # ---- the stage after it (lifecycle.stage_rule)
        repeats = c.purchases - 1
        if satisfaction < decline_below and repeats >= 1:
            stage = _DECLINE
        elif repeats >= stability_after:
            stage = _STABILITY
        elif repeats >= formation_after:
            stage = _FORMATION
        else:
            stage = _EXPLORATION
        if stage != c.stage and not (c.stage == _WON_BACK and c.won_back_at == now):
            set_stage(c, stage, now)
        # ---- Market.decides_to_churn with the core's terms only (churn.probability)
        push = barrier = 0.0
        if beta_satisfaction:
            push = beta_satisfaction * (satisfaction - c.recovery_bonus)
        if price_push:
            push += price_push * c.price_sensitivity
        if beta_switching:
            sc = c.segment.switching_cost
            if sc.shocks:
                barrier = beta_switching * market.switching_cost(c)
            else:
                relational = (sc.relational * -expm1(-(now - c.acquired_at)
                                                     / sc.relational_buildup)
                              if sc.relational else 0.0)
                barrier = beta_switching * (c.segment.fixed_switching_cost + relational)
        theta = c.churn_propensity
        if push == 0.0 or theta <= 0.0 or theta >= 1.0:
            p = theta
        else:
            x = log(theta) - log1p(-theta) + push
            if x >= 0:
                p = 1.0 / (1.0 + exp(-x))
            else:
                e = exp(x)
                p = e / (1.0 + e)
        if barrier:
            p = p * exp(barrier)
        if data[at + _CHURN] < p:
            c.churn_reason = churn_rule.reason(market.churn_drivers(c)[0])
            market.churn(c)
            return None
        return data[at + _TIMING]

    # The generator is kept small: every customer holds a suspended one for the whole run, and
    # its frame has a slot for each local and each free variable it uses (the purchase's
    # locals live in purchase()'s frame, which is gone once it returns).
    def life(market, customer, timing=None):
        if timing is None:
            _, timing, failure = market.purchase(customer)  # the first purchase: no decision
            if failure is not None:
                yield from market.recover(customer, *failure)
                customer.pending_outcome = None
        rate = customer.purchase_rate
        if rate <= 0:
            return
        while timing is not None:
            gap = -log1p(-timing) / rate  # exponential with rate λ_i
            decline_after = decline_recency / rate
            if gap > decline_after and customer.stage != _DECLINE:
                yield timeout(decline_after)
                if not customer.active:
                    return
                market.set_stage(customer, _DECLINE)
                yield timeout(gap - decline_after)
            else:
                yield timeout(gap)
            if not customer.active:  # the firm stopped serving the customer meanwhile
                return
            timing = purchase(customer)

    return life
