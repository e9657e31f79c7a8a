"""Course formulas against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from crmsim.analysis import (
    abc_classes,
    abc_table,
    bass_adoption_rate,
    bass_cdf,
    bass_peak_time,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    cac_payback,
    clv_constant_retention,
    clv_sbg,
    historical_clv,
    mean_ci,
    proportion_ci,
    rfm_scores,
    rfm_summary,
    sbg_retention,
    sbg_survival,
)


def test_sbg_survival_first_steps_by_hand():
    a, b = 0.7, 3.0
    assert sbg_survival(0, a, b) == pytest.approx(1.0)
    assert sbg_survival(1, a, b) == pytest.approx(b / (a + b))
    assert sbg_survival(2, a, b) == pytest.approx(b / (a + b) * (b + 1) / (a + b + 1))
    t = np.arange(1, 30)
    assert np.allclose(sbg_survival(t, a, b) / sbg_survival(t - 1, a, b), sbg_retention(t, a, b))


def test_sbg_survival_is_the_mixture_of_geometric_survivals():
    a, b, t = 1.3, 2.2, 7
    mixture, _ = integrate.quad(lambda th: (1 - th) ** t * stats.beta.pdf(th, a, b), 0, 1)
    assert sbg_survival(t, a, b) == pytest.approx(mixture, rel=1e-8)


def test_clv_closed_form_is_the_geometric_series():
    m, r, i = 50.0, 0.8, 0.01
    series = sum(m * r**k / (1 + i) ** k for k in range(2000))
    assert clv_constant_retention(m, r, i) == pytest.approx(series)
    assert clv_constant_retention(m, r, i) == pytest.approx(m * (1 + i) / (1 + i - r))
    assert clv_constant_retention(m, r, i, periods=3) == pytest.approx(
        m * (1 + r / 1.01 + (r / 1.01) ** 2))
    with pytest.raises(ValueError):
        clv_constant_retention(m, 1.5, 0.0)


def test_bgnbd_expectation_against_numerical_integration():
    """E[X(t)] by integrating the individual-level expectation over Gamma × Beta.

    Given λ and p, E[X(t)] = (1 − e^{−λpt}) / p (Fader et al. 2005, eq. 7); averaging over
    λ ~ Gamma(r, α) gives (1 − (α / (α + pt))^r) / p, left to integrate over p ~ Beta(a, b).
    """
    r, alpha, a, b, t = 0.5, 4.0, 1.5, 3.0, 52.0

    def given_p(p):
        return (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b)

    value, _ = integrate.quad(given_p, 0, 1, epsabs=1e-12, limit=200)
    assert bgnbd_expected_purchases(t, r, alpha, a, b) == pytest.approx(value, rel=1e-4)


def test_bgnbd_likelihood_sums_to_one_over_counts_when_never_observed_dropping():
    """For T fixed and x = 0 the likelihood is P(X(T) = 0) computed another way."""
    r, alpha, a, b, T = 0.8, 3.0, 1.2, 2.5, 10.0
    ll = bgnbd_log_likelihood((r, alpha, a, b), [0], [0.0], [T])[0]
    # x = 0: no purchase in (0, T]: E over λ of e^{−λT} = (α/(α+T))^r
    assert np.exp(ll) == pytest.approx((alpha / (alpha + T)) ** r)


def test_rfm_summary_by_hand():
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3, 3],
                       "time": [0.0, 2.0, 5.0, 1.0, 3.0, 4.0],
                       "amount": [10.0, 20.0, 40.0, 5.0, 8.0, 12.0]})
    s = rfm_summary(tx, observation_end=10.0)
    assert s.loc[1].tolist() == [2, 5.0, 10.0, 30.0]
    assert s.loc[2].tolist() == [0, 0.0, 9.0, 0.0]
    assert s.loc[3].tolist() == [1, 1.0, 7.0, 12.0]
    with pytest.raises(ValueError, match="missing: amount"):
        rfm_summary(tx.drop(columns="amount"), 10.0)


def test_mean_ci_and_proportion_ci():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2
    assert (m, lo, hi) == pytest.approx((2.5, 2.5 - half, 2.5 + half))
    assert np.isnan(mean_ci([1.0])[1])
    p, lo, hi = proportion_ci(30, 100)
    assert p == 0.3 and lo < 0.3 < hi
    z = stats.norm.ppf(0.975)
    center = (0.3 + z**2 / 200) / (1 + z**2 / 100)
    assert (lo + hi) / 2 == pytest.approx(center)


def test_gamma_gamma_mean_spend_formula():
    from crmsim.distributions import GammaGammaSpend, trait_quantile

    spend = GammaGammaSpend(p=6, q=4, gamma=30)
    u = (np.arange(200000) + 0.5) / 200000
    nu = trait_quantile(spend, u)
    assert np.mean(spend.p / nu) == pytest.approx(spend.mean, rel=1e-3)
    assert special.gammainc(4, nu * 30) == pytest.approx(u)


# ---------------------------------------------------------------- customer value (客户价值)

#: a hand-made shop: five customers, observation ends at t = 100
HAND_TRANSACTIONS = pd.DataFrame({
    "customer_id": [1, 1, 1, 2, 3, 3, 4, 5, 5, 5, 5],
    "time": [10.0, 50.0, 90.0, 20.0, 30.0, 95.0, 99.0, 5.0, 40.0, 60.0, 70.0],
    "amount": [100.0, 100.0, 100.0, 500.0, 20.0, 30.0, 10.0, 40.0, 40.0, 40.0, 40.0],
})


def test_rfm_scores_on_a_hand_computed_table():
    table = rfm_scores(HAND_TRANSACTIONS, observation_end=100.0, bins=5)
    # recency 100 − last purchase: 10, 80, 5, 1, 30 → most recent (customer 4) scores 5
    assert table["recency"].tolist() == [10.0, 80.0, 5.0, 1.0, 30.0]
    assert table["r_score"].tolist() == [3, 1, 4, 5, 2]
    # frequency 3, 1, 2, 1, 4 → ties (customers 2 and 4) share the lower score
    assert table["frequency"].tolist() == [3, 1, 2, 1, 4]
    assert table["f_score"].tolist() == [4, 1, 3, 1, 5]
    # monetary 300, 500, 50, 10, 160
    assert table["m_score"].tolist() == [4, 5, 2, 1, 3]
    assert table.loc[1, "rfm_cell"] == "344" and table.loc[1, "rfm_score"] == 11


def test_abc_classes_on_a_hand_computed_table():
    value = HAND_TRANSACTIONS.groupby("customer_id")["amount"].sum()  # 300 500 50 10 160
    # sorted: 500 (before 0), 300 (before .490), 160 (.784), 50 (.941), 10 (.990) of 1020
    assert abc_classes(value.to_numpy()).tolist() == ["A", "A", "B", "C", "A"]
    table = abc_table(value)
    assert table["customers"].tolist() == [3, 1, 1]
    assert table["value_share"].round(4).tolist() == [round(960 / 1020, 4), round(50 / 1020, 4),
                                                      round(10 / 1020, 4)]


def test_historical_clv_discounts_each_customer_to_its_first_purchase():
    clv = historical_clv(HAND_TRANSACTIONS, margin_rate=0.5, discount_rate=0.01)
    assert clv.loc[1] == pytest.approx(50 + 50 / 1.01**40 + 50 / 1.01**80)
    assert clv.loc[2] == pytest.approx(250.0)
    assert clv.loc[3] == pytest.approx(10 + 15 / 1.01**65)


def test_sbg_clv_is_the_discounted_survival_series_and_beats_the_mean_retention_plug_in():
    a, b, m, d = 2.0, 6.0, 50.0, 0.01
    t = np.arange(0, 5000)
    series = m * np.sum(sbg_survival(t, a, b) / (1 + d) ** t)
    assert clv_sbg(m, a, b, d) == pytest.approx(series, rel=1e-9)
    assert clv_sbg(m, a, b, d) > clv_constant_retention(m, b / (a + b), d)


def test_cac_payback_counts_payments_until_the_cac_is_repaid():
    # margin 30 kept with 0.8: 30, 54, 73.2, 88.56, 100.85 → the 5th payment repays 100
    assert cac_payback(100, 30, 0.8) == 5
    assert cac_payback(30, 30, 0.8) == 1
    assert cac_payback(1000, 30, 0.8) == math.inf  # CLV = 150 < CAC


def test_bass_cdf_solves_the_bass_equation():
    p, q = 0.02, 0.4
    t = np.linspace(0, 30, 301)
    f = bass_cdf(t, p, q)
    numeric = integrate.solve_ivp(lambda _, y: (p + q * y) * (1 - y), (0, 30), [0.0],
                                  t_eval=t, rtol=1e-10, atol=1e-12).y[0]
    assert np.allclose(f, numeric, atol=1e-7)
    assert np.argmax(bass_adoption_rate(t, p, q)) == pytest.approx(
        bass_peak_time(p, q) / 0.1, abs=1)


def test_sbg_fit_recovers_the_simulated_cohort_by_a_likelihood_ratio_test():
    import crmsim
    from crmsim.analysis import contract_renewals, fit_sbg, sbg_log_likelihood
    from crmsim.validation import validation_scenario

    sc = validation_scenario("sbg", {"customers.initial": 4000})
    res = crmsim.simulate(sc, seed=3)
    churned, observed = contract_renewals(res.customers, sc.contract.period, sc.horizon)
    fit = fit_sbg(churned, observed)
    critical = stats.chi2.ppf(0.99, df=2)
    truth = sbg_log_likelihood(sc.churn.base.a, sc.churn.base.b, churned, observed)
    assert 2 * (fit["log_likelihood"] - truth) < critical
    # a wrong model (a 40% too high) is rejected by the same test
    wrong = sbg_log_likelihood(1.4 * sc.churn.base.a, sc.churn.base.b, churned, observed)
    assert 2 * (fit["log_likelihood"] - wrong) > critical
