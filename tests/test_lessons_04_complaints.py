"""The lessons of notebook 04 (complaints, service recovery, the call centre), re-derived.

Each test states a claim the notebook prints and checks it with 95% intervals over paired
replications (common random numbers) — with other seeds than the notebook's, so that a lesson
is not one lucky seed. The shops are the notebook's (:mod:`crmsim.exercises.nb04`).
"""

from __future__ import annotations

import functools

import crmsim
from crmsim.analysis import mean_ci
from crmsim.exercises import nb04

SEED = 7


def paired(comparison, scenario: str, kpi: str) -> tuple[float, float, float]:
    row = comparison.differences.loc[(scenario, kpi)]
    return float(row["mean"]), float(row["low"]), float(row["high"])


@functools.cache
def desk() -> crmsim.Comparison:
    shop = nb04.desk_shop()
    return crmsim.compare({
        "2 agents": shop,
        "1 agent": shop.with_overrides({"service.agents": 1}),
        "3 agents": shop.with_overrides({"service.agents": 3}),
        "empowered": shop.with_overrides({"service.empowerment": 0.8}),
    }, replications=4, seed=SEED, progress=False)


def test_most_service_failures_never_become_complaints():
    """Section 1 (the complaint iceberg): about one failure in five reaches the desk."""
    _, low, high = desk().table.loc[("2 agents", "complaint_rate"), ["mean", "low", "high"]]
    assert 0.1 < low and high < 0.3


def test_tarp_order_of_complaint_outcomes():
    """Section 2: with the same customers and failures, churn rises from a quick resolution to
    a slow one, to not complaining, to an unresolved complaint — each step reliably."""
    tarp = crmsim.compare({name: nb04.recovery_lab(**changes)
                           for name, changes in nb04.TARP_OUTCOMES.items()},
                          replications=3, seed=SEED, progress=False)
    churned = tarp.per_replication("churned")
    order = list(nb04.TARP_OUTCOMES)
    for better, worse in zip(order, order[1:]):
        low = mean_ci((churned[worse] - churned[better]).to_numpy())[1]
        assert low > 0, f"{worse} does not lose more customers than {better}"


def test_a_quick_recovery_does_not_beat_no_failure_by_default():
    """Section 3: with the shipped recovery effect (+0.12) a failure resolved quickly still
    costs satisfaction and customers; only a recovery worth more than the failure's drop
    (+0.20) turns the sign."""
    no_costs = {"service.prevention_cost": 0.0, "service.resolution_probability": 1.0}
    lab = crmsim.compare({
        "no failure": nb04.recovery_lab(**no_costs, **{"service.failure_rate": 0.0}),
        "quick": nb04.recovery_lab(**no_costs),
        "generous": nb04.recovery_lab(**no_costs, **{"recovery.quick": 0.2}),
    }, replications=3, seed=SEED, progress=False)
    assert paired(lab, "quick", "churned")[1] > 0
    assert paired(lab, "quick", "mean_satisfaction")[2] < 0
    assert paired(lab, "generous", "churned")[2] < 0
    assert paired(lab, "generous", "mean_satisfaction")[1] > 0


def test_profit_peaks_at_two_agents():
    """Section 5: one agent loses customers worth more than its wage; a third agent keeps
    fewer customers than the second and costs a full wage."""
    comparison = desk()
    assert paired(comparison, "1 agent", "profit")[2] < 0
    assert paired(comparison, "3 agents", "profit")[2] < 0
    lost_with_one = paired(comparison, "1 agent", "churned")
    kept_by_third = paired(comparison, "3 agents", "churned")
    assert lost_with_one[1] > 0 and kept_by_third[2] < 0
    assert -kept_by_third[0] < lost_with_one[0] / 2


def test_empowerment_works_but_does_not_pay_in_this_shop():
    """Section 6: first-contact resolution up, repeat complaints down — and profit down,
    because the few complaints keep too few customers to pay for it."""
    comparison = desk()
    assert paired(comparison, "empowered", "first_contact_resolution")[1] > 0.1
    assert paired(comparison, "empowered", "repeat_complaints")[2] < 0
    assert paired(comparison, "empowered", "profit")[2] < 0
