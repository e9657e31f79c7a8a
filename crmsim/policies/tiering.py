"""Customer tiering (客户分级): a periodic value classification and tier-based resources.

Every ``tiering.every`` the firm classifies its active customers by what it can see — margin so
far, purchases, recency — with one of the course's methods (:class:`crmsim.scenario.Tiering`):

* ``abc`` — Pareto classes of margin so far (:func:`crmsim.analysis.abc_classes`): A → key,
  B → ordinary, C → small;
* ``rfm`` — the RFM total (:func:`crmsim.analysis.quantile_scores` of recency, frequency and
  money), ranked;
* ``clv`` — margin per time unit since acquisition, ranked: with a common retention rate the
  constant-retention CLV m(1+i)/(1+i−r) orders customers exactly by their margin per period,
  and unlike ``abc`` it does not favour customers merely for being old.

The textbook allocation (关键客户 key / 普通客户 ordinary / 小客户 small) gives each tier its
desk priority, eligibility for retention offers and win-back effort (:class:`TierLevel`); with
``drop_unprofitable`` the firm stops serving small customers whose margin per time unit is below
what serving them costs (``economics.cost_to_serve``; customers younger than one
classification period are spared). Every change of tier is an event.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from crmsim.analysis.abc import abc_classes
from crmsim.analysis.rfm import quantile_scores
from crmsim.distributions import Probability
from crmsim.model.customer import TIERS
from crmsim.model.policy import Policy
from crmsim.results import event_kind
from crmsim.schema import Section

KEY, ORDINARY, SMALL = TIERS
_FROM_ABC = {"A": KEY, "B": ORDINARY, "C": SMALL}
VALUE_TIER = event_kind("value_tier")


class TierLevel(Section):
    """What the firm gives customers of one value tier."""

    desk_priority: int = Field(0, description="added to desk priority (negative: served first)")
    retention_offers: bool = Field(True, description="eligible for retention offers")
    win_back_effort: float = Field(
        1.0, ge=0, description="multiplies win-back success probability and cost (0: no attempt)")


class Tiering(Section):
    """Customer tiering (客户分级): a periodic value classification and what each tier gets.

    Every ``every`` the active customers are classified by ``method``: ``abc`` — Pareto classes
    of margin so far (A: the first ``abc_cuts[0]`` of value → key, B → ordinary, C → small);
    ``rfm`` — RFM total score (quintiles of recency, frequency, money), ranked; ``clv`` — margin
    per time unit so far (what the constant-retention CLV ranks by), ranked. Ranked methods put
    the top ``shares[0]`` in key (关键客户), the next ``shares[1]`` in ordinary (普通客户), the rest
    in small (小客户). ``drop_unprofitable`` stops serving small customers whose margin per time
    unit is below ``economics.cost_to_serve``.
    """

    enabled: bool = Field(False, description="switch tiering on")
    method: Literal["abc", "rfm", "clv"] = Field("abc", description="how value is measured")
    every: float = Field(30.0, gt=0, description="time between classifications")
    abc_cuts: tuple[Probability, Probability] = Field(
        (0.8, 0.95), description="cumulative value shares ending classes A and B")
    shares: tuple[Probability, Probability] = Field(
        (0.2, 0.3), description="shares of customers in key and ordinary (rfm, clv)")
    key: TierLevel = Field(default_factory=lambda: TierLevel(desk_priority=-1,
                                                             win_back_effort=2.0))
    ordinary: TierLevel = Field(default_factory=TierLevel)
    small: TierLevel = Field(default_factory=lambda: TierLevel(
        desk_priority=1, retention_offers=False, win_back_effort=0.5))
    drop_unprofitable: bool = Field(
        False, description="stop serving small customers whose margin per time unit so far is "
        "below economics.cost_to_serve")

    @model_validator(mode="after")
    def _ordered(self):
        if self.abc_cuts[0] > self.abc_cuts[1] or self.abc_cuts[0] <= 0:
            raise ValueError(f"abc_cuts {list(self.abc_cuts)} must satisfy 0 < A cut <= B cut")
        if sum(self.shares) > 1:
            raise ValueError(f"shares {list(self.shares)} of key and ordinary exceed 1")
        return self



def classify(method: str, now: float, margin, purchases, last_purchase, acquired_at,
             abc_cuts=(0.8, 0.95), shares=(0.2, 0.3), min_tenure: float = 1.0) -> np.ndarray:
    """Tier names for customers described by arrays (the firm's view of them at ``now``)."""
    margin = np.asarray(margin, dtype=float)
    n = len(margin)
    if n == 0:
        return np.empty(0, dtype=object)
    if method == "abc":
        return np.array([_FROM_ABC[k] for k in abc_classes(margin, abc_cuts)], dtype=object)
    if method == "rfm":
        value = (quantile_scores(now - np.asarray(last_purchase), higher_is_better=False)
                 + quantile_scores(purchases) + quantile_scores(margin)).astype(float)
    else:  # clv: margin per time unit
        tenure = np.maximum(now - np.asarray(acquired_at, dtype=float), min_tenure)
        value = margin / tenure
    order = np.argsort(-value, kind="stable")
    n_key = int(round(shares[0] * n))
    n_ordinary = int(round((shares[0] + shares[1]) * n)) - n_key
    ranked = np.array([KEY] * n_key + [ORDINARY] * n_ordinary
                      + [SMALL] * (n - n_key - n_ordinary), dtype=object)
    out = np.empty(n, dtype=object)
    out[order] = ranked
    return out


class TieringPolicy(Policy):
    """The tiering process of one run."""

    SECTIONS = {"tiering": Tiering}
    KPIS = {
        "active_key": "active key customers (关键客户) at the horizon (tiering)",
        "active_ordinary": "active ordinary customers (普通客户) at the horizon",
        "active_small": "active small customers (小客户) at the horizon",
        "dropped": "small, unprofitable customers the firm stopped serving",
    }
    EVENTS = ("value_tier",)

    def __init__(self, market):
        super().__init__(market)
        self.levels = {KEY: self.cfg.key, ORDINARY: self.cfg.ordinary, SMALL: self.cfg.small}
        self.dropped = 0

    def start(self) -> None:
        self.market.env.process(self._run())

    def _run(self):
        env = self.market.env
        while True:
            yield env.timeout(self.cfg.every)
            self.classify()

    def classify(self) -> None:
        market, cfg = self.market, self.cfg
        now = market.env.now
        active = [c for c in market.customers if c.active]
        ids = np.array([c.id for c in active], dtype=np.int64)
        records = market.customer_records()
        margin = records["revenue"][ids] * market.scenario.economics.margin_rate
        tiers = classify(
            cfg.method, now, margin,
            purchases=[c.purchases for c in active],
            last_purchase=records["last_purchase"][ids],
            acquired_at=[c.acquired_at for c in active],
            abc_cuts=cfg.abc_cuts, shares=cfg.shares, min_tenure=cfg.every)
        record = market.recorder.event
        for c, tier in zip(active, tiers, strict=True):
            if tier != c.tier:
                care = c.treated()
                care.tier = tier
                care.tier_level = level = self.levels[tier]
                care.tier_priority = level.desk_priority
                record(now, c.id, VALUE_TIER, details=tier)
        if cfg.drop_unprofitable:
            cost = market.scenario.economics.cost_to_serve
            for c, tier, m in zip(active, tiers, margin, strict=True):
                tenure = now - c.acquired_at
                if tier == SMALL and tenure >= cfg.every and m / tenure < cost:
                    market.drop(c)
                    self.dropped += 1

    def active_by_tier(self) -> dict[str, int]:
        """Active customers per tier now (``active_key``, ``active_ordinary``, ...)."""
        counts = dict.fromkeys(TIERS, 0)
        for c in self.market.customers:
            if c.active and c.tier in counts:
                counts[c.tier] += 1
        return {f"active_{t}": n for t, n in counts.items()}

    def snapshot(self, now: float, last: float, row: dict) -> None:
        row.update(self.active_by_tier())

    def kpis(self) -> dict[str, float]:
        if not self.enabled:
            return {}
        return {**self.active_by_tier(), "dropped": self.dropped}
