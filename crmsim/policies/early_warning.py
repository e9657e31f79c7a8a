"""Churn early warning and retention offers (流失预警 / 客户挽留).

Every ``warning.every`` the firm scans its *active file* — contractual: the customers whose
contracts run; non-contractual: everyone who bought within ``active_window``, because a shop
never sees a customer leave, only silence — and ranks the customers by a targeting value
(:class:`crmsim.scenario.EarlyWarning`):

* ``score`` — what a CRM system can compute from its own records, weighted (see *signals*);
* ``risk`` — the true churn probability of the next decision (1 for a customer already gone);
* ``uplift`` — the true reduction of that probability an offer would bring (0 for a customer
  already gone): targeting the *persuadable* rather than the riskiest (Ascarza 2018,
  "Retention futility: targeting high-risk customers might be ineffective", JMR 55(1));
* ``random`` — a lottery, the benchmark that any warning must beat.

The customers at or above ``threshold`` (or the ``top_k`` highest) are *warned*; those of them
that their tier allows get a retention offer (cost ``offer_cost`` × its strength), which pushes their
intention to leave
by ``offer_effect`` (× price sensitivity) for ``offer_duration``.

**Signals** — what real firms see (Neslin, Gupta, Kamakura, Lu & Mason 2006; the Duke /
Teradata churn tournament): silence beyond the customer's own rhythm (non-contractual: recency /
own mean gap − 1); *usage* (contractual: minutes, data, logins — a customer who wants to leave
uses less: usage = exp(level_i − ``usage_response`` · logit intention + ``usage_noise`` · z),
so the firm sees intention through noise, both as a low level and as a drop against the
customer's own past); a *satisfaction survey* that only some answer (``survey_rate``, with
``survey_noise``; the drop since the last answer and the level below 0); complaints, failed
recoveries (unresolved or abandoned) and unanswered calls since the last scan; tenure (new
customers leave more: the risky ones have not left yet); and what a member would forfeit (from
the firm's programme records). Each scan's signals are a table of the run
(``warning_signals``), the firm's view of its file.

Because the simulation knows the truth, the warning is scored against what really happened: a
warned customer is a true alarm if it churns within ``window`` after the scan, is already gone,
or *would have churned but for the offer* — every churn decision taken under an offer also
computes the decision without it (same uniform draw), and a flipped decision is recorded as a
``saved`` event. Precision, recall and lift (precision / base rate) follow, and the
*top-decile lift* that churn-modelling contests report (churn among the 10% highest-ranked over
the base rate; real churn models reach about 2–3); offers to customers who would have stayed
anyway are *wasted*, offers to customers already gone are *too late*.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy import special

from crmsim.distributions import GammaDist, Probability
from crmsim.model import churn as churn_rule
from crmsim.model.policy import Policy
from crmsim.results import CHURN, event_kind
from crmsim.schema import Section

OFFER, SAVED = event_kind("offer"), event_kind("saved")
#: the random stream of random targeting (owner: the scan's number)
WARNING_PURPOSE = 12
#: the noise of the signals the firm observes (rows: customers; block: the scan's number + 1;
#: block 0 holds each customer's own usage level)
SIGNALS_PURPOSE = 14


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
                                  "the customer's own rhythm (non-contractual)")
    usage_weight: float = Field(0.0, ge=0, description="score per unit of −log usage "
                                "(contractual; low usage is risky)")
    usage_drop_weight: float = Field(0.0, ge=0, description="score per unit of log usage lost "
                                     "against the customer's own past (contractual)")
    satisfaction_weight: float = Field(5.0, ge=0, description="score per unit of surveyed "
                                       "satisfaction lost since the customer's last answer")
    dissatisfaction_weight: float = Field(
        0.0, ge=0, description="score per unit of surveyed satisfaction below 0")
    complaint_weight: float = Field(1.0, ge=0, description="score per complaint since the last "
                                    "scan")
    failed_recovery_weight: float = Field(
        0.0, ge=0, description="score per complaint left unresolved or abandoned since the last "
        "scan")
    abandoned_weight: float = Field(0.0, ge=0, description="score per unanswered call since "
                                    "the last scan")
    tenure_weight: float = Field(0.0, ge=0, description="score × e^(−tenure / tenure_scale): "
                                 "new customers leave more")
    tenure_scale: float = Field(180.0, gt=0, description="time scale of the tenure signal")
    lock_in_weight: float = Field(0.0, ge=0, description="score lowered per unit of money a "
                                  "member would forfeit (points, tier benefits)")
    usage_response: float = Field(
        1.0, ge=0, description="how strongly usage falls with the wish to leave (what the data "
        "can reveal)")
    usage_noise: float = Field(0.5, ge=0, description="sd of log usage from period to period")
    usage_spread: float = Field(0.5, ge=0, description="sd of customers' own usage levels")
    survey_rate: Probability = Field(0.3, description="share of customers who answer the "
                                     "satisfaction survey at a scan")
    survey_noise: float = Field(0.1, ge=0, description="sd of a survey answer around the "
                                "customer's satisfaction")
    survey_cost: float = Field(0.2, ge=0, description="cost of one survey answer")
    targeting: Literal["score", "risk", "uplift", "random"] = Field(
        "score", description="what ranks customers for offers")
    threshold: float | None = Field(None, description="offer when the targeting value is at "
                                    "least this")
    top_k: int | None = Field(None, ge=0, description="offer to the k highest per scan")
    offer_cost: float = Field(5.0, ge=0, description="cost of an offer per unit of its effect: "
                              "one offer costs offer_cost × |offer_effect| (stronger offers cost "
                              "more)")
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
        "warning_top_decile_lift": "churn within the window among the 10% ranked highest, over "
        "the base rate (real churn models: about 2–3)",
        "offers": "retention offers made",
        "offers_saved": "churn decisions an offer reversed",
        "offers_wasted": "offers to active customers who would have stayed anyway",
        "offers_too_late": "offers to customers already gone (non-contractual silence)",
    }
    COSTS = {"offer_cost": "retention offers × offer_cost × |offer_effect|",
             "survey_cost": "satisfaction survey answers × their cost"}
    EVENTS = ("offer", "saved")
    PURPOSES = (WARNING_PURPOSE, SIGNALS_PURPOSE)

    def __init__(self, market):
        super().__init__(market)
        rate = market.scenario.purchase.rate
        mean_rate = rate.mean if isinstance(rate, GammaDist) else float(rate)
        self.prior_gap = 1.0 / mean_rate if mean_rate > 0 else math.inf
        # the firm's memory, by customer id: last survey answer, mean log usage so far and the
        # number of usage readings, and its records at the last scan
        self.survey: dict[int, float] = {}
        self.usage_mean: dict[int, tuple[float, int]] = {}
        self.seen: dict[str, np.ndarray] = {}
        # per scan: (time, customer ids, warned, active at the scan, targeting values)
        self.scans: list[tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.signal_log: list[pd.DataFrame] = []
        self.latest_score = np.zeros(0)  # by customer id: the score of its last scan (NaN: none)
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

    def _since_last_scan(self, records: dict[str, np.ndarray], key: str,
                         ids: np.ndarray) -> np.ndarray:
        """How much a per-customer count of the firm's records grew since the last scan."""
        now = records.get(key)
        if now is None:
            return np.zeros(len(ids))
        before = self.seen.get(key, np.zeros(0))
        previous = np.zeros(len(ids))
        known = ids < len(before)
        previous[known] = before[ids[known]]
        return now[ids] - previous

    def signals(self, file: list, now: float, scan: int,
                records: dict[str, np.ndarray]) -> pd.DataFrame:
        """What the firm sees of each customer in its file at this scan (see the module
        docstring), one row per customer; updates the firm's memory of surveys and usage."""
        market, cfg = self.market, self.cfg
        n_all = len(market.customers)
        ids = np.array([c.id for c in file], dtype=np.int64)
        noise = market.streams.uniform_rows(SIGNALS_PURPOSE, scan + 1, 0, n_all, 4)[ids]
        table = pd.DataFrame({"customer_id": ids})
        table["tenure"] = now - np.array([c.acquired_at for c in file])
        # a survey: answered by some active customers, with noise
        answered = np.array([c.active for c in file]) & (noise[:, 0] < cfg.survey_rate)
        answer = (np.array([c.satisfaction for c in file])
                  + cfg.survey_noise * special.ndtri(noise[:, 1]))
        previous = np.array([self.survey.get(cid, np.nan) for cid in ids.tolist()])
        table["survey"] = np.where(answered, answer, np.nan)
        table["survey_drop"] = np.where(answered & ~np.isnan(previous), previous - answer, 0.0)
        known = np.where(answered, answer, previous)
        table["survey_level"] = known
        for cid, value in zip(ids[answered].tolist(), answer[answered].tolist(), strict=True):
            self.survey[cid] = value
        if cfg.survey_cost and answered.any():
            market.recorder.book(now, "survey_cost", cfg.survey_cost * int(answered.sum()))
        # usage (contracts): intention shows through noise, around the customer's own level
        if market.contractual:
            level = cfg.usage_spread * special.ndtri(
                market.streams.uniform_rows(SIGNALS_PURPOSE, 0, 0, n_all, 4)[ids, 0])
            intention = np.array([self._intention_logit(c) for c in file])
            log_usage = (level - cfg.usage_response * intention
                         + cfg.usage_noise * special.ndtri(noise[:, 2]))
            past = [self.usage_mean.get(cid, (math.nan, 0)) for cid in ids.tolist()]
            mean = np.array([m for m, _ in past])
            table["usage"] = np.exp(log_usage)
            table["usage_drop"] = np.where(np.isnan(mean), 0.0, mean - log_usage)
            for cid, value, (m, k) in zip(ids.tolist(), log_usage.tolist(), past, strict=True):
                self.usage_mean[cid] = (value if k == 0 else m + (value - m) / (k + 1), k + 1)
        else:
            table["usage"] = table["usage_drop"] = np.nan
            last = records["last_purchase"][ids]
            purchases = np.array([c.purchases for c in file])
            acquired = np.array([c.acquired_at for c in file])
            gap = np.where(purchases > 1, (last - acquired) / np.maximum(purchases - 1, 1),
                           self.prior_gap)
            with np.errstate(divide="ignore", invalid="ignore"):
                table["silence"] = np.where(gap > 0, np.maximum(0.0, (now - last) / gap - 1),
                                            0.0)
        table["complaints"] = self._since_last_scan(records, "complaints", ids)
        table["failed_recoveries"] = self._since_last_scan(records, "failed_recoveries", ids)
        table["abandoned"] = self._since_last_scan(records, "abandoned_contacts", ids)
        lock_in = records.get("lock_in_value")
        table["lock_in_value"] = lock_in[ids] if lock_in is not None else 0.0
        return table

    def _intention_logit(self, customer) -> float:
        """The customer's wish to leave now, logit(intention) (what usage reveals)."""
        terms, _ = self.market.churn_drivers(customer)
        return churn_rule.logit(customer.churn_propensity) + sum(terms.values())

    def score(self, signals: pd.DataFrame) -> np.ndarray:
        """The warning score: the weighted signals (see :class:`EarlyWarning`)."""
        cfg = self.cfg
        value = (cfg.satisfaction_weight * np.maximum(0.0, signals["survey_drop"])
                 + cfg.dissatisfaction_weight * np.maximum(
                     0.0, -signals["survey_level"].fillna(0.0))
                 + cfg.complaint_weight * signals["complaints"]
                 + cfg.failed_recovery_weight * signals["failed_recoveries"]
                 + cfg.abandoned_weight * signals["abandoned"]
                 + cfg.tenure_weight * np.exp(-signals["tenure"] / cfg.tenure_scale)
                 - cfg.lock_in_weight * signals["lock_in_value"])
        if self.market.contractual:
            value = value + (cfg.usage_weight * -np.log(signals["usage"])
                             + cfg.usage_drop_weight * np.maximum(0.0, signals["usage_drop"]))
        else:
            value = value + cfg.recency_weight * signals["silence"]
        return value.to_numpy(dtype=float)

    def offer_push(self, customer) -> float:
        """What an offer adds to this customer's churn index."""
        effect = self.cfg.offer_effect
        return effect * customer.price_sensitivity if self.cfg.response == (
            "price_sensitivity") else effect

    def _drivers_without_offer(self, customer) -> tuple[float, float]:
        """The customer's intention push and barrier now, leaving out a running offer."""
        terms, barriers = self.market.churn_drivers(customer)
        terms.pop("retention_offer", None)
        return sum(terms.values()), sum(barriers.values())

    def risk(self, customer) -> float:
        """True probability that the customer's next decision is to leave (1 if gone)."""
        if not customer.active:
            return 1.0
        return churn_rule.probability(customer.churn_propensity,
                                      *self._drivers_without_offer(customer))

    def uplift(self, customer) -> float:
        """True reduction of the next decision's churn probability by an offer (0 if gone)."""
        if not customer.active:
            return 0.0
        push, barrier = self._drivers_without_offer(customer)
        theta = customer.churn_propensity
        return (churn_rule.probability(theta, push, barrier)
                - churn_rule.probability(theta, push + self.offer_push(customer), barrier))

    def targeting_values(self, file: list, now: float, scan: int,
                         records: dict[str, np.ndarray],
                         signals: pd.DataFrame | None = None) -> np.ndarray:
        how = self.cfg.targeting
        if how == "random":
            stream = self.market.streams.stream(WARNING_PURPOSE, scan, "uniform")
            return np.array([stream.next() for _ in file])
        if how == "score":
            if signals is None:
                signals = self.signals(file, now, scan, records)
            return self.score(signals)
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
        signals = self.signals(file, now, number, records)
        values = self.targeting_values(file, now, number, records, signals)
        warned = self.warned(values)
        active = np.array([c.active for c in file], dtype=bool)
        self.scans.append((now, signals["customer_id"].to_numpy(), warned, active, values))
        signals.insert(0, "time", now)
        signals["score"] = self.score(signals)
        signals["warned"] = warned
        self._remember(signals["customer_id"].to_numpy(), signals["score"].to_numpy())
        self.signal_log.append(signals)
        for c, hit in zip(file, warned, strict=True):
            care = c.treatment
            if not hit or (care is not None and care.offer is not None and care.offer[0] > now):
                continue
            if care is not None and care.tier_level is not None and (
                    not care.tier_level.retention_offers):
                continue  # the customer's value tier gets no retention offers
            self._offer(c, now)
        self.seen = records

    def _offer(self, customer, now: float) -> None:
        cost = self.cfg.offer_cost * abs(self.cfg.offer_effect)
        self.market.recorder.book(now, "offer_cost", cost)
        self.market.recorder.event(now, customer.id, OFFER, cost)
        self.offer_log.append((now, customer.id, customer.active))
        # the firm's record: no second offer while this one runs. To a customer who already
        # left (unseen in a shop) it reaches nobody: churn decisions are only taken by actives.
        customer.treated().offer = (now + self.cfg.offer_duration, self.offer_push(customer))

    def _remember(self, ids: np.ndarray, scores: np.ndarray) -> None:
        """Keep each scanned customer's latest score in the firm's records."""
        n = len(self.market.customers)
        if len(self.latest_score) < n:
            grown = np.full(n, np.nan)
            grown[: len(self.latest_score)] = self.latest_score
            self.latest_score = grown
        self.latest_score[ids] = scores

    # ------------------------------------------------------------------ hooks

    def records(self, n: int) -> dict[str, np.ndarray]:
        """The firm's records gain each customer's latest warning score (``warning_score``;
        NaN for a customer no scan has scored yet): a CRM system keeps it beside the customer,
        for other policies to target with (campaigns)."""
        score = np.full(n, np.nan)
        known = min(n, len(self.latest_score))
        score[:known] = self.latest_score[:known]
        return {"warning_score": score}

    def churn_terms(self, customer, terms: dict) -> None:
        """A running offer pushes the churn index (and lapses when it ends)."""
        care = customer.treatment
        if care is not None and care.offer is not None:
            if care.offer[0] >= self.market.env.now:
                terms["retention_offer"] = care.offer[1]
            else:
                care.offer = None

    def churn_decided(self, customer, u: float, churned: bool, terms: dict,
                      barriers: dict) -> None:
        """A decision the offer reversed (stay with it, leave without it, same draw) is a
        ``saved`` event."""
        if not churned and "retention_offer" in terms:
            push = sum(terms.values())
            if u < churn_rule.probability(customer.churn_propensity,
                                          push - terms["retention_offer"],
                                          sum(barriers.values())):
                self.market.recorder.event(self.market.env.now, customer.id, SAVED)

    def churned(self, customer) -> None:
        if customer.treatment is not None:
            customer.treatment.offer = None

    def tables(self):
        def signals():
            if not self.signal_log:
                return pd.DataFrame(columns=["time", "customer_id", "score", "warned"])
            return pd.concat(self.signal_log, ignore_index=True)

        return {"warning_signals": signals}

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
        return warning_kpis(self.scans, self.offer_log, np.array(rec.customer, np.int64),
                            np.array(rec.time, float), np.array(rec.kind, np.int8),
                            self.cfg.window, self.cfg.offer_duration, horizon)


def top_decile(values: np.ndarray) -> np.ndarray:
    """The 10% ranked highest (ties broken by order, as ``top_k`` does)."""
    mask = np.zeros(len(values), dtype=bool)
    mask[np.argsort(-np.asarray(values), kind="stable")[: math.ceil(0.1 * len(values))]] = True
    return mask


def warning_kpis(scans, offer_log, customer_ids, times, kinds, window: float,
                 offer_duration: float, horizon: float) -> dict[str, float]:
    """Score the warning against the truth (NaN and zeros when there was no scan).

    ``scans`` are (time, ids, warned, active, targeting values) per scan; ``offer_log`` (time, id, active) per
    offer; ``customer_ids, times, kinds`` the event columns. Scans whose window reaches past the
    horizon are left out (their outcome is not known yet).
    """
    exit_mask = (kinds == CHURN) | (kinds == SAVED)
    exit_ids, exit_times = customer_ids[exit_mask], times[exit_mask]
    exits: dict[int, list[float]] = {}
    for cid, t in zip(exit_ids.tolist(), exit_times.tolist(), strict=True):
        exits.setdefault(cid, []).append(t)
    true_alarm = warned_n = positives = scanned = top_n = top_positive = 0
    for t, ids, warned, active, values in scans:
        if t + window > horizon:
            continue
        inside = (exit_times > t) & (exit_times <= t + window)
        positive = ~active | np.isin(ids, exit_ids[inside])
        true_alarm += int((positive & warned).sum())
        warned_n += int(warned.sum())
        positives += int(positive.sum())
        scanned += len(ids)
        top = top_decile(values)
        top_n += int(top.sum())
        top_positive += int((positive & top).sum())
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
        "warning_top_decile_lift": (top_positive / top_n / base_rate if top_n and base_rate
                                    else math.nan),
        "offers": len(offer_log),
        "offers_saved": int((kinds == SAVED).sum()),
        "offers_wasted": wasted,
        "offers_too_late": too_late,
    }
