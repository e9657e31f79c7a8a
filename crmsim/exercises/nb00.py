"""Exercises of notebook 00 (quickstart; see :mod:`crmsim.exercises`).

Two decisions judged by the model — whether to adopt a proposed service level, and how to
spend a fixed budget of simulation runs — and one reading exercise that teaches what a latent
trait is.
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise

#: the quickstart shop of the exercises: the retail baseline with 500 customers
QUICKSTART_SHOP = {"customers.initial": 500}
#: exercise 00.1: the service level the manager proposes
PROPOSED_QUALITY = 0.85


def _shop(quality: float | None = None):
    import crmsim

    sc = crmsim.load_scenario("retail_baseline").with_overrides(QUICKSTART_SHOP)
    return sc if quality is None else sc.with_overrides(
        {"satisfaction.service_quality": quality})


def verdict(low: float, high: float) -> str:
    """'adopt' when the paired 95% interval of the profit difference lies above 0, 'reject'
    when below, 'unsure' when it covers 0."""
    return "adopt" if low > 0 else "reject" if high < 0 else "unsure"


@functools.cache
def _proposal_verdict() -> str:
    import crmsim

    cmp = crmsim.compare({"baseline": _shop(), "proposal": _shop(PROPOSED_QUALITY)},
                         replications=6, seed=0, progress=False)
    row = cmp.differences.loc[("proposal", "profit")]
    return verdict(row["low"], row["high"])


@functools.cache
def design_halfwidths() -> dict[str, float]:
    """Exercise 00.3: the half-width of the 95% interval of the profit difference (service
    0.80 − 0.70) from 4 runs per policy, paired (the same seeds: common random numbers) or
    independent (other seeds for the second policy; Welch's interval)."""
    from scipy import stats

    import crmsim

    base, better = _shop(), _shop(0.80)
    cmp = crmsim.compare({"0.70": base, "0.80": better}, replications=4, seed=0,
                         progress=False)
    paired = cmp.differences.loc[("0.80", "profit")]
    profit = cmp.kpis[cmp.kpis["kpi"] == "profit"]
    a = profit[profit["scenario"] == "0.70"]["value"].to_numpy()  # seeds as in the pairs
    other = crmsim.compare({"0.80": better}, replications=4, seed=1000, progress=False).kpis
    b = other[other["kpi"] == "profit"]["value"].to_numpy()
    se2 = a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)  # Welch
    dof = se2**2 / ((a.var(ddof=1) / len(a))**2 / (len(a) - 1)
                    + (b.var(ddof=1) / len(b))**2 / (len(b) - 1))
    independent = float(stats.t.ppf(0.975, dof) * se2**0.5)
    return {"paired": float(paired["high"] - paired["low"]) / 2, "independent": independent}


def _design() -> str:
    widths = design_halfwidths()
    return min(widths, key=widths.get)


EXERCISES: dict[str, Exercise] = {
    "00.1": Exercise(
        f"Your manager proposes to raise service quality from 0.70 to {PROPOSED_QUALITY} in the "
        "retail baseline with 500 customers (half the notebook's shop). Compare the two with "
        "crmsim.compare (6 paired replications, seed 0) and decide by the year's profit: "
        "'adopt' (the 95% interval of the profit difference lies above 0), 'reject' (below 0) "
        "or 'unsure' (it covers 0).",
        _proposal_verdict,
        "quality costs satisfaction.quality_cost × q/(1 − q) per customer-day: look at "
        "cmp.differences.loc[('your label', 'profit')] — its mean, low and high",
        accepted=lambda: frozenset({_proposal_verdict()})),
    "00.2": Exercise(
        "Which column of res.customers holds each customer's true drop-out propensity θ (a "
        "latent trait: real CRM data never shows it)?",
        lambda: "churn_propensity", "look at the latent-trait columns of res.customers"),
    "00.3": Exercise(
        "You may run 8 simulations to tell the manager whether service quality 0.80 pays "
        "against 0.70 (500 customers). Which design gives the narrower 95% interval for the "
        "profit difference: 'paired' (4 runs each with the same seeds: crmsim.compare of both, "
        "seed 0 — common random numbers) or 'independent' (4 runs each, other seeds for the "
        "second policy: crmsim.compare of one scenario at a time, seed 0 and seed 1000, then "
        "Welch's interval)? Try both.",
        _design,
        "with common random numbers the two runs of a pair share their customers and their "
        "luck, so the difference varies much less than either profit: compare the intervals",
        accepted=lambda: frozenset({_design()})),
}
