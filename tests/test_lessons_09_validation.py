"""The lessons of notebook 09 (validation), re-derived with other seeds than the notebook's.

Notebook 09 claims that every reduction reproduces its closed form, that a 95% check misses
about one time in twenty and no more, and that the checks have power: a wrong model (no
heterogeneity, a desk that is not M/M/c, customers who never leave, a market without word of
mouth) fails them, and that customers more alike at the same mean churn leave more (the
panel). ``tests/test_validation.py`` tests the checks themselves; here the notebook's claims are.
"""

from __future__ import annotations

import numpy as np

import crmsim
from crmsim.analysis import bass_cdf, erlang_c, mean_ci, proportion_ci, sbg_survival
from crmsim.validation import (
    check_bass,
    check_bgnbd,
    check_clv,
    check_erlang_c,
    check_sbg,
    desk_batch_means,
    validation_scenario,
)


def test_a_95_percent_check_misses_about_one_time_in_twenty():
    """Section 3: 60 CLV checks of the right model with independent seeds miss the closed form
    as often as 95% intervals allow — fewer than 9 times (a binomial(60, 0.05) count exceeds 8
    with probability 0.3%)."""
    checks = [check_clv(validation_scenario("clv", {"customers.initial": 400}), seed=s)
              for s in range(5000, 5060)]
    misses = sum(not bool(c["passed"].iloc[0]) for c in checks)
    assert misses <= 8
    errors = [c["simulated"].iloc[0] / c["closed_form"].iloc[0] - 1 for c in checks]
    _, low, high = mean_ci(errors)
    assert low < 0 < high


def test_customers_without_heterogeneity_fail_the_sbg_check():
    """Section 2: the sBG cohort passes at every renewal; a cohort where everybody has the mean
    churn propensity fails at (nearly) every renewal after the first."""
    assert check_sbg(validation_scenario("sbg"), seed=21)["passed"].all()
    a, b = 0.7, 3.0
    flat = crmsim.simulate(validation_scenario("sbg", {"churn.base": a / (a + b)}), seed=21)
    tenure = (flat.customers["churned_at"] - flat.customers["acquired_at"]).to_numpy()
    inside = 0
    for k in range(1, 13):
        alive = int(np.sum(np.isnan(tenure) | (tenure > k + 1e-9)))
        _, low, high = proportion_ci(alive, len(tenure), 1 - 0.05 / 12)
        inside += bool(low <= sbg_survival(k, a, b) <= high)
    assert inside <= 2


def test_a_regular_desk_fails_erlang_c_and_a_busy_m_m_c_desk_agrees_over_seeds():
    """Section 5: handling times with a coefficient of variation of 0.3 wait far less than
    Erlang C says (the check fails on ASA); the busy 8-agent M/M/c desk agrees with Erlang C
    on average over independent seeds."""
    regular = crmsim.simulate(validation_scenario(
        "erlang_c", {"service.handle_distribution": "lognormal", "service.handle_cv": 0.3}),
        seed=31)
    closed = erlang_c(4.0, 1.8, 9, 0.5)
    figures = {name: (low, high) for _, name, _, low, high in desk_batch_means(regular)}
    assert figures["asa"][1] < closed["asa"]
    assert figures["service_level"][0] > closed["service_level"]
    asa = [check_erlang_c(validation_scenario("erlang_c", {"service.agents": 8}), seed=s)
           .set_index("quantity").loc["desk_asa", "simulated"] for s in range(300, 306)]
    _, low, high = mean_ci(asa)
    assert low <= erlang_c(4.0, 1.8, 8, 0.5)["asa"] <= high


def test_bgnbd_passes_with_a_below_one_and_customers_who_never_leave_fail():
    """Section 4: with a = 0.8 (CDNOW-like) the mean and the fitted parameters pass; the NBD
    without drop-out (rt/α) lies far above the simulated repeat purchases."""
    sc = validation_scenario("bgnbd", {"churn.base.a": 0.8, "customers.initial": 3000})
    table = check_bgnbd(sc, seed=41).set_index("quantity")
    assert table["passed"].all()
    rate = sc.purchase.rate
    assert rate.shape * sc.horizon / rate.rate > table.loc["E[X(52)]", "high"] * 1.5


def test_bass_follows_f_and_a_market_without_word_of_mouth_fails():
    """Section 6: the simulated adoption passes against F(t) at every time checked, and the
    curve of advertising alone (1 − e^(−pt)) lies outside every interval."""
    sc = validation_scenario("bass")
    table = check_bass(sc, seed=51)
    assert table["passed"].all()
    times = table["quantity"].str.extract(r"F\((.*)\)")[0].astype(float).to_numpy()
    acq = sc.acquisition
    no_word_of_mouth = 1 - np.exp(-acq.innovation * times)
    assert ((no_word_of_mouth < table["low"]) | (no_word_of_mouth > table["high"])).all()
    assert np.allclose(table["closed_form"], bass_cdf(times, acq.innovation, acq.imitation))


def test_customers_more_alike_at_the_same_mean_churn_leave_more():
    """Section 8 (the panel): at the same mean churn (18.9%), customers more alike (a = 2,
    b = 8.6 instead of 0.7, 3) leave more over 12 renewals, by the difference of the two sBG
    curves (13 points)."""
    base = validation_scenario("sbg", {"customers.initial": 1000})
    alike = base.with_overrides({"churn.base.a": 2.0, "churn.base.b": 8.6})
    cmp = crmsim.compare({"baseline": base, "alike": alike}, replications=4, seed=7,
                         progress=False)
    row = cmp.differences.loc[("alike", "churned")]
    expected = 1000 * (sbg_survival(12, 0.7, 3.0) - sbg_survival(12, 2.0, 8.6))
    assert 100 < expected < 160
    assert row["low"] <= expected <= row["high"]
    assert row["low"] > 0
