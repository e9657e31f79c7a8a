"""Churn early warning and retention offers (流失预警 / 客户挽留).

Every ``warning.every`` the firm scans its *active file* — contractual: the customers whose
contracts run; non-contractual: everyone who bought within ``active_window``, because a shop
never sees a customer leave, only silence — and ranks the customers by a targeting value
(:class:`crmsim.scenario.EarlyWarning`):

* ``score`` — what a CRM system can compute: silence beyond the customer's own rhythm
  (recency / own mean gap − 1, for non-contractual customers), the drop of satisfaction since
  the last scan (a survey), and complaints since the last scan, weighted;
* ``risk`` — the true churn probability of the next decision (1 for a customer already gone);
* ``uplift`` — the true reduction of that probability an offer would bring (0 for a customer
  already gone): targeting the *persuadable* rather than the riskiest (Ascarza 2018,
  "Retention futility: targeting high-risk customers might be ineffective", JMR 55(1));
* ``random`` — a lottery, the benchmark that any warning must beat.

The customers at or above ``threshold`` (or the ``top_k`` highest) are *warned*; those of them
that their tier allows get a retention offer (cost ``offer_cost``), which pushes their churn index
by ``offer_effect`` (× price sensitivity) for ``offer_duration``.

Because the simulation knows the truth, the warning is scored against what really happened: a
warned customer is a true alarm if it churns within ``window`` after the scan, is already gone,
or *would have churned but for the offer* — every churn decision taken under an offer also
computes the decision without it (same uniform draw), and a flipped decision is recorded as a
``saved`` event. Precision, recall and lift (precision / base rate) follow; offers to customers
who would have stayed anyway are *wasted*, offers to customers already gone are *too late*.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from crmsim.distributions import GammaDist
from crmsim.model import churn as churn_rule
from crmsim.model.policy import Policy
from crmsim.results import CHURN, event_kind
from crmsim.schema import Section

OFFER, SAVED = event_kind("offer"), event_kind("saved")
#: the random stream of random targeting (owner: the scan's number)
WARNING_PURPOSE = 12


class EarlyWarning(Section):
    """Churn early warning and retention offers (流失预警 / 挽留).

    Every ``every`` the firm scores the customers in its active file (contractual: active
    contracts; non-contractual: everyone who bought within ``active_window`` — the firm cannot
    see a silent drop-out) and makes a retention offer to those whose targeting value is at or
    above ``threshold``, or to the ``top_k`` highest. Targeting by ``score``: recency against the
    customer's own purchase rhythm, satisfaction drop since the last scan, complaints since the
    last scan (weighted); ``risk`` and ``uplift``: the true churn probability, and the true
    reduction of it an offer brings (an oracle — the lab knows both); ``random``: a lottery.
    An offer pushes the churn index by ``offer_effect`` (× the customer's price sensitivity when
    ``response: price_sensitivity``) for ``offer_duration``.
    """

    enabled: bool = Field(False, description="switch the warning scan on")
    every: float = Field(30.0, gt=0, description="time between scans")
    window: float = Field(60.0, gt=0, description="a warning is right if the customer churns "
                          "within this after the scan (or is already gone)")
    active_window: float = Field(
        365.0, gt=0, description="non-contractual: the firm's active file is everyone who "
        "bought within this")
    recency_weight: float = Field(1.0, ge=0, description="score per mean gap of silence beyond "
                                  "the customer's own rhythm")
    satisfaction_weight: float = Field(5.0, ge=0, description="score per unit of satisfaction "
                                       "drop since the last scan")
    dissatisfaction_weight: float = Field(
        0.0, ge=0, description="score per unit of satisfaction below 0 (a survey's level)")
    complaint_weight: float = Field(1.0, ge=0, description="score per complaint since the last "
                                    "scan")
    targeting: Literal["score", "risk", "uplift", "random"] = Field(
        "score", description="what ranks customers for offers")
    threshold: float | None = Field(None, description="offer when the targeting value is at "
                                    "least this")
    top_k: int | None = Field(None, ge=0, description="offer to the k highest per scan")
    offer_cost: float = Field(10.0, ge=0, description="cost of one offer")
    offer_effect: float = Field(-2.0, le=0, description="push on the churn index while the "
                                "offer lasts (negative: keeps customers)")
    response: Literal["uniform", "price_sensitivity"] = Field(
        "price_sensitivity", description="uniform: every customer responds with offer_effect; "
        "price_sensitivity: offer_effect × the customer's price sensitivity")
    offer_duration: float = Field(60.0, gt=0, description="how long an offer acts")

    @model_validator(mode="after")
    def _one_rule(self):
        if self.enabled and (self.threshold is None) == (self.top_k is None):
            raise ValueError("give exactly one of threshold and top_k "
                             f"(threshold {self.threshold}, top_k {self.top_k})")
        return self


def prior_gap(scenario) -> float:
    """The purchase rhythm assumed for a customer with one purchase: 1 / mean purchase rate."""
    rate = scenario.purchase.rate
    mean_rate = rate.mean if isinstance(rate, GammaDist) else float(rate)
    return 1.0 / mean_rate if mean_rate > 0 else math.inf


def warning_score(cfg: EarlyWarning, customer, now: float, records: dict[str, np.ndarray], *,
                  contractual: bool, prior_gap: float, before_satisfaction: float,
                  seen_complaints: int) -> float:
    """The warning score of ``customer`` at ``now`` from what the firm can see.

    ``cfg`` holds the weights (a ``warning:`` section); ``records`` are the firm's records
    (``market.customer_records()``). Non-contractual: silence beyond the customer's own rhythm,
    (recency / own mean gap − 1, the gap of a one-purchase customer being ``prior_gap``); then
    the satisfaction drop since ``before_satisfaction`` (the last survey), satisfaction below 0,
    and the complaints logged beyond ``seen_complaints``, each weighted. Used by the warning
    scan and by any policy that targets with the warning's score (campaigns).
    """
    cid = customer.id
    value = 0.0
    if not contractual and cfg.recency_weight:
        last = records["last_purchase"][cid]
        gap = ((last - customer.acquired_at) / (customer.purchases - 1)
               if customer.purchases > 1 else prior_gap)
        if gap > 0:
            value += cfg.recency_weight * max(0.0, (now - last) / gap - 1)
    value += cfg.satisfaction_weight * max(0.0, before_satisfaction - customer.satisfaction)
    value += cfg.dissatisfaction_weight * max(0.0, -customer.satisfaction)
    value += cfg.complaint_weight * (records["complaints"][cid] - seen_complaints)
    return value


class EarlyWarningPolicy(Policy):
    """The warning scan of one run, its offers and the record needed to score it."""

    SECTIONS = {"warning": EarlyWarning}
    KPIS = {
        "warning_precision": "share of warned customers who churned within the window, were "
        "already gone, or were kept only by the offer",
        "warning_recall": "share of such customers that the warning caught",
        "warning_lift": "precision / base rate (1 = no better than chance)",
        "warning_base_rate": "share of scanned customers who churned within the window or "
        "were gone",
        "offers": "retention offers made",
        "offers_saved": "churn decisions an offer reversed",
        "offers_wasted": "offers to active customers who would have stayed anyway",
        "offers_too_late": "offers to customers already gone (non-contractual silence)",
    }
    COSTS = {"offer_cost": "retention offers × offer cost"}
    EVENTS = ("offer", "saved")
    PURPOSES = (WARNING_PURPOSE,)

    def __init__(self, market):
        super().__init__(market)
        self.prior_gap = prior_gap(market.scenario)
        self.last_satisfaction: dict[int, float] = {}
        self.last_complaints = np.zeros(0, dtype=np.int64)  # by customer id, at the last scan
        # per scan: (time, customer ids, warned, active at the scan)
        self.scans: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        # per offer: (time, customer id, active when offered)
        self.offer_log: list[tuple[float, int, bool]] = []

    def start(self) -> None:
        self.market.env.process(self._run())

    def _run(self):
        env = self.market.env
        scan = 0
        while True:
            yield env.timeout(self.cfg.every)
            self.scan(scan)
            scan += 1

    # ------------------------------------------------------------------ the scan

    def active_file(self, now: float, last_purchase: np.ndarray) -> list:
        """The customers the firm believes active."""
        customers = self.market.customers
        if self.market.contractual:
            return [c for c in customers if c.active]
        since = now - self.cfg.active_window
        return [c for c in customers if last_purchase[c.id] >= since]

    def score(self, customer, now: float, records: dict[str, np.ndarray]) -> float:
        """The warning score from signals the firm can see (its ``customer_records``)."""
        cid = customer.id
        return warning_score(
            self.cfg, customer, now, records, contractual=self.market.contractual,
            prior_gap=self.prior_gap,
            before_satisfaction=self.last_satisfaction.get(cid, customer.satisfaction),
            seen_complaints=self.last_complaints[cid] if cid < len(self.last_complaints) else 0)

    def offer_push(self, customer) -> float:
        """What an offer adds to this customer's churn index."""
        effect = self.cfg.offer_effect
        return effect * customer.price_sensitivity if self.cfg.response == (
            "price_sensitivity") else effect

    def _push_without_offer(self, customer) -> float:
        """The customer's churn push now, leaving out a retention offer it may hold."""
        terms = self.market.churn_terms(customer)
        terms.pop("retention_offer", None)
        return sum(terms.values())

    def risk(self, customer) -> float:
        """True probability that the customer's next decision is to leave (1 if gone)."""
        if not customer.active:
            return 1.0
        return churn_rule.probability(customer.churn_propensity,
                                      self._push_without_offer(customer))

    def uplift(self, customer) -> float:
        """True reduction of the next decision's churn probability by an offer (0 if gone)."""
        if not customer.active:
            return 0.0
        push = self._push_without_offer(customer)
        theta = customer.churn_propensity
        return (churn_rule.probability(theta, push)
                - churn_rule.probability(theta, push + self.offer_push(customer)))

    def targeting_values(self, file: list, now: float, scan: int,
                         records: dict[str, np.ndarray]) -> np.ndarray:
        how = self.cfg.targeting
        if how == "random":
            stream = self.market.streams.stream(WARNING_PURPOSE, scan, "uniform")
            return np.array([stream.next() for _ in file])
        if how == "score":
            return np.array([self.score(c, now, records) for c in file])
        rule = self.risk if how == "risk" else self.uplift
        return np.array([rule(c) for c in file])

    def warned(self, values: np.ndarray) -> np.ndarray:
        """Which customers the rule warns about: threshold, or the top k (ties by order)."""
        if self.cfg.top_k is not None:
            mask = np.zeros(len(values), dtype=bool)
            mask[np.argsort(-values, kind="stable")[: self.cfg.top_k]] = True
            return mask
        return values >= self.cfg.threshold

    def scan(self, number: int) -> None:
        market = self.market
        now = market.env.now
        records = market.customer_records()
        file = self.active_file(now, records["last_purchase"])
        values = self.targeting_values(file, now, number, records)
        warned = self.warned(values)
        active = np.array([c.active for c in file], dtype=bool)
        self.scans.append((now, np.array([c.id for c in file], dtype=np.int64), warned, active))
        for c, hit in zip(file, warned, strict=True):
            care = c.treatment
            if not hit or (care is not None and care.offer is not None and care.offer[0] > now):
                continue
            if care is not None and care.tier_level is not None and (
                    not care.tier_level.retention_offers):
                continue  # the customer's value tier gets no retention offers
            self._offer(c, now)
        for c in file:
            self.last_satisfaction[c.id] = c.satisfaction
        self.last_complaints = records["complaints"]

    def _offer(self, customer, now: float) -> None:
        cost = self.cfg.offer_cost
        self.market.recorder.book(now, "offer_cost", cost)
        self.market.recorder.event(now, customer.id, OFFER, cost)
        self.offer_log.append((now, customer.id, customer.active))
        # the firm's record: no second offer while this one runs. To a customer who already
        # left (unseen in a shop) it reaches nobody: churn decisions are only taken by actives.
        customer.treated().offer = (now + self.cfg.offer_duration, self.offer_push(customer))

    # ------------------------------------------------------------------ hooks

    def churn_terms(self, customer, terms: dict) -> None:
        """A running offer pushes the churn index (and lapses when it ends)."""
        care = customer.treatment
        if care is not None and care.offer is not None:
            if care.offer[0] >= self.market.env.now:
                terms["retention_offer"] = care.offer[1]
            else:
                care.offer = None

    def churn_decided(self, customer, u: float, churned: bool, terms: dict) -> None:
        """A decision the offer reversed (stay with it, leave without it, same draw) is a
        ``saved`` event."""
        if not churned and "retention_offer" in terms:
            push = sum(terms.values())
            if u < churn_rule.probability(customer.churn_propensity,
                                          push - terms["retention_offer"]):
                self.market.recorder.event(self.market.env.now, customer.id, SAVED)

    def churned(self, customer) -> None:
        if customer.treatment is not None:
            customer.treatment.offer = None

    def customer_started(self, customer) -> None:
        """A won-back customer starts without an offer sent while it was gone."""
        if customer.treatment is not None:
            customer.treatment.offer = None

    # ------------------------------------------------------------------ scoring it

    def kpis(self) -> dict[str, float]:
        """Precision, recall and lift of the warning; offers saved, wasted and too late."""
        horizon = self.market.scenario.horizon
        if not self.enabled:
            empty = np.zeros(0)
            return warning_kpis([], [], empty, empty, empty, 1.0, 1.0, horizon)
        rec = self.market.recorder
        return warning_kpis(self.scans, self.offer_log, np.frombuffer(rec.customer, np.int64),
                            np.frombuffer(rec.time, float), np.frombuffer(rec.kind, np.int8),
                            self.cfg.window, self.cfg.offer_duration, horizon)


def warning_kpis(scans, offer_log, customer_ids, times, kinds, window: float,
                 offer_duration: float, horizon: float) -> dict[str, float]:
    """Score the warning against the truth (NaN and zeros when there was no scan).

    ``scans`` are (time, ids, warned, active) per scan; ``offer_log`` (time, id, active) per
    offer; ``customer_ids, times, kinds`` the event columns. Scans whose window reaches past the
    horizon are left out (their outcome is not known yet).
    """
    exit_mask = (kinds == CHURN) | (kinds == SAVED)
    exit_ids, exit_times = customer_ids[exit_mask], times[exit_mask]
    exits: dict[int, list[float]] = {}
    for cid, t in zip(exit_ids.tolist(), exit_times.tolist(), strict=True):
        exits.setdefault(cid, []).append(t)
    true_alarm = warned_n = positives = scanned = 0
    for t, ids, warned, active in scans:
        if t + window > horizon:
            continue
        inside = (exit_times > t) & (exit_times <= t + window)
        positive = ~active | np.isin(ids, exit_ids[inside])
        true_alarm += int((positive & warned).sum())
        warned_n += int(warned.sum())
        positives += int(positive.sum())
        scanned += len(ids)
    precision = true_alarm / warned_n if warned_n else math.nan
    base_rate = positives / scanned if scanned else math.nan
    wasted = too_late = 0
    for t, cid, active in offer_log:
        if not active:
            too_late += 1
        elif not any(t < e <= t + offer_duration for e in exits.get(cid, ())):
            wasted += 1
    return {
        "warning_precision": precision,
        "warning_recall": true_alarm / positives if positives else math.nan,
        "warning_lift": precision / base_rate if base_rate else math.nan,
        "warning_base_rate": base_rate,
        "offers": len(offer_log),
        "offers_saved": int((kinds == SAVED).sum()),
        "offers_wasted": wasted,
        "offers_too_late": too_late,
    }
