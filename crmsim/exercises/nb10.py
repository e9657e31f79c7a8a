"""Exercises of notebook 10, the digital twin of the CDNOW shop (see :mod:`crmsim.exercises`).

The twin's fitted part (BG/NBD and Gamma–Gamma on the log) comes from the data; everything a
policy adds — how customers respond to an offer or a points programme, what an offer costs —
is an assumption set here, named as such, so the notebook and its tests use the same ones.
"""

from __future__ import annotations

import functools
from pathlib import Path

from crmsim.exercises.base import Exercise

#: the shop log of notebook 10 (shipped with crmsim, see data/README.md)
CDNOW_LOG = Path(__file__).resolve().parents[2] / "data" / "cdnow_sample.csv"

#: notebook 10's churn warning on the twin: every 4 weeks the 150 customers with the highest
#: recency score (silence against their own rhythm) get an offer. Cost, effect and duration are
#: assumptions, not fitted: a transaction log cannot tell how customers respond to an offer.
TWIN_WARNING = {
    "warning.enabled": True, "warning.every": 4.0, "warning.top_k": 150,
    "warning.targeting": "score", "warning.active_window": 52.0, "warning.window": 8.0,
    # the score: silence against the customer's own rhythm only (a shop's log has no surveys)
    "warning.recency_weight": 1.0, "warning.satisfaction_weight": 0.0,
    "warning.dissatisfaction_weight": 0.0, "warning.complaint_weight": 0.0,
    "warning.failed_recovery_weight": 0.0, "warning.abandoned_weight": 0.0,
    "warning.tenure_weight": 0.0, "warning.lock_in_weight": 0.0, "warning.survey_rate": 0.0,
    "warning.survey_cost": 0.0,
    # assumptions
    "warning.offer_cost": 2.0, "warning.offer_effect": -1.5, "warning.response": "uniform",
    "warning.offer_duration": 8.0,
}
#: notebook 10's points programme on the twin (every response parameter an assumption)
TWIN_POINTS = {
    "rewards.enabled": True, "rewards.points_per_unit": 1.0,
    "rewards.redemption_threshold": 200.0, "rewards.redemption_value": 10.0,
    "rewards.expiry": 52.0, "rewards.fixed_cost": 0.0, "rewards.tiers": [],
    "rewards.tier_window": 52.0,
    # assumptions about how customers respond
    "rewards.enrolment": 0.5, "rewards.self_selection": 1.0, "rewards.attraction": 0.5,
    "rewards.goal_gradient": 0.0, "rewards.post_reward_slump": 0.0,
    "churn.coefficients.lock_in": -0.05,
}


@functools.cache
def cdnow_calibration():
    """Notebook 10's calibration: the CDNOW sample up to 1997-09-30, time in weeks."""
    import crmsim

    return crmsim.calibrate(CDNOW_LOG, "1997-09-30", time_col="date", duplicates="keep")


def saved_per_offer(comparison, scenario: str):
    """offers_saved / offers of each replication of ``scenario`` in a comparison."""
    kpis = comparison.kpis[comparison.kpis["scenario"] == scenario]
    table = kpis.pivot(index="replication", columns="kpi", values="value")
    return table["offers_saved"] / table["offers"]


def best_paired(comparison, kpi: str = "profit") -> tuple[str, frozenset]:
    """The scenario of a comparison with the highest mean ``kpi``, and every scenario the
    replications cannot tell from it: its paired difference to the best (common random numbers,
    replication by replication) has a 95% interval that reaches 0."""
    from crmsim.analysis import mean_ci

    kpis = comparison.kpis[comparison.kpis["kpi"] == kpi]
    wide = kpis.pivot(index="replication", columns="scenario", values="value")
    best = str(wide.mean().idxmax())
    return best, frozenset(str(name) for name in wide
                           if str(name) == best or mean_ci(wide[name] - wide[best])[2] >= 0)


#: exercise 10.4: how long a silence the warning's active file tolerates (weeks)
ACTIVE_WINDOWS = (4, 8, 13, 26, 52)
#: exercise 10.5: how much more often members might buy (rewards.attraction)
ATTRACTIONS = (0.5, 1.0, 2.0, 3.0)


@functools.cache
def _active_windows():
    import crmsim

    twin = cdnow_calibration().scenario
    return crmsim.compare(
        {str(weeks): twin.with_overrides({**TWIN_WARNING, "warning.active_window": float(weeks)})
         for weeks in ACTIVE_WINDOWS}, replications=4, seed=0, progress=False)


def _break_even_attraction() -> float:
    import crmsim

    twin = cdnow_calibration().scenario
    comparison = crmsim.compare(
        {"twin": twin, **{str(a): twin.with_overrides({**TWIN_POINTS, "rewards.attraction": a})
                          for a in ATTRACTIONS}}, replications=6, seed=0, progress=False)
    profit = comparison.differences.xs("profit", level="kpi")
    return min((a for a in ATTRACTIONS if profit.loc[str(a), "low"] > 0), default=float("nan"))


def _p_alive_customer_1() -> float:
    return float(cdnow_calibration().summary.loc[1, "p_alive"])


def _twin_targeting() -> str:
    import crmsim

    twin = cdnow_calibration().scenario
    comparison = crmsim.compare(
        {rule: twin.with_overrides({**TWIN_WARNING, "warning.targeting": rule})
         for rule in ("score", "random")}, replications=5, seed=0, progress=False)
    score, random = (saved_per_offer(comparison, rule).mean() for rule in ("score", "random"))
    return "score" if score > random else "random"


#: this notebook's exercises, by id ("10.1", "10.2", ...)
EXERCISES: dict[str, Exercise] = {
    "10.1": Exercise(
        "CDNOW customer 1 bought 3 times in the calibration period (x = 2, t_x = 30.43, "
        "T = 38.86 weeks). What is its probability of still being a customer (P(alive), 存活概率) "
        "at the calibration end under the fitted BG/NBD? (three decimals)",
        _p_alive_customer_1, "cal.summary.loc[1, 'p_alive'], or "
        "crmsim.analysis.bgnbd_probability_alive(2, 30.43, 38.86, *BG/NBD params)",
        tolerance=5e-4),
    "10.2": Exercise(
        "On the CDNOW twin with notebook 10's warning (crmsim.exercises.TWIN_WARNING: 150 "
        "offers every 4 weeks, a year), which targeting reverses more drop-outs per offer "
        "(offers_saved / offers; 5 paired replications, seed 0): 'score' (silence against the "
        "customer's own rhythm) or 'random' (a lottery in the active file)?",
        _twin_targeting, "compare the two with crmsim.compare and "
        "crmsim.exercises.saved_per_offer — and ask who the silent customers are"),
    "10.3": Exercise(
        "Which of these did the calibration estimate from the log — the others are assumptions "
        "you bring to the twin: 'warning.offer_effect', 'churn.base' or "
        "'economics.margin_rate'?",
        lambda: "churn.base", "a transaction log has purchases, dates and amounts: which "
        "parameter describes only those?"),
    "10.4": Exercise(
        "The warning of crmsim.exercises.TWIN_WARNING offers to the 150 most silent customers "
        "of its active file: everyone who bought within warning.active_window weeks (52). "
        "Choose the active window, in weeks, from crmsim.exercises.ACTIVE_WINDOWS (4, 8, 13, "
        "26 or 52), that makes the most profit on the twin in a year (4 paired replications, "
        "seed 0). Any window the replications cannot tell from the best counts.",
        lambda: int(best_paired(_active_windows())[0]),
        "a customer silent for months has probably left (P(alive)); one silent for a week is "
        "probably fine: compare offers_too_late and offers_wasted for each window",
        accepted=lambda: frozenset(int(w) for w in best_paired(_active_windows())[1])),
    "10.5": Exercise(
        "Break-even (盈亏平衡): the points programme of crmsim.exercises.TWIN_POINTS loses "
        "money at the assumed rewards.attraction 0.5. What is the smallest attraction in "
        "crmsim.exercises.ATTRACTIONS (0.5, 1, 2 or 3) at which it surely pays — the 95% "
        "interval of its paired profit difference to the plain twin above 0 (6 paired "
        "replications, seed 0)? That is the effect a pilot would have to show.",
        _break_even_attraction,
        "compare the plain twin with TWIN_POINTS at each attraction (crmsim.compare, "
        "replications=6, seed=0) and read comparison.differences for profit"),
}
