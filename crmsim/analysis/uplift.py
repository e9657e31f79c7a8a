"""Measuring and modelling a campaign's incremental effect (uplift, 增量效果).

A campaign's *incremental* revenue is what its contacts added: the revenue of the contacted
customers minus the revenue they would have brought anyway. Nobody observes both for one
customer, so a firm holds out a random *control group* (对照组) from the target group and
compares (a randomized experiment; Radcliffe & Surry 2011, "Real-world uplift modelling with
significance-based uplift trees"; Ascarza 2018, JMR 55(1)):

* :func:`incremental_estimate` — treated vs control: n_T · (ȳ_T − ȳ_C), "scaled to the treated
  group", with Welch's t-interval (Neyman's variance s²_T / n_T + s²_C / n_C, which is
  conservative for the effect on the very customers of the experiment);
* :func:`cell_uplift` — the *two-model* approach to an uplift model in its simplest form: one
  model of the outcome for the treated and one for the controls, each a table of means by cell
  of what the firm can see (e.g. RFM scores); the estimated uplift of a cell is the difference
  of the two models, and a cell with too few customers in either arm falls back to the overall
  difference (Lo 2002, "The true lift model", SIGKDD Explorations 4(2)).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def incremental_estimate(treated, control, level: float = 0.95) -> tuple[float, float, float]:
    """(estimate, low, high) of the incremental total over the treated group.

    ``treated`` and ``control`` are per-customer outcomes (e.g. revenue in the campaign's
    window). The estimate is n_T · (mean_T − mean_C); the interval is Welch's t-interval of the
    difference of means, scaled by n_T. No treated customer: (0, 0, 0); no control (or a single
    customer in an arm, whose spread is unknown): NaN where it cannot be computed.

    >>> est, low, high = incremental_estimate([3.0, 5.0, 4.0, 4.0], [1.0, 2.0, 3.0])
    >>> est, round(low, 2), round(high, 2)
    (8.0, 0.03, 15.97)
    """
    t = np.asarray(treated, dtype=float)
    c = np.asarray(control, dtype=float)
    n_t, n_c = t.size, c.size
    if n_t == 0:
        return 0.0, 0.0, 0.0
    if n_c == 0:
        return math.nan, math.nan, math.nan
    estimate = float(n_t * (t.mean() - c.mean()))
    if n_t < 2 or n_c < 2:
        return estimate, math.nan, math.nan
    var_t, var_c = t.var(ddof=1) / n_t, c.var(ddof=1) / n_c
    se = math.sqrt(var_t + var_c)
    if se == 0:
        return estimate, estimate, estimate
    df = (var_t + var_c) ** 2 / (var_t**2 / (n_t - 1) + var_c**2 / (n_c - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df) * se * n_t)
    return estimate, estimate - half, estimate + half


def cell_uplift(cells, treated, outcome, min_count: int = 10) -> dict:
    """Estimated uplift per cell: mean outcome of the treated minus that of the controls.

    ``cells`` labels each customer of an experiment (any hashable: an RFM cell, a segment),
    ``treated`` says whether it was contacted, ``outcome`` what it did (bought, revenue). A cell
    with fewer than ``min_count`` customers in either arm gets the overall difference instead.
    The overall difference is under the key ``None`` (use it for cells never seen).

    >>> cell_uplift(["a", "a", "b", "b"], [True, False, True, False], [5, 1, 2, 2], min_count=1)
    {None: 2.0, 'a': 4.0, 'b': 0.0}
    """
    cells = np.asarray(cells, dtype=object)
    treated = np.asarray(treated, dtype=bool)
    y = np.asarray(outcome, dtype=float)
    if not treated.any() or treated.all():
        raise ValueError("an uplift model needs treated and control customers")
    overall = float(y[treated].mean() - y[~treated].mean())
    out: dict = {None: overall}
    for cell in dict.fromkeys(cells.tolist()):
        inside = cells == cell
        arm_t, arm_c = y[inside & treated], y[inside & ~treated]
        if arm_t.size >= min_count and arm_c.size >= min_count:
            out[cell] = float(arm_t.mean() - arm_c.mean())
        else:
            out[cell] = overall
    return out
