"""Exercises of notebook 03 (satisfaction; see :mod:`crmsim.exercises`).

One exercise on the rule (where satisfaction settles once the surprise has worn off: the
performance part), and two decisions judged by the model: the service level that pays best when
quality costs twice as much, and how far to cut service failures (a basic factor) when every
halving costs more.
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise, best_of

#: the satisfaction notebook's shop in the decisions: the retail baseline with 500 customers
SATISFACTION_SHOP = {"customers.initial": 500}
#: exercise 03.2: quality costs twice the baseline's; the service levels to choose from
DEAR_QUALITY = {"satisfaction.quality_cost": 0.04}
QUALITY_CHOICES = (0.6, 0.7, 0.8, 0.9)
#: exercise 03.3: the shop with service failures (nobody complains: no desk), prevention priced
#: as in complaints_recovery; the failure rates to choose from
FAILING_SHOP = {"service.failure_rate": 0.16, "service.prevention_cost": 0.002,
                "customers.complaint_propensity": 0.0}
FAILURE_CHOICES = (0.16, 0.08, 0.04, 0.02)


def settled_satisfaction(adaptation: float) -> float:
    """Where satisfaction settles for a customer who expects 0.70 and gets 0.80 every time
    (memory 0.4, performance weight 0.5, disconfirmation weight 1.0, no noise)."""
    from crmsim.model.satisfaction import experience
    from crmsim.scenario import Satisfaction

    cfg = Satisfaction(service_quality=0.8, initial_expectation=0.7, adaptation=adaptation,
                       memory=0.4, performance_weight=0.5, disconfirmation_weight=1.0,
                       quality_noise=0.0)

    class Customer:
        satisfaction, expectation = 0.0, 0.7

    customer = Customer()
    for _ in range(400):
        experience(customer, cfg, 0.0)
    return round(customer.satisfaction, 4)


def best_on_grid(table, key: str, kpi: str = "profit") -> tuple[float, frozenset]:
    """:func:`crmsim.exercises.base.best_of` on a :func:`crmsim.sweep` table: the grid value
    with the highest mean ``kpi`` and every value the replications cannot tell from it."""
    wide = table[table["kpi"] == kpi].pivot(index="replication", columns=key, values="value")
    best, accepted = best_of(wide)
    return float(best), frozenset(float(value) for value in accepted)


@functools.cache
def dear_quality_sweep():
    """Exercise 03.2: profit against the service level when quality costs twice as much."""
    import crmsim

    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {**SATISFACTION_SHOP, **DEAR_QUALITY})
    return crmsim.sweep(sc, {"satisfaction.service_quality": list(QUALITY_CHOICES)},
                        replications=4, seed=0, progress=False)


@functools.cache
def failure_sweep():
    """Exercise 03.3: profit against the failure rate the firm pays to keep."""
    import crmsim

    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {**SATISFACTION_SHOP, **FAILING_SHOP})
    return crmsim.sweep(sc, {"service.failure_rate": list(FAILURE_CHOICES)}, replications=4,
                        seed=0, progress=False)


EXERCISES: dict[str, Exercise] = {
    "03.1": Exercise(
        "Service quality 0.80 for customers who expect 0.70 (market norm 0.70, against which "
        "the performance part is measured; adaptation 0.2, memory 0.4, "
        "performance weight 0.5, disconfirmation weight 1.0, no noise): at what value does "
        "satisfaction settle after many experiences — once the surprise has worn off? (four "
        "decimals)",
        lambda: settled_satisfaction(0.2),
        "once e has caught up with q, only the performance part is left: "
        "performance_weight × (q − market norm)",
        tolerance=1e-3),
    "03.2": Exercise(
        "In a city where good staff cost twice as much, the shop's quality costs "
        "satisfaction.quality_cost = 0.04 (retail baseline, 500 customers). Which service "
        f"level of {', '.join(map(str, QUALITY_CHOICES))} makes the most profit over the year? "
        "Sweep satisfaction.service_quality over them (crmsim.sweep, 4 replications, seed 0); "
        "any level whose paired difference to the best covers 0 counts. Answer with one of the "
        "four numbers.",
        lambda: best_on_grid(dear_quality_sweep(), "satisfaction.service_quality")[0],
        "the benefit of a step is the same as in the notebook, its cost doubles: where do the "
        "margin gained and the cost paid cross now?",
        accepted=lambda: best_on_grid(dear_quality_sweep(), "satisfaction.service_quality")[1]),
    "03.3": Exercise(
        "A shop fails 16% of its orders (retail baseline, 500 customers, with "
        "crmsim.exercises.nb03.FAILING_SHOP: failures priced as in complaints_recovery, "
        "prevention_cost 0.002 × (1 − f)/f per customer-day). Preventing failures is a basic "
        f"factor (基本因素). Which failure rate of {', '.join(map(str, FAILURE_CHOICES))} makes "
        "the most profit over the year (crmsim.sweep over service.failure_rate, 4 "
        "replications, seed 0)? Any rate whose paired difference to the best covers 0 "
        "counts. Answer with one of the four numbers.",
        lambda: best_on_grid(failure_sweep(), "service.failure_rate")[0],
        "each halving of failures about doubles the cost of prevention, while its gain in "
        "satisfaction halves",
        accepted=lambda: best_on_grid(failure_sweep(), "service.failure_rate")[1]),
}
