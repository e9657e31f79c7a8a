"""A loyalty programme (积分 / 会员等级): points, redemptions, expiry, tiers and lock-in.

Members earn ``points_per_unit`` points per unit of money spent. When a member's points reach
``redemption_threshold`` the member takes a reward worth ``redemption_value`` (a cost to the
firm). Points expire after ``expiry`` without a purchase, and a member who leaves forfeits them:
both are *breakage*, so every point earned is redeemed, expired or still outstanding.

Enrolment self-selects: a customer joins with probability
``sigmoid(logit(enrolment) + self_selection · z)`` where z is the customer's standardized log
purchase rate, so heavy buyers join more — which is why comparing members with non-members
overstates what a programme does (the simulation also knows the counterfactual).

Tiers (silver, gold, ...) are reached by an exponentially weighted trailing spend (time scale
``tier_window``); a tier gives a price discount, desk priority and raises what the member
expects.

A programme's value holds and attracts members:

* *lock-in* — what a leaving member would forfeit, in money: its points at their redemption
  value plus its tier's discount on its trailing spend (what the tier saves it over a
  ``tier_window``). It is a financial switching cost: a barrier of the churn decision
  (``churn.coefficients.lock_in`` per unit of money), acting only on members who want to leave;
* *attraction* — members buy more often when the programme gives more back: their purchase rate
  is × (1 + ``attraction`` × the value returned per unit spent, points_per_unit ×
  redemption_value / redemption_threshold).

So a more generous programme (a higher redemption value) keeps and activates members — and
costs more. Optional behavioural effects: the goal gradient (buying speeds up as a reward
nears, Kivetz et al. 2006) and the post-reward slump.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field, model_validator
from scipy import special

from crmsim.distributions import GammaDist, Probability
from crmsim.model.churn import logit, sigmoid
from crmsim.model.policy import Policy
from crmsim.results import event_kind
from crmsim.schema import Section

REDEMPTION, TIER = event_kind("redemption"), event_kind("tier")


class Tier(Section):
    """A membership tier (会员等级), reached by trailing spend."""

    name: str = Field(description="e.g. silver, gold")
    min_spend: float = Field(ge=0, description="trailing spend needed (see rewards.tier_window)")
    discount: Probability = Field(0.0, description="price discount for the tier")
    priority_boost: int = Field(0, ge=0, description="desk priority gained (served earlier)")
    expectation_lift: float = Field(
        0.0, ge=0, description="how much the tier raises what the member expects")


class Rewards(Section):
    """A loyalty programme (积分 / 会员): points, redemptions, expiry and tiers."""

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
    attraction: float = Field(
        0.0, ge=0, description="members' purchase rate × (1 + this × value returned per unit "
        "spent)")

    @model_validator(mode="after")
    def _tiers_ordered(self):
        spends = [t.min_spend for t in self.tiers]
        if spends != sorted(spends):
            raise ValueError(f"rewards.tiers must be listed lowest first (min_spend {spends})")
        return self


def log_rate_moments(rate) -> tuple[float, float]:
    """Mean and sd of log λ across customers (Gamma: ψ(r) − log α and √ψ′(r))."""
    if isinstance(rate, GammaDist):
        return (float(special.digamma(rate.shape) - math.log(rate.rate)),
                float(math.sqrt(special.polygamma(1, rate.shape))))
    return (math.log(rate) if rate > 0 else 0.0), 0.0


class Membership:
    """A member's programme state (only members carry one)."""

    __slots__ = ("points", "trailing_spend", "last_spend", "tier", "priority_boost", "slump")

    def __init__(self, since: float):
        self.points = self.trailing_spend = 0.0
        self.last_spend = since
        self.tier = -1  # no tier
        self.priority_boost = 0
        self.slump = False


class RewardsProgramme(Policy):
    """The programme of one run: membership, the points ledger and its KPIs."""

    SECTIONS = {"rewards": Rewards}
    KPIS = {
        "members": "customers who joined the rewards programme",
        "points_earned": "points earned by members",
        "points_redeemed": "points redeemed for rewards",
        "points_expired": "points lost to expiry or by leaving members (breakage)",
        "points_outstanding": "points held by active members at the horizon",
        "points_liability": "outstanding points × value per point",
        "redemptions": "rewards taken",
        "redemption_rate": "points redeemed / points earned",
        "breakage": "points expired or forfeited / points earned",
    }
    COSTS = {"program_cost": "rewards programme: redemptions plus its running cost"}
    EVENTS = ("redemption", "tier")

    def __init__(self, market):
        super().__init__(market)
        cfg = self.cfg
        self.book = market.recorder.book  # (time, account, amount) → the firm's ledger
        self.beta_lock_in = market.scenario.churn.coefficients.lock_in
        self._log_rate_moments = log_rate_moments(market.scenario.purchase.rate)
        self.tiers = list(cfg.tiers)
        #: money given back per unit spent (the programme's generosity)
        self.value_per_point = cfg.redemption_value / cfg.redemption_threshold
        self.return_rate = cfg.points_per_unit * self.value_per_point
        self.attraction = 1.0 + cfg.attraction * self.return_rate
        self.earned = self.redeemed = self.expired = 0.0
        self.redemptions = 0
        self.members_total = 0

    # ------------------------------------------------------------------ hooks

    def acquired(self, customers, uniforms, traits) -> None:
        """New customers join with a probability that self-selects heavy buyers."""
        joined = self.enrol(traits["purchase_rate"], uniforms["enrolment"],
                            *self._log_rate_moments).tolist()
        for c, member in zip(customers, joined, strict=True):
            if member:
                c.membership = Membership(c.acquired_at)

    def price(self, customer, amount: float) -> float:
        m = customer.membership
        return amount * self.price_factor(m) if m is not None else amount

    def paid(self, customer, amount: float) -> None:
        if customer.membership is None:
            return
        market = self.market
        now = market.env.now
        redeemed, tier = self.on_purchase(customer, now, amount)
        if redeemed:
            market.recorder.event(now, customer.id, REDEMPTION, float(redeemed))
        if tier is not None:
            market.recorder.event(now, customer.id, TIER, details=self.tier_name(tier))

    def rate_factor(self, customer) -> float:
        m = customer.membership
        return self.member_rate_factor(m) if m is not None else 1.0

    def barriers(self, customer, barriers: dict) -> None:
        if self.beta_lock_in and customer.membership is not None:
            barriers["reward_lock_in"] = self.beta_lock_in * self.lock_in(customer.membership)

    def records(self, n: int) -> dict[str, np.ndarray]:
        """What each member would forfeit by leaving (the programme's records), by id."""
        value = np.zeros(n)
        for c in self.market.customers:
            if c.membership is not None:
                value[c.id] = self.lock_in(c.membership)
        return {"lock_in_value": value}

    def churned(self, customer) -> None:
        if customer.membership is not None:
            self.forfeit(customer.membership)

    def snapshot(self, now: float, last: float, row: dict) -> None:
        if self.cfg.fixed_cost:
            self.book(now, "program_cost", self.cfg.fixed_cost * (now - last))

    # ------------------------------------------------------------------ membership

    def enrol(self, purchase_rates: np.ndarray, uniforms: np.ndarray, mean_log_rate: float,
              sd_log_rate: float) -> np.ndarray:
        """Which of these new customers join (self-selection on the purchase rate)."""
        cfg = self.cfg
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(purchase_rates, 1e-300)) - mean_log_rate) / sd_log_rate
        z = np.nan_to_num(z) if sd_log_rate > 0 else np.zeros_like(purchase_rates)
        base = logit(cfg.enrolment)
        p = np.array([sigmoid(base + cfg.self_selection * x) for x in z]) if math.isfinite(
            base) else np.full_like(purchase_rates, cfg.enrolment)
        joined = uniforms < p
        self.members_total += int(joined.sum())
        return joined

    # ------------------------------------------------------------------ purchases

    def price_factor(self, m: Membership) -> float:
        """1 − the member's tier discount."""
        return 1.0 - self.tiers[m.tier].discount if m.tier >= 0 else 1.0

    def member_rate_factor(self, m: Membership) -> float:
        """Goal gradient and post-reward slump on the member's purchase rate."""
        cfg = self.cfg
        factor = self.attraction
        if cfg.goal_gradient:
            factor *= 1.0 + cfg.goal_gradient * min(m.points / cfg.redemption_threshold, 1.0)
        if m.slump:
            factor *= 1.0 - cfg.post_reward_slump
            m.slump = False
        return factor

    def on_purchase(self, c, now: float, paid: float):
        """Points, expiry, redemption and tier after a member's purchase.

        Returns (redemptions, new tier index or None if unchanged).
        """
        cfg = self.cfg
        m = c.membership
        if cfg.expiry is not None and m.points and now - m.last_spend > cfg.expiry:
            self.expired += m.points
            m.points = 0.0
        earned = cfg.points_per_unit * paid
        self.earned += earned
        m.points += earned
        redeemed = 0
        if m.points >= cfg.redemption_threshold:
            redeemed = int(m.points // cfg.redemption_threshold)
            m.points -= redeemed * cfg.redemption_threshold
            self.redeemed += redeemed * cfg.redemption_threshold
            self.redemptions += redeemed
            self.book(now, "program_cost", redeemed * cfg.redemption_value)
            m.slump = cfg.post_reward_slump > 0
        m.trailing_spend = m.trailing_spend * math.exp(
            -(now - m.last_spend) / cfg.tier_window) + paid
        m.last_spend = now
        tier = -1
        for index, t in enumerate(self.tiers):
            if m.trailing_spend >= t.min_spend:
                tier = index
        if tier != m.tier:
            lift = (self.tiers[tier].expectation_lift if tier >= 0 else 0.0) - (
                self.tiers[m.tier].expectation_lift if m.tier >= 0 else 0.0)
            c.expectation += lift
            m.tier = tier
            m.priority_boost = self.tiers[tier].priority_boost if tier >= 0 else 0
            return redeemed, tier
        return redeemed, None

    def lock_in(self, m: Membership) -> float:
        """What the member would forfeit by leaving, in money: its points at their redemption
        value, plus its tier's discount on its trailing spend."""
        tier_value = self.tiers[m.tier].discount * m.trailing_spend if m.tier >= 0 else 0.0
        return m.points * self.value_per_point + tier_value

    def forfeit(self, m: Membership) -> None:
        """A leaving member's points are lost (breakage)."""
        self.expired += m.points
        m.points = 0.0

    def tier_name(self, index: int) -> str:
        return self.tiers[index].name if index >= 0 else "none"

    # ------------------------------------------------------------------ results

    def kpis(self) -> dict[str, float]:
        if not self.enabled:
            return {}
        outstanding = sum(c.membership.points for c in self.market.customers
                          if c.membership is not None and c.active)
        value_per_point = self.value_per_point
        earned = self.earned
        return {
            "members": self.members_total,
            "points_earned": earned,
            "points_redeemed": self.redeemed,
            "points_expired": self.expired,
            "points_outstanding": outstanding,
            "points_liability": outstanding * value_per_point,
            "redemptions": self.redemptions,
            "redemption_rate": self.redeemed / earned if earned else math.nan,
            "breakage": self.expired / earned if earned else math.nan,
        }

    def customer_columns(self, customers) -> dict[str, list]:
        if not self.enabled:
            return {}
        return {
            "member": [c.membership is not None for c in customers],
            "points": [c.membership.points if c.membership else 0.0 for c in customers],
            "member_tier": [self.tier_name(c.membership.tier) if c.membership else "none"
                            for c in customers],
        }
