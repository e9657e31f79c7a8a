"""Firm policies, one module each; each is off unless its scenario section switches it on.

* :mod:`~crmsim.policies.service_desk` — the service desk and complaint handling (投诉处理);
* :mod:`~crmsim.policies.rewards` — points, redemptions, expiry and tiers (积分 / 会员等级);
* :mod:`~crmsim.policies.tiering` — value tiers 关键 / 普通 / 小客户 and what each gets (客户分级);
* :mod:`~crmsim.policies.early_warning` — churn warning scans and retention offers (流失预警);
* :mod:`~crmsim.policies.win_back` — approaching churned customers (客户赢回);
* :mod:`~crmsim.policies.acquisition` — paid and word-of-mouth acquisition (客户开发).

Switching-cost shocks and the competitor's pull are terms of the churn decision
(:meth:`crmsim.model.market.Market.churn_terms`).
"""
