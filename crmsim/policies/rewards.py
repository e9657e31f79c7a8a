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
expects. Points toward the next reward (0..1) plus the tier rank are the member's *lock-in*, a
term of the churn decision (``churn.coefficients.lock_in``). Optional behavioural effects: the
goal gradient (buying speeds up as a reward nears, Kivetz et al. 2006) and the post-reward slump.
"""

from __future__ import annotations

import math

import numpy as np

from crmsim.model.churn import logit, sigmoid


class Membership:
    """A member's programme state (only members carry one)."""

    __slots__ = ("points", "trailing_spend", "last_spend", "tier", "priority_boost", "slump")

    def __init__(self, since: float):
        self.points = self.trailing_spend = 0.0
        self.last_spend = since
        self.tier = -1  # no tier
        self.priority_boost = 0
        self.slump = False


class RewardsProgramme:
    """The programme of one run: membership, the points ledger and its KPIs."""

    def __init__(self, cfg, book):
        self.cfg = cfg
        self.book = book  # (time, account, amount) → the firm's ledger
        self.tiers = list(cfg.tiers)
        self.earned = self.redeemed = self.expired = 0.0
        self.redemptions = 0
        self.members_total = 0

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

    def rate_factor(self, m: Membership) -> float:
        """Goal gradient and post-reward slump on the member's purchase rate."""
        cfg = self.cfg
        factor = 1.0
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
        """Points toward the next reward (0..1) plus the tier rank (1 for the lowest tier)."""
        return min(m.points / self.cfg.redemption_threshold, 1.0) + (m.tier + 1)

    def forfeit(self, m: Membership) -> None:
        """A leaving member's points are lost (breakage)."""
        self.expired += m.points
        m.points = 0.0

    def tier_name(self, index: int) -> str:
        return self.tiers[index].name if index >= 0 else "none"

    # ------------------------------------------------------------------ results

    def kpis(self, customers) -> dict[str, float]:
        outstanding = sum(c.membership.points for c in customers
                          if c.membership is not None and c.active)
        value_per_point = self.cfg.redemption_value / self.cfg.redemption_threshold
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
