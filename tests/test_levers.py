"""Every lever a user can raise costs money in the model, as it does in a firm.

For each firm decision in the scenario schema, raising it (with common random numbers, the
rest unchanged) raises what the firm pays for it — a cost account, revenue given away as a
discount, or customers lost to a higher price. ``docs/economics.md`` explains each price.
"""

from __future__ import annotations

import pytest

import crmsim

# (scenario, lever, low, high, KPI that must rise, extra overrides)
LEVERS = [
    ("retail_baseline", "satisfaction.service_quality", 0.7, 0.8, "quality_cost", {}),
    ("retail_baseline", "economics.price_index", 1.0, 1.2, "churned", {}),
    ("retail_baseline", "switching_cost.procedural", 0.1, 1.0, "barrier_cost", {}),
    ("telecom_baseline", "switching_cost.financial", 0.4, 1.0, "barrier_cost", {}),
    ("complaints_recovery", "service.agents", 1, 2, "desk_cost", {}),
    ("complaints_recovery", "service.empowerment", 0.0, 0.8, "desk_cost", {}),
    ("complaints_recovery", "service.failure_rate", 0.08, 0.04, "quality_cost", {}),
    ("retail_points", "rewards.redemption_value", 10, 25, "program_cost", {}),
    ("retail_points", "rewards.points_per_unit", 1.0, 2.0, "program_cost", {}),
    ("retail_points", "rewards.tiers.0.discount", 0.02, 0.10, "tier_discounts", {}),
    ("churn_warning_winback", "warning.top_k", 20, 80, "offer_cost", {}),
    ("churn_warning_winback", "warning.offer_effect", -1.0, -4.0, "offer_cost", {}),
    ("churn_warning_winback", "warning.survey_rate", 0.1, 0.6, "survey_cost", {}),
    ("churn_warning_winback", "win_back.attempts", 1, 3, "win_back_cost", {}),
    ("churn_warning_winback", "win_back.discount", 0.1, 0.4, "win_back_discount", {}),
    ("churn_warning_winback", "tiering.key.win_back_effort", 1.0, 3.0, "win_back_cost", {}),
    ("retail_baseline", "acquisition.rate", 1.0, 3.0, "acquisition_cost", {}),
    ("retail_baseline", "acquisition.selectivity", 0.0, 0.5, "cac", {}),
    ("retail_baseline", "acquisition.referral_reward", 0.0, 10.0, "referral_cost",
     {"acquisition.referral_rate": 0.002}),
    ("retail_baseline", "birthday.cost_per_coupon", 0.5, 2.0, "birthday_cost",
     {"birthday.enabled": True}),
]


def _set(scenario, key: str, value):
    if ".tiers." in key:  # a list item: rewrite the list
        head, index, field = key.rsplit(".", 2)
        tiers = [t.model_dump() for t in scenario.rewards.tiers]
        tiers[int(index)][field] = value
        return scenario.with_overrides({head: tiers})
    return scenario.with_overrides({key: value})


@pytest.mark.parametrize(("name", "lever", "low", "high", "kpi", "extra"), LEVERS,
                         ids=[f"{lever}" for _, lever, *_ in LEVERS])
def test_raising_a_lever_costs(name, lever, low, high, kpi, extra):
    base = crmsim.load_scenario(name).with_overrides(
        {"customers.initial": 600, "horizon": min(crmsim.load_scenario(name).horizon, 240),
         **extra})
    a, b = _set(base, lever, low), _set(base, lever, high)
    cmp = crmsim.compare({"low": a, "high": b}, replications=2, seed=0, progress=False)
    diff = cmp.differences.loc[("high", kpi)]
    assert diff["mean"] > 0, f"raising {lever} from {low} to {high} did not raise {kpi}"
