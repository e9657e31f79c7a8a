"""Customer acquisition (客户开发): paid marketing, word of mouth and referrals.

Three SimPy processes bring new customers (see :class:`Acquisition`):

* **paid** — a Poisson process at ``acquisition.rate`` (or ``budget`` / cost per acquisition);
  each new customer costs the cost per acquisition, booked when it arrives. ``selectivity``
  targets good prospects: their churn-propensity and purchase-rate uniforms are drawn from the
  better (1 − s) of the distributions, at 1/(1 − s) times the cost;
* **word of mouth** — the Bass model (:mod:`crmsim.analysis.bass`): each of the M − N
  prospects who are not customers yet becomes one at the hazard p + q · W/M, so the market
  adopts at the total rate (M − N)(p + q W/M). W is N (every adopter talks: the textbook model)
  or, with ``word_of_mouth: satisfaction``, the active customers who recommend minus
  ``detractor_weight`` times those who warn. The rate is constant between adoptions in the
  textbook model, so each gap is one exponential draw: the simulation is exact. When W can
  change between adoptions (satisfaction, or paid customers arriving too) it is recounted every
  ``update_every`` — the exponential is memoryless, so redrawing at a recount is exact for a rate
  that is constant between recounts.

* **referrals** (Reichheld & Sasser 1990) — every satisfied active customer refers new
  customers at ``referral_rate`` × its tenure factor (mature customers refer more; see
  ``economics.tenure_maturity``), each referral paying ``referral_reward`` to the referrer and
  recorded as a ``referral`` event of the referrer, so its value counts in the referrer's
  profit by tenure year (:func:`crmsim.analysis.profit_by_tenure`).

Customers at t = 0 count as adopters and as part of the market; paid and referred customers come
from the same M prospects, so a finite market runs dry for all.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from crmsim.model.policy import Policy
from crmsim.results import event_kind
from crmsim.schema import Section

WORD_OF_MOUTH = "word_of_mouth"  # the details of a word-of-mouth "acquired" event
REFERRAL_SOURCE = "referral"  # the details of a referred customer's "acquired" event
REFERRAL = event_kind("referral")  # a customer referred a new one (amount: the reward)
#: random streams: paid arrivals, word-of-mouth adoptions and referrals (owner 0)
PAID_PURPOSE, WORD_OF_MOUTH_PURPOSE, REFERRAL_PURPOSE = 10, 11, 13


class Acquisition(Section):
    """Customer acquisition (客户开发): paid marketing and word of mouth from a finite market.

    *Paid*: new customers arrive as a Poisson process at ``rate`` (or ``budget`` /
    cost per acquisition), each costing ``cost_per_acquisition``. ``selectivity`` s targets
    "good" prospects: new customers come only from the best (1 − s) of the churn-propensity and
    purchase-rate distributions, and finding them costs 1/(1 − s) times as much.

    *Word of mouth* (Bass 1969): of ``market_size`` M prospects, each not yet a customer becomes
    one at the hazard p + q · W/M — ``innovation`` p, ``imitation`` q — where W is the number of
    adopters so far (``word_of_mouth: adopters``, the textbook model) or the active customers who
    recommend minus ``detractor_weight`` × those who warn others (``word_of_mouth: satisfaction``).
    Customers at t = 0 count as adopters; paid acquisitions also come from the M prospects.
    """

    rate: float = Field(0.0, ge=0, description="paid acquisitions per time unit (Poisson)")
    budget: float = Field(
        0.0, ge=0, description="paid marketing spend per time unit (instead of rate): "
        "rate = budget / cost of one acquisition")
    cost_per_acquisition: float = Field(0.0, ge=0, description="marketing cost per new customer")
    selectivity: float = Field(
        0.0, ge=0, lt=1, description="0: acquire anyone; s: only the best (1 − s) of prospects "
        "(low churn propensity, high purchase rate), at cost_per_acquisition / (1 − s)")
    market_size: int | None = Field(
        None, ge=1, description="prospects in the market, M (null: unlimited, paid only)")
    innovation: float = Field(0.0, ge=0, description="Bass p: adoption hazard from outside")
    imitation: float = Field(0.0, ge=0, description="Bass q: adoption hazard from word of mouth")
    word_of_mouth: Literal["adopters", "satisfaction"] = Field(
        "adopters", description="adopters: every adopter recommends (Bass); satisfaction: "
        "satisfied active customers recommend and dissatisfied ones warn")
    promoter_satisfaction: float = Field(
        0.0, description="satisfaction at or above this recommends (word_of_mouth: satisfaction)")
    detractor_satisfaction: float = Field(
        -0.1, description="satisfaction below this warns others")
    detractor_weight: float = Field(1.0, ge=0, description="a warning outweighs a "
                                    "recommendation this many times")
    update_every: float = Field(
        1.0, gt=0, description="how often word of mouth is recounted when it can change between "
        "adoptions (satisfaction, or paid acquisitions alongside)")
    referral_rate: float = Field(
        0.0, ge=0, description="new customers a satisfied, mature customer refers per time unit "
        "(× its tenure factor, see economics.tenure_maturity)")
    referral_reward: float = Field(
        0.0, ge=0, description="paid to the referrer for each referred customer")

    @model_validator(mode="after")
    def _consistent(self):
        if self.rate and self.budget:
            raise ValueError(f"give rate ({self.rate:g}) or budget ({self.budget:g}), not both")
        if self.budget and not self.cost_per_acquisition:
            raise ValueError(f"budget = {self.budget:g} needs cost_per_acquisition > 0")
        if (self.innovation or self.imitation) and self.market_size is None:
            raise ValueError("innovation and imitation (word of mouth) need market_size, the "
                             "number of prospects M")
        return self

    @property
    def paid_rate(self) -> float:
        """Paid acquisitions per time unit (from rate, or budget / cost per acquisition)."""
        if self.budget:
            return self.budget * (1 - self.selectivity) / self.cost_per_acquisition
        return self.rate

    @property
    def paid_cost(self) -> float:
        """Cost of one paid acquisition, selectivity included."""
        return self.cost_per_acquisition / (1 - self.selectivity)


class AcquisitionPolicy(Policy):
    """Paid and word-of-mouth acquisition of one run."""

    SECTIONS = {"acquisition": Acquisition}
    KPIS = {
        "acquired_paid": "customers acquired by paid marketing",
        "acquired_word_of_mouth": "customers acquired by word of mouth (Bass innovation + "
        "imitation)",
        "cac": "customer acquisition cost: acquisition_cost / acquired_paid",
        "acquired_referral": "customers referred by satisfied, mature customers",
    }
    COSTS = {"acquisition_cost": "paid acquisition spend",
             "referral_cost": "referral rewards paid to referrers"}
    EVENTS = ("referral",)
    PURPOSES = (PAID_PURPOSE, WORD_OF_MOUTH_PURPOSE, REFERRAL_PURPOSE)

    def __init__(self, market):
        super().__init__(market)
        self.paid = 0
        self.word_of_mouth = 0
        self.referred = 0

    @property
    def adopters(self) -> int:
        """Customers so far (the initial base included)."""
        return len(self.market.customers)

    @property
    def prospects(self) -> float:
        """Prospects who are not customers yet (inf without a market size)."""
        size = self.cfg.market_size
        return math.inf if size is None else size - self.adopters

    @property
    def enabled(self) -> bool:
        return True  # no switch: a scenario without acquisition simply has rates of 0

    @classmethod
    def check(cls, scenario) -> None:
        size = scenario.acquisition.market_size
        if size is not None and scenario.customers.initial > size:
            raise ValueError(f"customers.initial ({scenario.customers.initial}) exceeds "
                             f"acquisition.market_size ({size})")

    def start(self) -> None:
        env = self.market.env
        if self.cfg.paid_rate > 0:
            env.process(self._paid())
        if self.cfg.innovation > 0 or self.cfg.imitation > 0:
            env.process(self._word_of_mouth())
        if self.cfg.referral_rate > 0:
            env.process(self._referrals())

    def _paid(self):
        market, cfg = self.market, self.cfg
        gaps = market.streams.stream(PAID_PURPOSE, 0, "exponential")
        rate, cost = cfg.paid_rate, cfg.paid_cost
        while True:
            yield market.env.timeout(gaps.next() / rate)
            if self.prospects < 1:
                return
            market.add_customers(self.adopters, 1, at=market.env.now, cost=cost,
                                 selectivity=cfg.selectivity)
            market.recorder.book(market.env.now, "acquisition_cost", cost)
            self.paid += 1

    def influence(self) -> float:
        """W: adopters, or recommenders minus weighted detractors among active customers."""
        cfg = self.cfg
        if cfg.word_of_mouth == "adopters":
            return float(self.adopters)
        promoters = detractors = 0
        for c in self.market.customers:
            if c.active:
                if c.satisfaction >= cfg.promoter_satisfaction:
                    promoters += 1
                elif c.satisfaction < cfg.detractor_satisfaction:
                    detractors += 1
        return promoters - cfg.detractor_weight * detractors

    def adoption_rate(self, influence: float) -> float:
        """(M − N)(p + q W/M), never negative (warnings can silence word of mouth entirely)."""
        cfg = self.cfg
        hazard = cfg.innovation + cfg.imitation * influence / cfg.market_size
        return max(self.prospects, 0) * max(hazard, 0.0)

    def _word_of_mouth(self):
        market, cfg = self.market, self.cfg
        env = market.env
        gaps = market.streams.stream(WORD_OF_MOUTH_PURPOSE, 0, "exponential")
        recount = cfg.word_of_mouth == "satisfaction" or cfg.paid_rate > 0
        step = cfg.update_every if recount else math.inf
        influence = self.influence()
        while self.prospects >= 1:
            rate = self.adoption_rate(influence)
            gap = gaps.next() / rate if rate > 0 else math.inf
            if gap > step:  # recount first (memoryless: the draw can be replaced)
                yield env.timeout(step)
                influence = self.influence()
                continue
            if math.isinf(gap):
                return
            yield env.timeout(gap)
            market.add_customers(self.adopters, 1, at=env.now, source=WORD_OF_MOUTH)
            self.word_of_mouth += 1
            if cfg.word_of_mouth == "adopters":
                influence += 1.0  # the new adopter talks too (satisfaction: at the recount)

    def referral_intensities(self) -> tuple[list, np.ndarray]:
        """Active customers and the referrals each makes per time unit now: the referral rate
        × its tenure factor if it is satisfied (at or above ``promoter_satisfaction``)."""
        market, cfg = self.market, self.cfg
        now = market.env.now
        economics = market.scenario.economics
        customers = [c for c in market.customers
                     if c.active and c.satisfaction >= cfg.promoter_satisfaction]
        weights = np.array([cfg.referral_rate * economics.tenure_factor(now - c.acquired_at)
                            for c in customers])
        return customers, weights

    def _referrals(self):
        """Referrals (Reichheld & Sasser): a Poisson stream whose rate, the sum of the active
        customers' intensities, is recounted every ``update_every`` (constant between recounts,
        so drawing exponential gaps within a step and discarding the one that crosses it is
        exact); each referral is credited to a referrer chosen in proportion to its intensity."""
        market, cfg = self.market, self.cfg
        env = market.env
        draws = market.streams.stream(REFERRAL_PURPOSE, 0, "uniform")
        step = cfg.update_every
        while self.prospects >= 1:
            customers, weights = self.referral_intensities()
            total = float(weights.sum())
            end = env.now + step
            cumulative = np.cumsum(weights)
            while total > 0:
                gap = -math.log1p(-draws.next()) / total
                if env.now + gap > end:
                    break
                yield env.timeout(gap)
                if self.prospects < 1:
                    return
                k = int(np.searchsorted(cumulative, draws.next() * total, side="right"))
                referrer = customers[min(k, len(customers) - 1)]
                self._refer(referrer)
            yield env.timeout(end - env.now)

    def _refer(self, referrer) -> None:
        market, reward = self.market, self.cfg.referral_reward
        now = market.env.now
        market.recorder.event(now, referrer.id, REFERRAL, reward)
        if reward:
            market.recorder.book(now, "referral_cost", reward)
        market.add_customers(self.adopters, 1, at=now, source=REFERRAL_SOURCE)
        self.referred += 1

    def kpis(self) -> dict[str, float]:
        cost = self.market.recorder.costs.get("acquisition_cost", 0.0)
        return {
            "acquired_paid": self.paid,
            "acquired_word_of_mouth": self.word_of_mouth,
            "cac": cost / self.paid if self.paid else math.nan,
            "acquired_referral": self.referred,
        }
