"""The market: a SimPy environment with customers, the firm's books and its periodic processes.

:class:`Market` owns everything of one run: the environment, the run's random streams, the
recorder, the customers. It creates customers (the initial base at t = 0, then paid acquisitions
as a Poisson process), starts one process per customer (:mod:`crmsim.model.customer`) and a
reporting process that takes a snapshot every ``report_every``. The actions customers trigger —
purchase, payment, experience, churn decision, stage change — are methods here because they
touch the firm's books; the rules behind them live in their own modules (satisfaction,
lifecycle, churn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy
from scipy import special

from crmsim.distributions import GammaGammaSpend, trait_quantile
from crmsim.model import lifecycle
from crmsim.model.churn import churn_probability
from crmsim.model.customer import Customer, contractual_life, noncontractual_life
from crmsim.model.satisfaction import experience
from crmsim.results import ACQUIRED, CHURN, PAYMENT, PURCHASE, STAGE, Recorder
from crmsim.streams import Purpose, RandomStreams

#: uniforms drawn for each customer's traits (columns of the trait block, fixed forever so that
#: adding a trait never shifts the others)
TRAIT_COLUMNS = (
    "segment", "purchase_rate", "churn_propensity", "spend_rate", "price_sensitivity",
    "complaint_propensity", "initial_expectation",
)
_TRAIT_BLOCK = 16  # room for traits added later


@dataclass(frozen=True)
class SegmentParams:
    """A segment's resolved parameters (the base scenario with the segment's overrides)."""

    name: str
    share: float
    purchase_rate: object
    churn_base: object
    spend: object
    switching_cost: object


def resolve_segments(scenario) -> list[SegmentParams]:
    base = dict(
        purchase_rate=scenario.purchase.rate,
        churn_base=scenario.churn.base,
        spend=scenario.purchase.spend,
        switching_cost=scenario.switching_cost,
    )
    if not scenario.customers.segments:
        return [SegmentParams("all", 1.0, **base)]
    segments = []
    for name, seg in scenario.customers.segments.items():
        params = {k: (getattr(seg, k) if getattr(seg, k) is not None else v)
                  for k, v in base.items()}
        segments.append(SegmentParams(name, seg.share, **params))
    return segments


class Market:
    """One run of the model. Use :func:`crmsim.simulate` rather than this class directly."""

    def __init__(self, scenario, seed_sequence: np.random.SeedSequence):
        self.scenario = scenario
        self.env = simpy.Environment()
        self.streams = RandomStreams(seed_sequence)
        self.recorder = Recorder(scenario.economics.discount_rate)
        self.segments = resolve_segments(scenario)
        self._segment_edges = np.cumsum([s.share for s in self.segments])[:-1]
        self.customers: list[Customer] = []
        self.contractual = scenario.market.setting == "contractual"
        self.life = contractual_life if self.contractual else noncontractual_life
        # hot-path settings as plain attributes
        self.contract_period = scenario.contract.period
        self.contract_price = scenario.contract.price
        self.margin_rate = scenario.economics.margin_rate
        self.decline_recency = scenario.lifecycle.decline_recency
        self.beta_satisfaction = scenario.churn.coefficients.satisfaction
        self.beta_switching = scenario.churn.coefficients.switching_cost
        self.satisfaction_cfg = scenario.satisfaction
        self.lifecycle_cfg = scenario.lifecycle
        # running aggregates for the timeseries
        self.stage_counts = dict.fromkeys(lifecycle.ACTIVE_STAGES, 0)
        self.active = 0
        self.satisfaction_sum = 0.0
        self.acquired = 0
        self.churned = 0
        self.purchases = 0

    # ------------------------------------------------------------------ running

    def run(self):
        sc = self.scenario
        self.add_customers(np.arange(sc.customers.initial), at=0.0)
        self._snapshot(0.0)  # the opening state (no flows yet)
        if sc.acquisition.rate > 0:
            self.env.process(self._paid_acquisition(sc.acquisition.rate))
        self.env.process(self._reporter(sc.report_every))
        self.env.run(until=sc.horizon)
        if not self.recorder.snapshots or self.recorder.snapshots[-1]["time"] < sc.horizon:
            self._snapshot(sc.horizon)
        return self

    def _paid_acquisition(self, rate: float):
        gaps = self.streams.stream(Purpose.ACQUISITION, 0, "exponential")
        cost = self.scenario.acquisition.cost_per_acquisition
        while True:
            yield self.env.timeout(gaps.next() / rate)
            self.add_customers([len(self.customers)], at=self.env.now, cost=cost)
            self.acquired += 1
            self.recorder.book(self.env.now, "acquisition_cost", cost)

    def _reporter(self, every: float):
        while True:
            yield self.env.timeout(every)
            self._snapshot(self.env.now)

    def _snapshot(self, now: float) -> None:
        last = self.recorder.snapshots[-1]["time"] if self.recorder.snapshots else now
        fixed = self.scenario.economics.fixed_cost
        if fixed:
            self.recorder.book(now, "fixed_cost", fixed * (now - last))
        row = {"time": now, "active": self.active}
        row.update({f"active_{s}": n for s, n in self.stage_counts.items()})
        row["mean_satisfaction"] = self.satisfaction_sum / self.active if self.active else math.nan
        row.update(cum_acquired=self.acquired, cum_churned=self.churned,
                   cum_purchases=self.purchases)
        self.recorder.snapshot(row)

    # ------------------------------------------------------------------ customers

    def draw_traits(self, ids) -> np.ndarray:
        """Each customer's trait uniforms, one row per id, from the customer's own stream."""
        at = self.streams.at
        return np.array([at(Purpose.TRAITS, int(i)).random(_TRAIT_BLOCK) for i in ids])

    def add_customers(self, ids, at: float, cost: float = 0.0) -> list[Customer]:
        """Create customers with these ids at time ``at`` and start their processes.

        ``cost`` is the acquisition cost per customer, carried by the ``acquired`` event.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return []
        u = self.draw_traits(ids)
        col = {name: u[:, k] for k, name in enumerate(TRAIT_COLUMNS)}
        seg_index = np.searchsorted(self._segment_edges, col["segment"], side="right")
        values = {name: np.empty(ids.size) for name in TRAIT_COLUMNS[1:]}
        for k, seg in enumerate(self.segments):
            rows = seg_index == k
            if not rows.any():
                continue
            values["purchase_rate"][rows] = trait_quantile(seg.purchase_rate, col["purchase_rate"][rows])
            values["churn_propensity"][rows] = trait_quantile(seg.churn_base, col["churn_propensity"][rows])
            values["spend_rate"][rows] = trait_quantile(seg.spend, col["spend_rate"][rows])
        cust = self.scenario.customers
        values["price_sensitivity"] = trait_quantile(cust.price_sensitivity, col["price_sensitivity"])
        values["complaint_propensity"] = trait_quantile(cust.complaint_propensity,
                                                        col["complaint_propensity"])
        sat = self.satisfaction_cfg
        values["initial_expectation"] = sat.initial_expectation + sat.expectation_noise * special.ndtri(
            col["initial_expectation"])
        columns = {name: v.tolist() for name, v in values.items()}
        created = []
        streams = self.streams
        for row, cid in enumerate(ids.tolist()):
            seg = self.segments[seg_index[row]]
            c = Customer(cid, seg, at)
            c.purchase_rate = columns["purchase_rate"][row]
            c.churn_propensity = columns["churn_propensity"][row]
            if isinstance(seg.spend, GammaGammaSpend):
                c.spend_rate = columns["spend_rate"][row]
                c.spend_level = seg.spend.p / c.spend_rate
                c.spend_draws = streams.stream(Purpose.SPEND, cid, "gamma", seg.spend.p)
            else:
                c.spend_rate = math.nan
                c.spend_level = float(seg.spend)
                c.spend_draws = None
            c.price_sensitivity = columns["price_sensitivity"][row]
            c.complaint_propensity = columns["complaint_propensity"][row]
            c.initial_expectation = c.expectation = columns["initial_expectation"][row]
            c.timing = streams.stream(Purpose.TIMING, cid, "exponential")
            c.decisions = streams.stream(Purpose.CHURN, cid, "uniform")
            c.experiences = streams.stream(Purpose.EXPERIENCE, cid, "normal")
            self.customers.append(c)
            self.active += 1
            self.recorder.event(at, cid, ACQUIRED, cost)
            self.set_stage(c, lifecycle.EXPLORATION)
            self.env.process(self.life(self, c))
            created.append(c)
        return created

    # ------------------------------------------------------------------ actions

    def set_stage(self, c: Customer, stage: str) -> None:
        if stage == c.stage:
            return
        counts = self.stage_counts
        if c.stage in counts:
            counts[c.stage] -= 1
        if stage in counts:
            counts[stage] += 1
        c.stage = stage
        self.recorder.event(self.env.now, c.id, STAGE, details=stage)

    def experience(self, c: Customer) -> float:
        before = c.satisfaction
        quality = experience(c, self.satisfaction_cfg, c.experiences.next())
        self.satisfaction_sum += c.satisfaction - before
        return quality

    def _pay(self, c: Customer, amount: float, kind: int) -> None:
        now = self.env.now
        margin = amount * self.margin_rate
        c.purchases += 1
        c.revenue += amount
        c.margin += margin
        c.npv_margin += margin * self.recorder.discount(now - c.acquired_at)
        c.last_purchase = now
        self.purchases += 1
        rec = self.recorder
        rec.event(now, c.id, kind, amount)
        rec.book(now, "revenue", amount)
        rec.book(now, "margin", margin)

    def purchase(self, c: Customer) -> None:
        """A non-contractual purchase: spend, experience, stage."""
        if c.spend_draws is None:
            amount = c.spend_level
        else:
            amount = c.spend_draws.next() / c.spend_rate
        self._pay(c, amount, PURCHASE)
        self.experience(c)
        self.set_stage(c, lifecycle.stage_after_experience(c.purchases - 1, c.satisfaction,
                                                           self.lifecycle_cfg))

    def payment(self, c: Customer, renewal: bool) -> None:
        """A contractual payment, at acquisition or at a renewal."""
        self._pay(c, self.contract_price, PAYMENT)
        if renewal:
            self.set_stage(c, lifecycle.stage_after_experience(c.purchases - 1, c.satisfaction,
                                                               self.lifecycle_cfg))

    def switching_cost(self, c: Customer) -> float:
        """The customer's switching cost now: procedural + financial + relational(tenure)."""
        sc = c.segment.switching_cost
        value = sc.procedural + sc.financial
        if sc.relational:
            tenure = self.env.now - c.acquired_at
            value += sc.relational * -math.expm1(-tenure / sc.relational_buildup)
        return value

    def churn_terms(self, c: Customer) -> dict[str, float]:
        """β_k · x_k for each churn driver (reasons as keys)."""
        terms = {}
        if self.beta_satisfaction:
            terms["dissatisfaction"] = self.beta_satisfaction * c.satisfaction
        if self.beta_switching:
            terms["low_switching_cost"] = self.beta_switching * self.switching_cost(c)
        return terms

    def decides_to_churn(self, c: Customer) -> bool:
        p, reason = churn_probability(c.churn_propensity, self.churn_terms(c))
        if c.decisions.next() < p:
            c.churn_reason = reason
            return True
        return False

    def churn(self, c: Customer) -> None:
        now = self.env.now
        self.set_stage(c, lifecycle.CHURNED)
        c.churned_at = now
        self.active -= 1
        self.churned += 1
        self.satisfaction_sum -= c.satisfaction
        self.recorder.event(now, c.id, CHURN, details=c.churn_reason)
        c.timing = c.decisions = c.experiences = c.spend_draws = None
