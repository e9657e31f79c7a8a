"""Customer acquisition (客户开发): paid marketing and word of mouth from a finite market.

Two SimPy processes bring new customers (see :class:`crmsim.scenario.Acquisition`):

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

Customers at t = 0 count as adopters and as part of the market; paid customers come from the
same M prospects, so a finite market runs dry for both.
"""

from __future__ import annotations

import math

from crmsim.streams import Purpose

WORD_OF_MOUTH = "word_of_mouth"  # the details of a word-of-mouth "acquired" event


class AcquisitionPolicy:
    """Paid and word-of-mouth acquisition of one run."""

    def __init__(self, market):
        self.market = market
        self.cfg = market.scenario.acquisition
        self.paid = 0
        self.word_of_mouth = 0

    @property
    def adopters(self) -> int:
        """Customers so far (the initial base included)."""
        return len(self.market.customers)

    @property
    def prospects(self) -> float:
        """Prospects who are not customers yet (inf without a market size)."""
        size = self.cfg.market_size
        return math.inf if size is None else size - self.adopters

    def start(self) -> None:
        env = self.market.env
        if self.cfg.paid_rate > 0:
            env.process(self._paid())
        if self.cfg.innovation > 0 or self.cfg.imitation > 0:
            env.process(self._word_of_mouth())

    def _paid(self):
        market, cfg = self.market, self.cfg
        gaps = market.streams.stream(Purpose.ACQUISITION, 0, "exponential")
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
        gaps = market.streams.stream(Purpose.WORD_OF_MOUTH, 0, "exponential")
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

    def kpis(self) -> dict[str, float]:
        cost = self.market.recorder.costs.get("acquisition_cost", 0.0)
        return {
            "acquired_paid": self.paid,
            "acquired_word_of_mouth": self.word_of_mouth,
            "cac": cost / self.paid if self.paid else math.nan,
        }
