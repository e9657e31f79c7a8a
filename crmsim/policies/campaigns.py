"""Campaigns (客户沟通 / 营销活动): offers and messages to a target group, measured against a
control group — and against the truth.

A campaign (``campaigns.plan``) runs at a time ``at`` (and every ``every`` after it, if given):
the firm picks a *target group* (目标客户) from its active file by a rule, holds out a random
*control group* (对照组, ``control_share`` of the target group, kept for every wave of the
campaign), and contacts the others through a *channel* — email, SMS or a phone call, each with a
cost per contact, a reach (the share who read or answer) and a response — with an *offer*: a
message only, a discount (a share off the next purchase in the campaign's ``window``) or a points
bonus (worth ``value`` to the firm, granted on that purchase). Every contact costs money; a
discount costs revenue, a points bonus is booked as campaign cost.

Target rules (``target.rule``), all on what the firm can see unless named an oracle:

* ``all`` — the whole active file (mass marketing, 大众营销); ``random`` — a random ``share``
  (or ``top`` customers) of it;
* ``segment`` / ``tier`` — named segments, or value tiers (关键 / 普通 / 小客户, tiering);
  with ``share`` or ``top`` (also for ``all``), a random sample of the group;
* ``rfm`` — RFM cells (``cells: ["5**"]``: R, F, M quintile scores over the active file, ``*``
  any), or the highest RFM totals (ties by money spent) with ``top`` / ``share`` / ``threshold``;
* ``score`` — the churn warning's score: the latest score of each customer in the firm's
  records (``market.customer_records()["warning_score"]``, kept by the warning scan; needs
  ``warning.enabled`` — with ``warning.top_k: 0`` the scan scores without making offers);
* ``purchase_probability`` — an oracle *response* model: the true probability that the customer
  buys in the window without being contacted (1 − e^(−λ·window), 0 for a customer who left):
  the "most likely buyers" (Ascarza 2018);
* ``uplift`` — an uplift model's ranking: ``model: oracle`` ranks by the true expected
  incremental margin of a contact (from the customer's hidden type, below); ``model:
  two_model`` is what a firm can fit — a two-model uplift table
  (:func:`crmsim.analysis.cell_uplift`) of the share who bought in the window by R × F level
  (low 1–2, mid 3, high 4–5), learned from the treated and control customers of an earlier
  campaign (``learn_from``), typically a random pilot.

Customers answer after hidden *response types* (Radcliffe & Surry 2011; Kane, Lo & Zheng 2014),
drawn once per customer from its own stream with shares ``response_types``. The draw is tilted
toward the customer's purchase rate (``buying_tilt``, a Gaussian copula with the λ quantile):
along a latent scale the types are lost causes, persuadables, do-not-disturbs, sure things, so
heavy buyers are more often sure things and do-not-disturbs (the shares stay as given). A
customer reached by a contact:

* *persuadable* (可说服的) — buys because of it: with probability ``response`` × the offer's
  ``appeal`` it makes one extra purchase after an exponential delay (mean ``response_delay``),
  if that falls in the window; it also takes up the offer;
* *sure thing* (必然购买) — buys anyway (its own purchases go on as ever) and takes up the offer
  on its next purchase in the window: a discount or bonus it did not need;
* *lost cause* (无动于衷) — does nothing;
* *do-not-disturb* (勿扰型) — is annoyed: satisfaction falls by ``annoyance.satisfaction`` and
  its churn index is pushed by ``annoyance.churn`` for ``annoyance.duration``, both × the
  channel's ``annoyance`` (a phone call annoys most).

*Contact fatigue*: each contact a customer received in the last ``fatigue.window`` multiplies
the reach by ``fatigue.decay``; beyond ``fatigue.tolerance`` such contacts, a reached customer
of any type loses ``fatigue.annoyance`` × the channel's annoyance of satisfaction.

The extra purchase of a persuadable is simulated as the birthday coupon's (superposition of
Poisson processes): an ordinary purchase (paid, experienced, possibly a failure) after which no
drop-out decision is taken. It draws its spend, experience and failure from this policy's
stream (``Market.purchase(customer, uniforms)``), not from the customer's per-event draws, so
the customer's regular purchases after it are exactly those of the counterfactual run: the
difference between the runs is the extra purchase and what it did to the customer.

**Measured and true incremental revenue.** For each wave the firm compares the revenue of the
contacted and the held-out customers in the window, n_T · (ȳ_T − ȳ_C) with a 95% interval
(:func:`crmsim.analysis.incremental_estimate`): ``campaign_incremental_revenue_measured``. The
model knows the truth: the policy declares a counterfactual (``COUNTERFACTUAL``), so
:func:`crmsim.simulate` runs the same scenario without campaigns with the same seed; the
contacted customers' revenue in the window minus their revenue in that twin run — the same
customers, the same random numbers, no campaign — is ``campaign_incremental_revenue_true``.
Both count the window only: a do-not-disturb who leaves later costs revenue after it (set a
longer window to see it; the customers table's ``campaign_revenue_effect`` is the whole run's).
Incremental profit = incremental revenue × ``economics.margin_rate`` − campaign cost; ROI =
incremental profit / campaign cost. ``campaign_profit_effect_true`` is the whole truth: the
run's profit minus the counterfactual run's (every effect up to the horizon, on every
customer) — what a paired comparison with campaigns switched off would give. The waves are
``res.table("campaigns")``.

Non-contractual settings only (a campaign sells a purchase; a subscription has none to sell).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy import special

from crmsim.analysis.rfm import quantile_scores
from crmsim.analysis.uplift import cell_uplift, incremental_estimate
from crmsim.distributions import Probability
from crmsim.model import churn as churn_rule
from crmsim.model.policy import Policy
from crmsim.results import PAID_KINDS, event_kind
from crmsim.schema import Section
from crmsim.streams import N_COLUMNS

CONTACT, HOLDOUT = event_kind("campaign_contact"), event_kind("campaign_holdout")
#: each customer's streams: its response type (rows), control-group and random-target draws
#: per campaign (rows), and its draws per contact (a stream: reach, response, delay)
CAMPAIGN_PURPOSE = 21

#: the hidden response types, in their order along the latent buying scale
RESPONSE_TYPES = ("lost_cause", "persuadable", "do_not_disturb", "sure_thing")
LOST_CAUSE, PERSUADABLE, DO_NOT_DISTURB, SURE_THING = range(4)
CHANNELS = ("email", "sms", "phone")
OFFERS = ("message", "discount", "points")
RULES = ("all", "random", "segment", "tier", "rfm", "score", "purchase_probability", "uplift")
#: rules that rank customers (they need one of top, share, threshold)
RANKING_RULES = ("random", "score", "purchase_probability", "uplift")
_CELL_DIGITS = "12345*"
#: every contact takes the same number of draws (common random numbers): reach, response, delay
#: and the uniforms of the purchase it may cause
_DRAWS_PER_CONTACT = 3 + N_COLUMNS


# --------------------------------------------------------------------------- the section


class ResponseTypes(Section):
    """Shares of the hidden response types (they sum to 1)."""

    persuadable: Probability = Field(0.2, description="buy only if contacted")
    sure_thing: Probability = Field(0.3, description="buy anyway; take the offer they did not "
                                    "need")
    lost_cause: Probability = Field(0.4, description="never respond")
    do_not_disturb: Probability = Field(0.1, description="contact annoys them: lower "
                                        "satisfaction, higher churn")

    @model_validator(mode="after")
    def _sum_to_one(self):
        total = self.persuadable + self.sure_thing + self.lost_cause + self.do_not_disturb
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"response type shares must sum to 1, they sum to {total:g}")
        return self


class Channel(Section):
    """A contact channel: what a contact costs, whom it reaches, how it moves them."""

    cost: float = Field(ge=0, description="cost of one contact")
    reach: Probability = Field(description="share of contacts read or answered")
    response: Probability = Field(description="a reached persuadable buys with this "
                                  "probability (× the offer's appeal)")
    annoyance: float = Field(ge=0, description="multiplies the annoyance of do-not-disturbs "
                             "and of fatigue")


class Channels(Section):
    """Email (电子邮件), SMS (短信) and phone calls (电话): cost, reach, response, annoyance."""

    email: Channel = Field(default_factory=lambda: Channel(
        cost=0.05, reach=0.25, response=0.6, annoyance=0.5))
    sms: Channel = Field(default_factory=lambda: Channel(
        cost=0.1, reach=0.6, response=0.5, annoyance=1.0))
    phone: Channel = Field(default_factory=lambda: Channel(
        cost=2.0, reach=0.5, response=0.9, annoyance=2.5))


class Appeal(Section):
    """How strongly each offer draws a reached persuadable (× the channel's response)."""

    message: Probability = Field(0.5, description="a message only")
    discount: Probability = Field(1.0, description="a discount")
    points: Probability = Field(0.8, description="a points bonus")


class Annoyance(Section):
    """What a contact does to a reached do-not-disturb (× the channel's annoyance)."""

    satisfaction: float = Field(0.1, ge=0, description="drop of satisfaction")
    churn: float = Field(1.0, ge=0, description="push on the churn index while it lasts")
    duration: float = Field(60.0, gt=0, description="how long the churn push lasts")


class Fatigue(Section):
    """Contact fatigue (营销疲劳): too many contacts in a short time."""

    window: float = Field(30.0, gt=0, description="contacts within this count as recent")
    decay: Probability = Field(0.8, description="reach × this per recent contact")
    tolerance: int = Field(2, ge=0, description="recent contacts tolerated before annoyance")
    annoyance: float = Field(0.05, ge=0, description="satisfaction drop per contact beyond "
                             "the tolerance (× the channel's annoyance)")


class Offer(Section):
    """What a contact offers: a message only, a discount or a points bonus."""

    kind: Literal["message", "discount", "points"] = Field(
        "message", description="message, discount or points")
    value: float = Field(0.0, ge=0, description="discount: share off the next purchase in the "
                         "window; points: money value of the bonus to the firm")

    @model_validator(mode="after")
    def _value_fits(self):
        if self.kind == "discount" and self.value > 1:
            raise ValueError(f"a discount's value is a share of the price: value {self.value:g} "
                             "must be at most 1")
        return self


class Target(Section):
    """Who a campaign is for: a rule on the firm's active file (see ``rule``)."""

    rule: Literal["all", "random", "segment", "tier", "rfm", "score",
                  "purchase_probability", "uplift"] = Field(
        "all", description="all, random, segment, tier, rfm (cells or top RFM totals), score "
        "(the warning's), purchase_probability (oracle response model), uplift")
    share: Probability | None = Field(None, description="the top share of the candidates (all, "
                                      "random, segment, tier: a random share)")
    top: int | None = Field(None, ge=0, description="the top k candidates (all, random, "
                            "segment, tier: k at random)")
    threshold: float | None = Field(None, description="candidates whose value is at least this")
    segments: list[str] = Field(default_factory=list, description="segment rule: segment names")
    tiers: list[Literal["key", "ordinary", "small"]] = Field(
        default_factory=list, description="tier rule: value tiers (needs tiering)")
    cells: list[str] = Field(default_factory=list, description="rfm rule: cells of R, F, M "
                             "scores 1–5 or * (any), e.g. '5**'")
    model: Literal["oracle", "two_model"] = Field(
        "oracle", description="uplift rule: oracle (true expected uplift) or two_model (fitted "
        "on an earlier campaign's treated and control customers)")
    learn_from: str | None = Field(None, description="two_model: the campaign to learn from")

    @model_validator(mode="after")
    def _rule_has_what_it_needs(self):
        given = [k for k in ("share", "top", "threshold") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of share, top and threshold (got "
                             f"{', '.join(given)})")
        rule = self.rule
        if rule in RANKING_RULES and not given:
            raise ValueError(f"rule '{rule}' ranks customers: give one of share, top or "
                             "threshold")
        if rule in ("all", "random", "segment", "tier") and self.threshold is not None:
            raise ValueError(f"rule '{rule}' has no value to compare with a threshold: give "
                             "share or top (a random sample of the group)")
        if rule == "segment" and not self.segments:
            raise ValueError("rule 'segment' needs segments: [names]")
        if rule == "tier" and not self.tiers:
            raise ValueError("rule 'tier' needs tiers: [key, ordinary or small]")
        if rule == "rfm" and not (self.cells or given):
            raise ValueError("rule 'rfm' needs cells (e.g. ['5**']) or one of share, top, "
                             "threshold")
        for cell in self.cells:
            if len(cell) != 3 or any(ch not in _CELL_DIGITS for ch in cell):
                raise ValueError(f"cells: '{cell}' is not an RFM cell: three characters, each "
                                 "a score 1–5 or * (any), e.g. '5**' or '455'")
        if rule == "uplift" and self.model == "two_model" and not self.learn_from:
            raise ValueError("model 'two_model' needs learn_from: the campaign whose treated "
                             "and control customers it learns from")
        return self


class Campaign(Section):
    """One campaign of the plan: when, through which channel, what offer, to whom."""

    at: float = Field(0.0, ge=0, description="time of the (first) wave")
    every: float | None = Field(None, gt=0, description="repeat every this (null: once)")
    until: float | None = Field(None, ge=0, description="no wave after this (null: the "
                                "horizon)")
    channel: Literal["email", "sms", "phone"] = Field(
        "email", description="email, sms or phone (see campaigns.channels)")
    offer: Offer = Field(default_factory=Offer)
    target: Target = Field(default_factory=Target)
    control_share: float = Field(
        0.1, ge=0, lt=1, description="share of the target group held out as a control group, "
        "0 ≤ share < 1 (0: no measurement)")
    window: float = Field(30.0, gt=0, description="the offer runs and the response is measured "
                          "for this long after a contact")

    @model_validator(mode="after")
    def _waves_fit(self):
        if self.every is not None and self.window > self.every:
            raise ValueError(f"window {self.window:g} is longer than every {self.every:g}: the "
                             "windows of a campaign's waves must not overlap")
        if self.until is not None and self.until < self.at:
            raise ValueError(f"until {self.until:g} is before at {self.at:g}")
        return self


class Campaigns(Section):
    """Campaigns (客户沟通): offers through channels to target groups, with control groups.

    ``plan`` names the campaigns, each with a time (``at``, ``every``), a ``channel`` (email,
    sms, phone), an ``offer`` (message, discount, points), a ``target`` rule and a
    ``control_share`` held out for measurement. Customers answer after hidden response types
    (persuadable, sure thing, lost cause, do-not-disturb) drawn with ``response_types``; contact
    fatigue lowers reach. The model's counterfactual (the same run without campaigns) gives the
    true incremental revenue beside the measured one.
    """

    enabled: bool = Field(False, description="switch campaigns on")
    plan: dict[str, Campaign] = Field(default_factory=dict, description="the campaigns, by "
                                      "name")
    response_types: ResponseTypes = Field(default_factory=ResponseTypes)
    buying_tilt: float = Field(0.7, ge=0, le=1, description="how strongly the response type "
                               "follows the purchase rate (0: independent)")
    response_delay: float = Field(5.0, gt=0, description="mean time from a contact to a "
                                  "persuadable's purchase")
    active_window: float = Field(365.0, gt=0, description="the active file: customers who "
                                 "bought within this")
    min_cell: int = Field(10, ge=1, description="two_model: customers needed in each arm of a "
                          "cell, else the overall uplift is used")
    channels: Channels = Field(default_factory=Channels)
    appeal: Appeal = Field(default_factory=Appeal)
    annoyance: Annoyance = Field(default_factory=Annoyance)
    fatigue: Fatigue = Field(default_factory=Fatigue)


# --------------------------------------------------------------------------- pure parts


def response_types(uniform: np.ndarray, rate_quantile: np.ndarray, shares: ResponseTypes,
                   tilt: float) -> np.ndarray:
    """Hidden response types (codes, in :data:`RESPONSE_TYPES` order) from each customer's own
    uniform and its purchase-rate quantile.

    A Gaussian copula: z = ρ·Φ⁻¹(q) + √(1 − ρ²)·Φ⁻¹(u) is standard normal, so Φ(z) is uniform and
    cutting it at the cumulative shares keeps every type's share exactly; with ρ > 0 customers
    with a higher purchase rate sit higher on the scale (sure things, do-not-disturbs).
    """
    u = np.clip(np.asarray(uniform, dtype=float), 1e-12, 1 - 1e-12)
    if tilt:
        q = np.clip(np.asarray(rate_quantile, dtype=float), 1e-12, 1 - 1e-12)
        u = special.ndtr(tilt * special.ndtri(q) + math.sqrt(1 - tilt**2) * special.ndtri(u))
    order = [shares.lost_cause, shares.persuadable, shares.do_not_disturb]
    edges = np.cumsum(order)
    return np.searchsorted(edges, u, side="right").astype(np.int8)


def rfm_levels(scores: np.ndarray) -> np.ndarray:
    """Quintile scores 1–5 as levels: 'l' (1–2), 'm' (3), 'h' (4–5)."""
    return np.array(["l", "l", "m", "h", "h"])[np.asarray(scores) - 1]


def cell_matches(r: np.ndarray, f: np.ndarray, m: np.ndarray, cells: list[str]) -> np.ndarray:
    """Which customers (R, F, M scores) fall in any of the RFM ``cells`` ('5**', '455')."""
    hit = np.zeros(len(r), dtype=bool)
    for cell in cells:
        inside = np.ones(len(r), dtype=bool)
        for score, ch in zip((r, f, m), cell, strict=True):
            if ch != "*":
                inside &= score == int(ch)
        hit |= inside
    return hit


def window_revenue(times: np.ndarray, ids: np.ndarray, amounts: np.ndarray, start: float,
                   end: float, n: int) -> np.ndarray:
    """Revenue per customer id (length ``n``) of payments in (start, end]."""
    inside = (times > start) & (times <= end)
    keep = ids[inside]
    keep_ok = keep < n
    return np.bincount(keep[keep_ok], weights=amounts[inside][keep_ok], minlength=n)[:n]


@dataclass
class Wave:
    """What the firm did in one wave of a campaign (and what it needs to measure it)."""

    campaign: str
    number: int
    time: float
    window: float
    channel: str
    offer: str
    rule: str
    file: int  # customers in the active file
    treated: np.ndarray  # customer ids contacted
    control: np.ndarray  # customer ids held out
    cost: float  # contact costs
    cells: dict[int, str]  # R × F level of each targeted customer (for a two-model uplift)


# --------------------------------------------------------------------------- the policy


class CampaignPolicy(Policy):
    """The campaigns of one run (see the module docstring)."""

    SECTIONS = {"campaigns": Campaigns}
    KPIS = {
        "campaign_contacts": "customers contacted by campaigns (over all waves)",
        "campaign_held_out": "customers held out of campaigns as control groups",
        "campaign_discount": "revenue given away as campaign discounts",
        "campaign_purchases": "extra purchases persuadables made because of a contact (truth)",
        "campaign_annoyed": "contacts that annoyed a do-not-disturb (truth)",
        "campaign_incremental_revenue_measured": "treated vs control: n_T × (mean revenue of "
        "the contacted − of the held-out) in each wave's window, summed (NaN if a wave held "
        "out nobody: without a control group there is nothing to measure against)",
        "campaign_incremental_revenue_true": "the contacted customers' revenue in each window "
        "minus theirs in the model's counterfactual (same customers, same random numbers, no "
        "campaign), summed",
        "campaign_incremental_profit_measured": "measured incremental revenue × margin rate − "
        "campaign cost",
        "campaign_incremental_profit_true": "true incremental revenue × margin rate − campaign "
        "cost",
        "campaign_roi_measured": "measured incremental profit / campaign cost",
        "campaign_roi_true": "true incremental profit / campaign cost",
        "campaign_profit_effect_true": "profit of the run − profit of the counterfactual run: "
        "every effect of the campaigns up to the horizon, on every customer (later churn of "
        "annoyed customers included)",
    }
    COSTS = {"campaign_cost": "campaign contacts × channel cost, plus points bonuses granted"}
    EVENTS = ("campaign_contact", "campaign_holdout")
    PURPOSES = (CAMPAIGN_PURPOSE,)
    COUNTERFACTUAL = True

    def __init__(self, market):
        super().__init__(market)
        self.types = np.zeros(0, dtype=np.int8)  # hidden response type by customer id
        self.waves: list[Wave] = []
        self.contacts = self.held_out = self.purchases = self.annoyed = 0
        self.discount_given = 0.0
        self._offers: dict[int, tuple[float, str, float]] = {}  # id → (until, kind, value)
        self._annoyance: dict[int, tuple[float, float]] = {}  # id → (until, churn push)
        self._contact_times: dict[int, list[float]] = {}
        self._draws: dict = {}  # customer id → its contact stream
        self._twin: dict[str, np.ndarray] | None = None
        self._rows: pd.DataFrame | None = None

    @classmethod
    def check(cls, scenario) -> None:
        cfg = scenario.campaigns
        if not cfg.enabled:
            return
        if scenario.market.setting != "noncontractual":
            raise ValueError("campaigns.enabled needs market.setting: noncontractual (a "
                             "campaign sells a purchase)")
        if not cfg.plan:
            raise ValueError("campaigns.enabled needs at least one campaign in campaigns.plan")
        segments = list(scenario.customers.segments) or ["all"]
        for name, campaign in cfg.plan.items():
            key = f"campaigns.plan.{name}"
            target = campaign.target
            if campaign.at >= scenario.horizon:
                raise ValueError(f"{key}.at = {campaign.at:g}: at or after the horizon "
                                 f"({scenario.horizon:g}); the campaign would never run")
            missing = [s for s in target.segments if s not in segments]
            if missing:
                raise ValueError(f"{key}.target.segments = {target.segments}: no segment "
                                 f"{', '.join(map(repr, missing))}; segments: "
                                 f"{', '.join(segments)}")
            if target.rule == "score" and not scenario.warning.enabled:
                raise ValueError(f"{key}.target.rule = 'score': the warning score needs "
                                 "warning.enabled: true (the scan keeps each customer's score; "
                                 "warning.top_k: 0 scores without offers)")
            if target.rule == "tier" and not scenario.tiering.enabled:
                raise ValueError(f"{key}.target.tiers = {list(target.tiers)}: value tiers "
                                 "need tiering.enabled: true (tiers: key, ordinary, small)")
            if target.rule == "uplift" and target.model == "two_model":
                cls._check_learning(key, name, target.learn_from, cfg.plan)

    @staticmethod
    def _check_learning(key: str, name: str, source: str, plan: dict) -> None:
        if source == name or source not in plan:
            others = [n for n in plan if n != name]
            raise ValueError(f"{key}.target.learn_from = {source!r}: not another campaign of "
                             f"the plan; campaigns: {', '.join(others) or '(none)'}")
        pilot = plan[source]
        if pilot.control_share == 0:
            raise ValueError(f"{key}.target.learn_from = {source!r}: that campaign holds out no "
                             "control group (control_share 0), so there is nothing to learn "
                             "uplift from")
        if pilot.at + pilot.window > plan[name].at:
            raise ValueError(f"{key}.target.learn_from = {source!r}: its first window ends at "
                             f"{pilot.at + pilot.window:g}, after this campaign starts "
                             f"({plan[name].at:g})")

    # ------------------------------------------------------------------ hooks

    def acquired(self, customers, uniforms, traits) -> None:
        """Each new customer's hidden response type, from its own stream."""
        first = customers[0].id
        if first != len(self.types):
            raise RuntimeError(f"customers acquired out of order: {first} after "
                               f"{len(self.types)}")
        u = self.market.streams.uniform_rows(CAMPAIGN_PURPOSE, 0, first, len(customers), 4)
        codes = response_types(u[:, 0], uniforms["purchase_rate"], self.cfg.response_types,
                               self.cfg.buying_tilt)
        self.types = np.concatenate([self.types, codes])

    def start(self) -> None:
        for number, (name, campaign) in enumerate(self.cfg.plan.items()):
            self.market.env.process(self._run(name, campaign, number))

    def price(self, customer, amount: float) -> float:
        """A campaign discount on the first purchase in its window."""
        offer = self._offers.get(customer.id)
        if offer is None or offer[1] != "discount":
            return amount
        del self._offers[customer.id]
        if self.market.env.now > offer[0]:
            return amount
        self.discount_given += amount * offer[2]
        return amount * (1.0 - offer[2])

    def paid(self, customer, amount: float) -> None:
        """A points bonus, granted (and booked) with the first purchase in its window."""
        offer = self._offers.get(customer.id)
        if offer is None or offer[1] != "points":
            return
        del self._offers[customer.id]
        now = self.market.env.now
        if now <= offer[0]:
            self.market.recorder.book(now, "campaign_cost", offer[2])

    def churn_terms(self, customer, terms: dict) -> None:
        """An annoyed do-not-disturb's push on the churn index, while it lasts."""
        annoyance = self._annoyance.get(customer.id)
        if annoyance is not None:
            if annoyance[0] >= self.market.env.now:
                terms["campaign_annoyance"] = annoyance[1]
            else:
                del self._annoyance[customer.id]

    def churned(self, customer) -> None:
        self._offers.pop(customer.id, None)
        self._annoyance.pop(customer.id, None)

    def counterfactual(self, twin) -> None:
        """Keep the twin run's payments (time, customer, amount): the revenue without
        campaigns."""
        cols = twin.recorder.columns()
        paid = np.isin(cols["kind"], PAID_KINDS)
        self._twin = {"time": cols["time"][paid], "customer_id": cols["customer_id"][paid],
                      "amount": cols["amount"][paid], "customers": len(twin.customers),
                      "costs": sum(twin.recorder.costs.values())}
        self._rows = None

    # ------------------------------------------------------------------ the campaign

    def _run(self, name: str, campaign: Campaign, number: int):
        env = self.market.env
        horizon = self.market.scenario.horizon
        last = horizon if campaign.until is None else min(campaign.until, horizon)
        wave = 0
        while True:
            at = campaign.at + wave * (campaign.every or 0.0)
            if at > last or (wave and campaign.every is None) or at >= horizon:
                return
            yield env.timeout(at - env.now)
            self._wave(name, campaign, wave)
            wave += 1

    def active_file(self, now: float, last_purchase: np.ndarray) -> list:
        """The customers the firm believes active: everyone who bought within
        ``active_window`` (a shop never sees a customer leave)."""
        since = now - self.cfg.active_window
        return [c for c in self.market.customers if last_purchase[c.id] >= since]

    def _wave(self, name: str, campaign: Campaign, number: int) -> None:
        market = self.market
        now = market.env.now
        records = market.customer_records()
        file = self.active_file(now, records["last_purchase"])
        r, f, m = self._rfm(file, now, records)
        targeted = self._select(name, campaign, number, file, now, records, (r, f, m))
        n = len(market.customers)
        holdout = market.streams.uniform_rows(CAMPAIGN_PURPOSE, _block(name), 0, n, 4)[:, 0]
        channel = getattr(self.cfg.channels, campaign.channel)
        levels = dict(zip((c.id for c in file), np.char.add(rfm_levels(r), rfm_levels(f))))
        treated, control = [], []
        for c in targeted:
            if holdout[c.id] < campaign.control_share:
                control.append(c.id)
                market.recorder.event(now, c.id, HOLDOUT, details=name)
            else:
                treated.append(c.id)
                self._contact(c, name, campaign, channel, now)
        self.held_out += len(control)
        self.waves.append(Wave(
            name, number, now, campaign.window, campaign.channel, campaign.offer.kind,
            campaign.target.rule, len(file), np.array(treated, dtype=np.int64),
            np.array(control, dtype=np.int64), channel.cost * len(treated),
            {cid: str(levels[cid]) for cid in (*treated, *control)}))
        self._rows = None

    def _contact(self, c, name: str, campaign: Campaign, channel: Channel, now: float) -> None:
        market, cfg = self.market, self.cfg
        market.recorder.book(now, "campaign_cost", channel.cost)
        market.recorder.event(now, c.id, CONTACT, channel.cost, details=name)
        self.contacts += 1
        recent = self._recent_contacts(c.id, now)
        self._contact_times.setdefault(c.id, []).append(now)
        draws = self._draws.get(c.id)
        if draws is None:
            draws = self._draws[c.id] = market.streams.stream(CAMPAIGN_PURPOSE, c.id)
        u_reach, u_response, u_delay, *purchase = (draws.next()
                                                   for _ in range(_DRAWS_PER_CONTACT))
        if not c.active or u_reach >= channel.reach * cfg.fatigue.decay ** recent:
            return  # gone (the firm cannot tell), or the message was not read
        if recent >= cfg.fatigue.tolerance and cfg.fatigue.annoyance:
            market.add_satisfaction(c, -cfg.fatigue.annoyance * channel.annoyance)
        kind = self.types[c.id]
        offer = campaign.offer
        if kind == DO_NOT_DISTURB:
            self.annoyed += 1
            market.add_satisfaction(c, -cfg.annoyance.satisfaction * channel.annoyance)
            push = cfg.annoyance.churn * channel.annoyance
            running = self._annoyance.get(c.id)
            if running is not None and running[0] >= now:
                push = max(push, running[1])
            self._annoyance[c.id] = (now + cfg.annoyance.duration, push)
        elif kind in (PERSUADABLE, SURE_THING):
            if offer.kind != "message" and offer.value > 0:
                self._offers[c.id] = (now + campaign.window, offer.kind, offer.value)
            if kind == PERSUADABLE and u_response < channel.response * getattr(cfg.appeal,
                                                                               offer.kind):
                delay = -math.log1p(-u_delay) * cfg.response_delay
                if delay <= campaign.window:
                    market.env.process(self._respond(c, delay, purchase))

    def _recent_contacts(self, cid: int, now: float) -> int:
        since = now - self.cfg.fatigue.window
        return sum(1 for t in self._contact_times.get(cid, ()) if t > since)

    def _respond(self, customer, delay: float, uniforms: list[float]):
        """A persuadable's extra purchase: paid and experienced with this policy's draws
        (``uniforms``); no drop-out decision follows it."""
        market = self.market
        yield market.env.timeout(delay)
        if not customer.active:
            return
        self.purchases += 1
        _, _, failure = market.purchase(customer, uniforms)
        if failure is not None and market.recover is not None:
            yield from market.recover(customer, *failure)
        customer.pending_outcome = None  # settled: no decision follows this purchase

    # ------------------------------------------------------------------ targeting

    @staticmethod
    def _rfm(file: list, now: float, records: dict) -> tuple[np.ndarray, ...]:
        """R, F, M quintile scores over the active file (as ``crmsim.analysis.rfm_scores``)."""
        ids = np.array([c.id for c in file], dtype=np.int64)
        recency = now - records["last_purchase"][ids]
        frequency = np.array([c.purchases for c in file], dtype=float)
        return (quantile_scores(recency, higher_is_better=False), quantile_scores(frequency),
                quantile_scores(records["revenue"][ids]))

    def _select(self, name: str, campaign: Campaign, number: int, file: list, now: float,
                records: dict, rfm: tuple) -> list:
        target = campaign.target
        rule = target.rule
        if not file:
            return []
        cut = target.share is not None or target.top is not None or target.threshold is not None
        candidates = np.ones(len(file), dtype=bool)
        if rule in ("all", "random", "segment", "tier"):
            if rule == "segment":
                candidates = np.array([c.segment.name in target.segments for c in file])
            elif rule == "tier":
                candidates = np.array([c.tier in target.tiers for c in file])
            if not cut:
                return [c for c, hit in zip(file, candidates, strict=True) if hit]
            n = len(self.market.customers)
            u = self.market.streams.uniform_rows(CAMPAIGN_PURPOSE, _block(name) + 1 + number,
                                                 0, n, 4)[:, 1]
            values = np.array([u[c.id] for c in file])  # a random sample of the group
        elif rule == "rfm":
            r, f, m = rfm
            if target.cells:
                candidates = cell_matches(r, f, m, target.cells)
            values = (r + f + m) + quantile_scores(records["revenue"][[c.id for c in file]],
                                                   bins=len(file)) / (len(file) + 1)
            if not cut:
                return [c for c, hit in zip(file, candidates, strict=True) if hit]
        elif rule == "score":  # the latest warning score; never scored yet: ranked last
            values = np.nan_to_num(records["warning_score"][[c.id for c in file]],
                                   nan=-np.inf)
        elif rule == "purchase_probability":
            values = np.array([-math.expm1(-c.purchase_rate * campaign.window) if c.active
                               else 0.0 for c in file])
        elif target.model == "oracle":
            values = np.array([self.expected_uplift(c, campaign, now) for c in file])
        else:
            values = self._fitted_uplift(target.learn_from, file, rfm, now)
        return [file[i] for i in _top(values, candidates, target)]

    def expected_uplift(self, customer, campaign: Campaign, now: float) -> float:
        """The oracle: the expected incremental margin of contacting ``customer`` now, less the
        expected cost of its offer, from its hidden type (first order).

        With reach ρ (fatigue included), mean spend s, margin rate μ, purchase rate λ, window w,
        p_own = 1 − e^(−λw) (buys anyway in the window), discount d, bonus b:
        persuadable ρ·[r·(μ·s·(1 − d) − b) − (1 − r)·p_own·(μ·d·s + b)] with r its chance to
        buy because of the contact; sure thing −ρ·p_own·(μ·d·s + b); lost cause 0;
        do-not-disturb −ρ·Δp·λ·D·μ·s·λ·R/2: the rise Δp of its churn probability at each of
        the λ·D decisions the annoyance lasts, times the margin of half the time R left.
        """
        if not customer.active:
            return 0.0
        cfg = self.cfg
        channel = getattr(cfg.channels, campaign.channel)
        reach = channel.reach * cfg.fatigue.decay ** self._recent_contacts(customer.id, now)
        kind = self.types[customer.id]
        if kind == LOST_CAUSE or reach == 0:
            return 0.0
        margin = self.market.scenario.economics.margin_rate
        spend, rate, window = customer.spend_level, customer.purchase_rate, campaign.window
        offer = campaign.offer
        discount = offer.value if offer.kind == "discount" else 0.0
        bonus = offer.value if offer.kind == "points" else 0.0
        p_own = -math.expm1(-rate * window)
        given_away = margin * discount * spend + bonus
        if kind == SURE_THING:
            return -reach * p_own * given_away
        if kind == PERSUADABLE:
            buys = (channel.response * getattr(cfg.appeal, offer.kind)
                    * -math.expm1(-window / cfg.response_delay))
            return reach * (buys * (margin * spend * (1 - discount) - bonus)
                            - (1 - buys) * p_own * given_away)
        terms, barriers = self.market.churn_drivers(customer)
        push, barrier = sum(terms.values()), sum(barriers.values())
        theta = customer.churn_propensity
        rise = (churn_rule.probability(theta, push + cfg.annoyance.churn * channel.annoyance,
                                       barrier)
                - churn_rule.probability(theta, push, barrier))
        left = max(0.0, self.market.scenario.horizon - now)
        decisions = rate * min(cfg.annoyance.duration, left)
        return -reach * rise * decisions * margin * spend * rate * left / 2

    def _fitted_uplift(self, source: str, file: list, rfm: tuple, now: float) -> np.ndarray:
        """A two-model uplift table learned from ``source``'s finished waves: the share who
        bought in the window by R × F level, treated minus control
        (:func:`crmsim.analysis.cell_uplift`)."""
        cells, treated, outcome = [], [], []
        times, ids, amounts = self._payments()
        n = len(self.market.customers)
        for wave in self.waves:
            if wave.campaign != source or wave.time + wave.window > now:
                continue
            bought = window_revenue(times, ids, np.ones_like(amounts), wave.time,
                                    wave.time + wave.window, n) > 0
            for arm, members in ((True, wave.treated), (False, wave.control)):
                cells += [wave.cells[cid] for cid in members.tolist()]
                treated += [arm] * len(members)
                outcome += bought[members].tolist()
        if not any(treated) or all(treated):
            return np.zeros(len(file))  # nothing to learn from: every customer alike
        table = cell_uplift(cells, treated, outcome, self.cfg.min_cell)
        r, f, _ = rfm
        now_cells = np.char.add(rfm_levels(r), rfm_levels(f)).tolist()
        return np.array([table.get(cell, table[None]) for cell in now_cells])

    # ------------------------------------------------------------------ results

    def _payments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = self.market.recorder.columns()
        paid = np.isin(cols["kind"], PAID_KINDS)
        return cols["time"][paid], cols["customer_id"][paid], cols["amount"][paid]

    def wave_table(self) -> pd.DataFrame:
        """One row per wave: who was targeted, contacted and held out, the cost, the share who
        bought in the window, the measured incremental revenue with its 95% interval, and the
        true one (against the counterfactual run; NaN without it)."""
        if self._rows is not None:
            return self._rows
        rows = []
        times, ids, amounts = self._payments() if self.waves else (None, None, None)
        n = len(self.market.customers)
        for wave in self.waves:
            end = wave.time + wave.window
            revenue = window_revenue(times, ids, amounts, wave.time, end, n)
            treated, control = revenue[wave.treated], revenue[wave.control]
            measured, low, high = incremental_estimate(treated, control)
            true = math.nan
            if self._twin is not None:
                twin = self._twin
                without = window_revenue(twin["time"], twin["customer_id"], twin["amount"],
                                         wave.time, end, n)
                true = float((treated - without[wave.treated]).sum())
            bought = window_revenue(times, ids, np.ones_like(amounts), wave.time, end, n) > 0
            rows.append({
                "campaign": wave.campaign, "wave": wave.number, "time": wave.time,
                "window": wave.window, "channel": wave.channel, "offer": wave.offer,
                "rule": wave.rule, "file": wave.file,
                "targeted": len(wave.treated) + len(wave.control),
                "treated": len(wave.treated), "control": len(wave.control),
                "contact_cost": wave.cost,
                "bought_treated": bought[wave.treated].mean() if len(wave.treated) else math.nan,
                "bought_control": bought[wave.control].mean() if len(wave.control) else math.nan,
                "revenue_treated": float(treated.sum()),
                "revenue_control": float(control.sum()),
                "measured": measured, "measured_low": low, "measured_high": high,
                "true": true,
            })
        self._rows = pd.DataFrame(rows, columns=[
            "campaign", "wave", "time", "window", "channel", "offer", "rule", "file",
            "targeted", "treated", "control", "contact_cost", "bought_treated",
            "bought_control", "revenue_treated", "revenue_control", "measured", "measured_low",
            "measured_high", "true"])
        return self._rows

    def kpis(self) -> dict[str, float]:
        cost = self.market.recorder.costs.get("campaign_cost", 0.0)
        waves = self.wave_table()
        measured = float(waves["measured"].sum(min_count=1)) if len(waves) else 0.0
        if waves["measured"].isna().any():
            measured = math.nan
        true = float(waves["true"].sum()) if len(waves) else 0.0
        if self.enabled and self._twin is None:
            true = math.nan
        margin = self.market.scenario.economics.margin_rate
        profit_measured = measured * margin - cost
        profit_true = true * margin - cost
        effect = 0.0 if not self.enabled else math.nan
        if self._twin is not None:
            revenue = float(self._payments()[2].sum())
            effect = ((revenue - float(self._twin["amount"].sum())) * margin
                      - (sum(self.market.recorder.costs.values()) - self._twin["costs"]))
        return {
            "campaign_contacts": self.contacts,
            "campaign_held_out": self.held_out,
            "campaign_discount": self.discount_given,
            "campaign_purchases": self.purchases,
            "campaign_annoyed": self.annoyed,
            "campaign_incremental_revenue_measured": measured,
            "campaign_incremental_revenue_true": true,
            "campaign_incremental_profit_measured": profit_measured,
            "campaign_incremental_profit_true": profit_true,
            "campaign_roi_measured": profit_measured / cost if cost else math.nan,
            "campaign_roi_true": profit_true / cost if cost else math.nan,
            "campaign_profit_effect_true": effect,
        }

    def customer_columns(self, customers) -> dict:
        """The hidden response type, contacts received and the whole run's true revenue
        effect (revenue − revenue in the counterfactual run) of every customer."""
        if not self.enabled:
            return {}
        n = len(customers)
        contacts = np.zeros(n, dtype=np.int64)
        for cid, times in self._contact_times.items():
            contacts[cid] = len(times)
        effect = np.full(n, np.nan)
        if self._twin is not None:
            times, ids, amounts = self._payments()
            revenue = np.bincount(ids, weights=amounts, minlength=n)[:n]
            twin = self._twin
            both = min(n, twin["customers"])
            without = np.bincount(twin["customer_id"], weights=twin["amount"],
                                  minlength=both)[:both]
            effect[:both] = revenue[:both] - without
        return {
            "response_type": pd.Categorical.from_codes(self.types[:n], RESPONSE_TYPES),
            "campaign_contacts": contacts,
            "campaign_revenue_effect": effect,
        }

    def tables(self) -> dict:
        return {"campaigns": self.wave_table} if self.enabled else {}


def _block(name: str) -> int:
    """The row block of a campaign's per-customer draws: from its name (not its place in the
    plan), so a campaign keeps its control group when others are added. Waves take the blocks
    after it (random targeting)."""
    return (1 + zlib.crc32(name.encode("utf-8"))) << 20


def _top(values: np.ndarray, candidates: np.ndarray, target: Target) -> list[int]:
    """Indices (in file order) of the candidates a ranking picks: value at least
    ``threshold``, or the ``top`` k, or the top ``share`` (ties by file order)."""
    index = np.flatnonzero(candidates)
    if target.threshold is not None:
        return index[values[index] >= target.threshold].tolist()
    k = target.top if target.top is not None else round(target.share * len(index))
    order = index[np.argsort(-values[index], kind="stable")]
    return sorted(order[:k].tolist())
