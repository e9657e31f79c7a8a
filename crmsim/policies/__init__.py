"""Firm policies, one module each; each is off unless its scenario section switches it on.

* :mod:`~crmsim.policies.service_desk` — the service desk and complaint handling (投诉处理);
* :mod:`~crmsim.policies.rewards` — points, redemptions, expiry and tiers (积分 / 会员等级).

Switching-cost shocks and the competitor's pull are terms of the churn decision
(:meth:`crmsim.model.market.Market.churn_terms`).
"""
