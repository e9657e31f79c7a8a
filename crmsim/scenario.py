"""Scenarios: the schema, YAML loading with ``extends:``, dotted overrides and clear errors.

A scenario is everything a run needs except the seed. Instructors write it in YAML, usually as a
base plus a few overrides::

    # scenarios/class_week3.yaml
    extends: retail_baseline.yaml        # relative to this file; chains are allowed
    description: Week 3 — what if service quality drops?
    satisfaction:
      service_quality: 0.55

The schema below is the whole contract (extra keys are forbidden). Its defaults are the
*textbook* model: every churn coefficient β is 0 and every policy is off, so a scenario only
names what it switches on. ``crmsim scenarios schema`` prints it as JSON schema for editors.

Every problem is raised as a :class:`~crmsim.errors.ScenarioError` whose message names the file,
the dotted key, the value and what is allowed (with "did you mean" for unknown keys).
"""

from __future__ import annotations

import copy
import difflib
import reprlib
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from crmsim.distributions import (
    UNION_TAGS,
    BetaDist,
    Probability,
    ProbabilityTrait,
    RateTrait,
    SpendTrait,
)
from crmsim.errors import ScenarioError

_STRICT = ConfigDict(extra="forbid", validate_assignment=True)

#: where the scenarios shipped with crmsim live (a checkout or an editable install)
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


# --------------------------------------------------------------------------- schema sections


class Market(BaseModel):
    """What kind of business: does the customer hold a contract or just buy when they like?"""

    model_config = _STRICT
    setting: Literal["contractual", "noncontractual"] = Field(
        "noncontractual",
        description="contractual: renewals every contract.period, churn decided at renewal; "
        "noncontractual: Poisson purchases, drop-out decided after each repeat purchase",
    )


class Shock(BaseModel):
    """From ``at`` on, multiply switching-cost components by ``factor`` (e.g. number portability)."""

    model_config = _STRICT
    at: float = Field(ge=0, description="time of the shock")
    factor: float = Field(ge=0, description="multiplier of the components from then on")
    components: list[Literal["procedural", "financial", "relational"]] = Field(
        default_factory=lambda: ["procedural", "financial", "relational"],
        description="which components the shock changes")


class SwitchingCost(BaseModel):
    """Switching costs (转换成本) in the units of the churn index: what leaving would cost."""

    model_config = _STRICT
    procedural: float = Field(0.0, ge=0, description="effort of leaving (time, learning)")
    financial: float = Field(0.0, ge=0, description="money lost by leaving (fees, benefits)")
    relational: float = Field(
        0.0, ge=0, description="bond with the firm once fully built (grows with tenure)"
    )
    relational_buildup: float = Field(
        180.0, gt=0, description="time for the relational bond to reach 63% of its full level"
    )
    shocks: list[Shock] = Field(default_factory=list, description="scheduled changes")


class Segment(BaseModel):
    """A customer segment: its share of new customers and the traits that differ from the base."""

    model_config = _STRICT
    share: float = Field(gt=0, le=1, description="share of customers in this segment")
    purchase_rate: RateTrait | None = Field(None, description="overrides purchase.rate")
    churn_base: ProbabilityTrait | None = Field(None, description="overrides churn.base")
    spend: SpendTrait | None = Field(None, description="overrides purchase.spend")
    switching_cost: SwitchingCost | None = Field(None, description="overrides switching_cost")


class Customers(BaseModel):
    """The customer base at the start and the traits every customer draws once."""

    model_config = _STRICT
    initial: int = Field(1000, ge=0, description="customers acquired at t = 0")
    segments: dict[str, Segment] = Field(
        default_factory=dict, description="named segments with shares summing to 1 (optional)"
    )
    price_sensitivity: ProbabilityTrait = Field(
        default_factory=lambda: BetaDist(a=2, b=2),
        description="0..1, how strongly price and competitor offers act on the customer",
    )
    complaint_propensity: ProbabilityTrait = Field(
        default_factory=lambda: BetaDist(a=1, b=4),
        description="probability that the customer complains after a service failure",
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self):
        if self.segments:
            total = sum(s.share for s in self.segments.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(
                    f"segment shares must sum to 1, they sum to {total:g} "
                    f"({', '.join(f'{k}: {s.share:g}' for k, s in self.segments.items())})"
                )
        return self


class Purchase(BaseModel):
    """Non-contractual buying: how often and how much."""

    model_config = _STRICT
    rate: RateTrait = Field(0.1, description="purchases per time unit: a number or {dist: gamma}")
    spend: SpendTrait = Field(
        50.0, description="spend per purchase: a number or {dist: gamma_gamma, p, q, gamma}"
    )


class Contract(BaseModel):
    """Contractual business: a contract renews every period at a price."""

    model_config = _STRICT
    period: float = Field(30.0, gt=0, description="time between renewals")
    price: float = Field(30.0, ge=0, description="payment at acquisition and at each renewal")


class ChurnCoefficients(BaseModel):
    """The β_k of the churn decision p = sigmoid(logit θ + Σ β_k x_k); all 0 = textbook model."""

    model_config = _STRICT
    lock_in: float = Field(
        0.0, description="β for reward lock-in: points toward a reward (0..1) + tier rank")
    competitor: float = Field(
        0.0, description="β for competitor pull: attractiveness × price sensitivity")
    satisfaction: float = Field(
        0.0, description="β for satisfaction (negative: satisfied customers stay)"
    )
    switching_cost: float = Field(
        0.0, description="β for switching cost (negative: costly switching keeps customers)"
    )


class Churn(BaseModel):
    """The churn (defection, 流失) decision."""

    model_config = _STRICT
    base: ProbabilityTrait = Field(
        0.1, description="churn propensity θ per decision: a probability or {dist: beta, a, b}"
    )
    coefficients: ChurnCoefficients = Field(default_factory=ChurnCoefficients)


class Satisfaction(BaseModel):
    """Satisfaction (满意度) from expectation disconfirmation, with adapting expectations.

    Each experience has perceived quality q ~ Normal(service_quality, quality_noise). Its value
    to the customer is ``performance_weight·(q − initial_expectation) +
    disconfirmation_weight·(q − e)`` where e is the customer's current expectation;
    satisfaction is an exponentially weighted memory of these values, and the expectation moves
    toward what was experienced (``adaptation``), so exceeding expectations wears off.
    """

    model_config = _STRICT
    service_quality: float = Field(0.7, description="firm's service level: mean perceived quality")
    quality_noise: float = Field(0.1, ge=0, description="sd of perceived quality per experience")
    fit_sd: float = Field(
        0.0, ge=0, description="sd across customers of how well the offering fits them "
        "(a persistent shift of perceived quality)")
    initial_expectation: float = Field(0.7, description="what a new customer expects (market norm)")
    expectation_noise: float = Field(0.05, ge=0, description="sd of initial expectations")
    adaptation: Probability = Field(
        0.2, description="share of the gap q − e that expectations close after each experience"
    )
    memory: float = Field(
        0.3, gt=0, le=1, description="weight of the newest experience in satisfaction"
    )
    performance_weight: float = Field(0.5, ge=0, description="weight of absolute quality")
    disconfirmation_weight: float = Field(1.0, ge=0, description="weight of q − expectation")


class Lifecycle(BaseModel):
    """How lifecycle stages (生命周期) are read off behaviour."""

    model_config = _STRICT
    formation_after: int = Field(
        2, ge=1, description="repeat purchases/renewals that end exploration (考察期)"
    )
    stability_after: int = Field(
        6, ge=1, description="repeat purchases/renewals that reach stability (稳定期)"
    )
    decline_satisfaction: float = Field(
        -0.1, description="satisfaction below this marks decline (退化期)"
    )
    decline_recency: float = Field(
        3.0,
        gt=0,
        description="non-contractual: no purchase for this many of the customer's own mean "
        "inter-purchase times marks decline",
    )

    @model_validator(mode="after")
    def _ordered(self):
        if self.stability_after < self.formation_after:
            raise ValueError(
                f"stability_after ({self.stability_after}) must be >= formation_after "
                f"({self.formation_after})"
            )
        return self


class Acquisition(BaseModel):
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

    model_config = _STRICT
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


class Shift(BaseModel):
    """Agents on duty during part of each ``service.schedule_period``."""

    model_config = _STRICT
    start: float = Field(ge=0, description="start, from the beginning of the period")
    end: float = Field(gt=0, description="end, from the beginning of the period")
    agents: int = Field(ge=0, description="agents on duty in this shift")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError(f"a shift must end after it starts (start {self.start:g}, "
                             f"end {self.end:g})")
        return self


class Recovery(BaseModel):
    """Service recovery: what each complaint outcome does to satisfaction.

    Added to satisfaction (in its units) when the outcome is known; a failure itself lowers the
    experienced quality (``service.failure_severity``). Defaults follow the TARP studies' order:
    quickly resolved > resolved > did not complain (0) > unresolved, and a failed recovery hurts
    again (double deviation).
    """

    model_config = _STRICT
    quick: float = Field(0.12, description="resolved within service.quick_resolution")
    resolved: float = Field(0.06, description="resolved, but not quickly")
    unresolved: float = Field(-0.08, description="not resolved (after the callback, if any)")
    abandoned: float = Field(
        -0.05, description="hung up before being answered (complaints and routine inquiries)")
    paradox: bool = Field(
        False, description="service-recovery paradox: a quick resolution lifts satisfaction "
        "above its pre-failure level (satisfaction only, not the churn decision)")
    paradox_bonus: float = Field(0.05, ge=0, description="how far above, with paradox on")


class Service(BaseModel):
    """The service desk (呼叫中心) and complaint handling (投诉处理).

    A SimPy PriorityResource with ``agents`` servers. Routine inquiries arrive from every active
    customer at ``contact_rate``; a purchase or renewal fails with ``failure_rate`` and the
    customer then complains with its own complaint propensity and waits for the outcome before
    deciding whether to stay. ``agents: 0`` means no desk (complaints go unanswered).
    """

    model_config = _STRICT
    agents: int = Field(0, ge=0, description="agents on duty (without a schedule)")
    handle_time: float = Field(0.005, gt=0, description="mean handling time of a contact")
    handle_distribution: Literal["exponential", "lognormal"] = Field(
        "exponential", description="distribution of handling times")
    handle_cv: float = Field(1.0, gt=0, description="coefficient of variation (lognormal)")
    contact_rate: float = Field(
        0.0, ge=0, description="routine inquiries per active customer per time unit")
    failure_rate: Probability = Field(
        0.0, description="probability that a purchase or renewal is a service failure")
    failure_severity: float = Field(0.3, ge=0, description="drop in perceived quality")
    double_deviation: float = Field(
        1.0, ge=0, description="a repeated failure hurts (1 + this) times as much")
    patience: float | None = Field(
        None, gt=0, description="mean caller patience (exponential); null: nobody hangs up")
    sla_target: float = Field(0.00014, gt=0, description="answer within this (service level)")
    resolution_probability: Probability = Field(
        0.7, description="first-contact resolution probability")
    empowerment: Probability = Field(
        0.0, description="share of the unresolved gap that empowered agents close")
    callback_delay: float | None = Field(
        1.0, gt=0, description="an unresolved complaint gets a callback after this; null: none")
    callback_resolution: Probability = Field(0.5, description="resolution probability of it")
    quick_resolution: float = Field(0.1, gt=0, description="resolved within this is 'quick'")
    priority: dict[str, int] = Field(
        default_factory=dict, description="desk priority by segment (lower is served first)")
    complaint_priority: int = Field(
        0, description="added to a complaint's priority (negative: complaints first)")
    schedule: list[Shift] = Field(
        default_factory=list, description="agents by time of period (overrides agents)")
    schedule_period: float = Field(1.0, gt=0, description="length of the schedule's period")
    wage: float = Field(0.0, ge=0, description="cost per agent on duty per time unit")


class Tier(BaseModel):
    """A membership tier (会员等级), reached by trailing spend."""

    model_config = _STRICT
    name: str = Field(description="e.g. silver, gold")
    min_spend: float = Field(ge=0, description="trailing spend needed (see rewards.tier_window)")
    discount: Probability = Field(0.0, description="price discount for the tier")
    priority_boost: int = Field(0, ge=0, description="desk priority gained (served earlier)")
    expectation_lift: float = Field(
        0.0, ge=0, description="how much the tier raises what the member expects")


class Rewards(BaseModel):
    """A loyalty programme (积分 / 会员): points, redemptions, expiry and tiers."""

    model_config = _STRICT
    enabled: bool = Field(False, description="switch the programme on")
    enrolment: Probability = Field(0.5, description="share of customers who join")
    self_selection: float = Field(
        1.0, ge=0, description="how much more heavy buyers join (0: joining is random)")
    points_per_unit: float = Field(1.0, ge=0, description="points per unit of money spent")
    redemption_threshold: float = Field(500.0, gt=0, description="points for one reward")
    redemption_value: float = Field(10.0, ge=0, description="cost of one reward to the firm")
    expiry: float | None = Field(
        365.0, gt=0, description="points expire after this long without a purchase; null: never")
    fixed_cost: float = Field(0.0, ge=0, description="running cost per time unit")
    tiers: list[Tier] = Field(default_factory=list, description="tiers, lowest first")
    tier_window: float = Field(
        365.0, gt=0, description="time scale of the trailing spend (exponentially weighted)")
    goal_gradient: float = Field(
        0.0, ge=0, description="purchase rate × (1 + this × progress) as a reward nears")
    post_reward_slump: Probability = Field(
        0.0, description="purchase rate × (1 − this) for the gap after a redemption")

    @model_validator(mode="after")
    def _tiers_ordered(self):
        spends = [t.min_spend for t in self.tiers]
        if spends != sorted(spends):
            raise ValueError(f"rewards.tiers must be listed lowest first (min_spend {spends})")
        return self


class TierLevel(BaseModel):
    """What the firm gives customers of one value tier."""

    model_config = _STRICT
    desk_priority: int = Field(0, description="added to desk priority (negative: served first)")
    retention_offers: bool = Field(True, description="eligible for retention offers")
    win_back_effort: float = Field(
        1.0, ge=0, description="multiplies win-back success probability and cost (0: no attempt)")


class Tiering(BaseModel):
    """Customer tiering (客户分级): a periodic value classification and what each tier gets.

    Every ``every`` the active customers are classified by ``method``: ``abc`` — Pareto classes
    of margin so far (A: the first ``abc_cuts[0]`` of value → key, B → ordinary, C → small);
    ``rfm`` — RFM total score (quintiles of recency, frequency, money), ranked; ``clv`` — margin
    per time unit so far (what the constant-retention CLV ranks by), ranked. Ranked methods put
    the top ``shares[0]`` in key (关键客户), the next ``shares[1]`` in ordinary (普通客户), the rest
    in small (小客户). ``drop_unprofitable`` stops serving small customers whose margin per time
    unit is below ``economics.cost_to_serve``.
    """

    model_config = _STRICT
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


class EarlyWarning(BaseModel):
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

    model_config = _STRICT
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


class WinBackSuccess(BaseModel):
    """Chance that one win-back approach succeeds, by the reason the customer left."""

    model_config = _STRICT
    natural: Probability = Field(0.15, description="left for its own reasons")
    dissatisfaction: Probability = Field(0.10, description="left dissatisfied")
    service_failure: Probability = Field(0.05, description="left after a service failure")
    low_switching_cost: Probability = Field(0.15, description="left because leaving was easy")
    reward_lock_in: Probability = Field(0.15, description="left despite reward lock-in")
    competitor: Probability = Field(0.25, description="lured by a competitor (price)")


class WinBack(BaseModel):
    """Win-back (客户赢回): approaching churned customers.

    ``delay`` after a customer churns the firm approaches it, up to ``attempts`` times ``delay``
    apart. Success probability is ``success`` for the churn reason × the tier's
    ``win_back_effort`` × (1 + ``discount_response`` × ``discount``), at most 1; an attempt
    costs ``cost`` × effort. A won-back customer pays ``1 − discount`` of the price for
    ``discount_duration`` and returns with expectations raised by ``expectation_lift``.
    """

    model_config = _STRICT
    enabled: bool = Field(False, description="switch win-back on")
    delay: float = Field(30.0, gt=0, description="time from churn to the first approach")
    attempts: int = Field(1, ge=1, description="approaches at most")
    success: WinBackSuccess = Field(default_factory=WinBackSuccess)
    cost: float = Field(20.0, ge=0, description="cost of one approach (effort 1)")
    discount: Probability = Field(0.0, description="price discount offered to come back")
    discount_response: float = Field(2.0, ge=0, description="success × (1 + this × discount)")
    discount_duration: float = Field(90.0, gt=0, description="how long the discount lasts")
    expectation_lift: float = Field(0.1, ge=0, description="how much more a returning customer "
                                    "expects")


class CompetitorStep(BaseModel):
    """From ``at`` on, the competitor's attractiveness is ``value``."""

    model_config = _STRICT
    at: float = Field(ge=0, description="time")
    value: float = Field(description="attractiveness (0: none; 1: a strong rival offer)")


class Competitor(BaseModel):
    """A rival's pull (竞争对手), acting most on price-sensitive customers."""

    model_config = _STRICT
    attractiveness: float = Field(0.0, description="attractiveness before the schedule")
    schedule: list[CompetitorStep] = Field(default_factory=list, description="changes over time")


class Economics(BaseModel):
    """Money: margins, costs and discounting."""

    model_config = _STRICT
    margin_rate: Probability = Field(0.3, description="margin as a share of revenue")
    discount_rate: float = Field(
        0.0, ge=0, description="per time unit; a cash flow at t is worth (1 + i)^(-t)"
    )
    fixed_cost: float = Field(0.0, ge=0, description="overhead per time unit")
    cost_to_serve: float = Field(
        0.0, ge=0, description="cost per active customer per time unit (account, mailing, care)")


class Scenario(BaseModel):
    """A complete, validated scenario. Build one with :func:`load_scenario` or ``Scenario()``."""

    model_config = _STRICT
    name: str = Field("scenario", description="short name used in tables and plots")
    description: str = Field("", description="what the scenario shows, for the scenario list")
    time_unit: str = Field("day", description="label of the time unit of every rate and duration")
    horizon: float = Field(365.0, gt=0, description="simulated time, in time units")
    report_every: float = Field(30.0, gt=0, description="length of a timeseries period")
    market: Market = Field(default_factory=Market)
    customers: Customers = Field(default_factory=Customers)
    purchase: Purchase = Field(default_factory=Purchase)
    contract: Contract = Field(default_factory=Contract)
    churn: Churn = Field(default_factory=Churn)
    satisfaction: Satisfaction = Field(default_factory=Satisfaction)
    switching_cost: SwitchingCost = Field(default_factory=SwitchingCost)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    acquisition: Acquisition = Field(default_factory=Acquisition)
    service: Service = Field(default_factory=Service)
    recovery: Recovery = Field(default_factory=Recovery)
    rewards: Rewards = Field(default_factory=Rewards)
    tiering: Tiering = Field(default_factory=Tiering)
    warning: EarlyWarning = Field(default_factory=EarlyWarning)
    win_back: WinBack = Field(default_factory=WinBack)
    competitor: Competitor = Field(default_factory=Competitor)
    economics: Economics = Field(default_factory=Economics)

    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _market_holds_base(self):
        size = self.acquisition.market_size
        if size is not None and self.customers.initial > size:
            raise ValueError(f"customers.initial ({self.customers.initial}) exceeds "
                             f"acquisition.market_size ({size})")
        return self

    @model_validator(mode="after")
    def _segments_exist(self):
        names = list(self.customers.segments) or ["all"]
        for key in self.service.priority:
            if key not in names:
                guess = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                raise ValueError(f"service.priority has segment '{key}'{hint}; segments: "
                                 f"{', '.join(names)}")
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from (None if built in code)."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (what ``crmsim scenarios show`` prints)."""
        return self.model_dump(mode="json")

    def with_overrides(self, overrides: dict[str, Any], source: str = "override") -> Scenario:
        """A new scenario with dotted keys replaced, validated like a file.

        >>> sc = Scenario().with_overrides({"churn.base": 0.2, "customers.initial": 50})
        >>> sc.churn.base, sc.customers.initial
        (0.2, 50)
        """
        data = self.to_dict()
        where = source if self._source is None else f"{source} (on {self._source})"
        for key, value in overrides.items():
            _set_dotted(data, key, value, where)
        result = from_dict(data, source=where)
        result._source = self._source
        return result


# --------------------------------------------------------------------------- loading

#: a scenario file is a few KB; a larger file is not a scenario (and is never read whole)
MAX_FILE_BYTES = 1_000_000
#: the deepest a scenario nests is 6 levels (customers.segments.x.switching_cost.shocks[0])
MAX_DEPTH = 20
#: values in one document once YAML aliases are expanded (a scenario has a few hundred)
MAX_VALUES = 100_000
#: files in one ``extends:`` chain
MAX_EXTENDS = 20


def from_dict(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate plain data (already merged, no ``extends:``) into a :class:`Scenario`."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario must be a mapping of keys to values, got {type(data).__name__}", source
        )
    check_shape(data, source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_explain(err), source) from None


def resolve_path(path: str | Path) -> Path:
    """Find a scenario file: the path itself, or a name in the shipped ``scenarios/`` folder."""
    candidate = Path(path)
    if _exists(candidate):
        return candidate
    for folder in (Path.cwd() / "scenarios", SCENARIO_DIR):
        for name in (str(path), f"{path}.yaml"):
            if _exists(folder / name):
                return folder / name
    known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    raise ScenarioError(f"file not found: {_short(str(path))} (shipped scenarios: "
                        f"{', '.join(known)})")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long or with a NUL byte: no such file
        return False


def load_scenario(path: str | Path) -> Scenario:
    """Load a YAML scenario, following ``extends:`` chains, and validate it.

    ``path`` may be a file or the name of a shipped scenario (``"retail_baseline"``).
    """
    file = resolve_path(path)
    data = _load_merged(file.resolve(), chain=())
    data.setdefault("name", file.stem)
    scenario = from_dict(data, source=str(file))
    scenario._source = str(file)
    return scenario


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last one silently, so a pasted second ``churn:`` would replace the first)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<: *base' keys may be overridden by the mapping's own keys
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {_short(key)} (first at line "
                            f"{seen[key] + 1}); a key may appear once in a mapping",
                            key_node.start_mark)
                    seen[key] = key_node.start_mark.line
                except TypeError:  # an unhashable key: the base class reports it
                    continue
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str | None = None) -> Any:
    """Parse YAML text (a file's or a ``--set`` value's) into plain data, or raise a
    ScenarioError naming the line: malformed YAML, a duplicate key, nesting too deep."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).replace("\n", " ")
        raise ScenarioError(f"malformed YAML{where}: {problem}", source) from None
    except RecursionError:
        raise ScenarioError(f"malformed YAML: nested too deeply (a scenario nests at most "
                            f"{MAX_DEPTH} levels)", source) from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise ScenarioError(f"malformed YAML: a value cannot be read "
                            f"({str(err).split(';')[0]})", source) from None
    check_shape(data, source)
    return data


def check_shape(data: Any, source: str | None = None) -> None:
    """Refuse data nested deeper than :data:`MAX_DEPTH`, holding more than :data:`MAX_VALUES`
    values once YAML aliases are expanded ("billion laughs"), or containing itself (a
    recursive alias): no scenario looks like that, and validating it would exhaust memory."""
    sizes: dict[int, int] = {}  # id of a list/dict → values below it, once counted
    open_: set[int] = set()

    def count(node: Any, depth: int) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if depth > MAX_DEPTH:
            raise ScenarioError(f"nested more than {MAX_DEPTH} levels deep; a scenario nests "
                                "at most 6", source)
        if id(node) in open_:
            raise ScenarioError("a YAML alias refers to a mapping or list that contains it",
                                source)
        if id(node) not in sizes:
            open_.add(id(node))
            items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            sizes[id(node)] = 1 + sum(count(item, depth + 1) for item in items)
            open_.discard(id(node))
            if sizes[id(node)] > MAX_VALUES:
                raise ScenarioError(f"more than {MAX_VALUES:,} values once YAML aliases are "
                                    "expanded; a scenario has a few hundred", source)
        return sizes[id(node)]

    count(data, 0)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        if not file.is_file():
            raise ScenarioError("not a regular file (a YAML scenario file is expected)",
                                str(file))
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"cannot read the file: {err.strerror}", str(file)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"larger than {MAX_FILE_BYTES:,} bytes: not a scenario file "
                            "(a scenario is a few KB of YAML)", str(file))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(f"not UTF-8 text (byte 0x{raw[err.start]:02x} at line {line}); "
                            "save the file as UTF-8", str(file)) from None
    data = parse_yaml(text, str(file))
    if data is None:
        raise ScenarioError("the file is empty; a scenario names at least one key, e.g. "
                            "'extends: retail_baseline.yaml' (an empty file would run the "
                            "defaults unnoticed)", str(file))
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario file must be a mapping of keys to values, got {type(data).__name__}",
            str(file),
        )
    return data


def _load_merged(file: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if file in chain:
        cycle = " -> ".join(p.name for p in (*chain, file))
        raise ScenarioError(f"extends: cycle {cycle}", str(chain[0]))
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(f"extends: a chain of more than {MAX_EXTENDS} files", str(chain[0]))
    data = _read_yaml(file)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            f"extends = {_short(parent)}: must be one file name (relative to this file)",
            str(file))
    parent_file = (file.parent / parent).resolve()
    if not _exists(parent_file):
        raise ScenarioError(
            f"extends = {_short(parent)}: file not found (looked for {_short(str(parent_file))})",
            str(file)
        )
    base = _load_merged(parent_file, (*chain, file))
    base.pop("name", None)
    base.pop("description", None)
    return deep_merge(base, data)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings merge key by key, values replace."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a CLI ``--set key=value`` (the value is YAML: numbers, lists, mappings)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {_short(text)}: expected key=value, e.g. --set "
                            "service.agents=5")
    if not raw.strip():
        raise ScenarioError(f"--set {key} = {raw!r}: a value is required after '='")
    try:
        value = parse_yaml(raw)
    except ScenarioError as err:
        raise ScenarioError(f"--set {key} = {_short(raw)}: not a valid value "
                            f"({err.problems[0]})") from None
    if value is None:
        raise ScenarioError(f"--set {key} = {_short(raw)}: a value is required after '='")
    return key, value


def _set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    if not isinstance(key, str):
        raise ScenarioError(f"{_short(key)}: a key must be a dotted name such as 'churn.base'",
                            source)
    parts = key.split(".")
    if not all(parts):
        raise ScenarioError(f"{_short(key)}: not a dotted key such as 'churn.base.a'", source)
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            prefix = ".".join(parts[: depth + 1])
            raise ScenarioError(
                f"{key} = {_short(value)}: {prefix} is {_short(child)}, not a mapping; "
                f"set {prefix} itself (e.g. {prefix}={{dist: beta, a: 1, b: 3}})",
                source,
            )
        node = child
    node[parts[-1]] = value


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlong = 40
_REPR.maxlevel = 3


def _short(value: Any) -> str:
    """repr of a value for an error message, shortened so that a message stays one line (and
    a huge or self-containing value is never printed whole)."""
    try:
        return _REPR.repr(value)
    except Exception:  # noqa: BLE001 — a value whose repr fails is still reported
        return f"<{type(value).__name__}>"


# --------------------------------------------------------------------------- error messages


def _unwrap_model(annotation) -> Any:
    """The pydantic model (or ``dict`` of models) inside an annotation, if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found is not None:
                return found
        return None
    if origin is dict:
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _model_at(loc: tuple) -> Any:
    node: Any = Scenario
    for part in loc:
        if typing.get_origin(node) is dict:
            node = _unwrap_model(typing.get_args(node)[1])
        elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = _unwrap_model(node.model_fields[part].annotation)
        else:
            return None
    return node


def field_info(loc: tuple):
    """The pydantic FieldInfo of a dotted key given as a tuple (None if it is not a field)."""
    parent = _model_at(loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return parent.model_fields.get(loc[-1])
    return None


def _explain(err: ValidationError) -> list[str]:
    problems: list[str] = []
    for e in err.errors(include_url=False):
        loc = tuple(str(p) for p in e["loc"] if p not in UNION_TAGS)
        key = ".".join(loc) or "(top level)"
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = sorted(parent.model_fields) if parent is not None and hasattr(
                parent, "model_fields"
            ) else []
            guess = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.5)
            hint = f" (did you mean '{'.'.join((*loc[:-1], guess[0]))}'?)" if guess else ""
            where = f" under '{'.'.join(loc[:-1])}'" if loc[:-1] else ""
            problems.append(
                f"unknown key '{key}'{hint}; allowed{where}: {', '.join(allowed)}"
            )
        elif e["type"] == "missing":
            problems.append(f"missing key '{key}' (required)")
        elif e["type"] == "invalid_key":
            where = f" under '{'.'.join(loc[:-1])}'" if loc[:-1] else ""
            problems.append(f"key {_short(value)}{where}: a key must be a name (text)")
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
            msg = msg.removeprefix("value error, ")
            info = field_info(loc) if loc else None
            what = f" — {info.description}" if info is not None and info.description else ""
            shown = "" if isinstance(value, dict) else f" = {_short(value)}"
            problems.append(f"{key}{shown}: {msg}{what}")
    return problems


def list_scenarios(folder: Path | None = None) -> list[tuple[str, str]]:
    """(relative path, description) of every scenario file under ``folder``."""
    folder = Path(folder) if folder is not None else SCENARIO_DIR
    if not _exists(folder):
        raise ScenarioError(f"folder not found: {_short(str(folder))}")
    if not folder.is_dir():
        raise ScenarioError(f"not a folder: {_short(str(folder))}")
    rows = []
    for file in sorted(folder.rglob("*.yaml")):
        try:
            sc = load_scenario(file)
            description = sc.description.strip().splitlines()[0] if sc.description else ""
        except ScenarioError as err:
            more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
            description = f"(invalid: {err.problems[0]}{more})"
        rows.append((str(file.relative_to(folder)), description))
    return rows
