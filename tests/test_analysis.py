"""Course formulas against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from crmsim.analysis import (
    abc_classes,
    abc_table,
    bass_adoption_rate,
    bass_cdf,
    bass_peak_time,
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_posterior,
    bgnbd_probability_alive,
    bgnbd_total_log_likelihood,
    cac_payback,
    clv_constant_retention,
    clv_sbg,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
    gamma_gamma_log_likelihood,
    gamma_gamma_posterior,
    gamma_gamma_total_log_likelihood,
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


# ------------------------------------------------ BG/NBD given a history, and Gamma–Gamma spend

#: Fader & Hardie's CDNOW estimates at full precision (the lifetimes docs' fit of the published
#: summary; the paper rounds them to 0.243, 4.414, 0.793, 2.426)
CDNOW_BGNBD = (0.242593, 4.413532, 0.792886, 2.425752)


def _posterior_by_quadrature(x, t_x, T, r, alpha, a, b, t=0.0):
    """P(alive), E[λ], E[p] and E[Y(t)] given (x, t_x, T), integrating the individual-level
    likelihood against the prior over p numerically (independent of the Beta-function algebra
    of the closed forms). Given p: alive at T has likelihood (1−p)^x · λ^x e^{−λT}, dropped out
    after the purchase at t_x has p (1−p)^(x−1) · λ^x e^{−λ t_x}, and an alive customer buys
    (1 − e^{−λpt})/p in (T, T+t] (eq. 7). The λ integrals are Gamma integrals:
    ∫ λ^k e^{−λc} Gamma(λ; r, α) dλ = Γ(r+k)/Γ(r) · α^r/(α+c)^(r+k)."""
    def gamma_moment(k, c):
        return np.exp(special.gammaln(r + k) - special.gammaln(r) + r * np.log(alpha)
                      - (r + k) * np.log(alpha + c))

    def integral(f):
        # the Beta density's p^(a−1) (1−p)^(b−1) as quad's algebraic weight (QAWS)
        value, _ = integrate.quad(f, 0, 1, weight="alg", wvar=(a - 1, b - 1),
                                  epsabs=0, epsrel=1e-12, limit=200)
        return value

    def alive(p, k=0):
        return (1 - p) ** x * gamma_moment(x + k, T)

    def dead(p, k=0):
        return p * (1 - p) ** (x - 1) * gamma_moment(x + k, t_x) if x > 0 else 0.0

    def future(p):   # ∫ (1 − e^{−λpt})/p · λ^x e^{−λT} Gamma(λ) dλ, times (1−p)^x
        if p == 0:
            return (1 - p) ** x * t * gamma_moment(x + 1, T)
        return (1 - p) ** x * (gamma_moment(x, T) - gamma_moment(x, T + p * t)) / p

    evidence = integral(lambda p: alive(p) + dead(p))
    return {
        "p_alive": integral(alive) / evidence,
        "rate_mean": integral(lambda p: alive(p, 1) + dead(p, 1)) / evidence,
        "dropout_mean": integral(lambda p: p * (alive(p) + dead(p))) / evidence,
        "expected": integral(future) / evidence,
    }


@pytest.mark.parametrize("a", [0.4, 0.793, 1 - 1e-6, 1 - 1e-10, 1.0, 1 + 1e-9, 1 + 1e-6, 1 + 5e-5,
                               1.7])
def test_bgnbd_expectation_for_every_a_against_quadrature(a):
    """E[X(t)] is finite for every a > 0 at finite t; a = 1 is a removable singularity."""
    r, alpha, b = 0.6, 3.0, 2.5
    for t in (0.5, 39.0, 78.0, 400.0):
        def given_p(p, t=t):
            return -np.expm1(-r * np.log1p(p * t / alpha)) / p if p > 0 else r * t / alpha

        value, _ = integrate.quad(given_p, 0, 1, weight="alg", wvar=(a - 1, b - 1),
                                  epsabs=0, epsrel=1e-12)
        value /= special.beta(a, b)
        assert bgnbd_expected_purchases(t, r, alpha, a, b) == pytest.approx(value, rel=1e-8)


def test_bgnbd_expectation_is_continuous_through_a_equal_one():
    r, alpha, b = 0.243, 4.414, 2.426
    t = np.array([1.0, 39.0, 78.0, 1000.0])
    at_one = bgnbd_expected_purchases(t, r, alpha, 1.0, b)
    assert np.all(np.isfinite(at_one)) and np.all(at_one > 0)
    for a in (1 - 1e-6, 1 + 1e-6):
        assert bgnbd_expected_purchases(t, r, alpha, a, b) == pytest.approx(at_one, rel=1e-5)
    # across the switch between quadrature and the closed form (|a − 1| = 1e-4)
    for side in (-1, 1):
        inside = bgnbd_expected_purchases(t, r, alpha, 1 + side * (1e-4 - 1e-9), b)
        outside = bgnbd_expected_purchases(t, r, alpha, 1 + side * (1e-4 + 1e-9), b)
        assert inside == pytest.approx(outside, rel=2e-8)
    with pytest.raises(ValueError, match="> 0"):
        bgnbd_expected_purchases(t, r, alpha, 0.0, b)


def test_bgnbd_expectation_matches_fader_hardie_spreadsheet():
    """E[X(t)] at the CDNOW estimates as in Fader & Hardie's BG/NBD spreadsheet (the values
    lifetimes' tests check, to 3 decimals there)."""
    times = np.array([0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0])
    sheet = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    assert np.allclose(bgnbd_expected_purchases(times, *CDNOW_BGNBD), sheet, atol=5e-4)


def test_bgnbd_conditional_expectation_matches_published_examples():
    # FHL 2005 spreadsheet: a customer with x = 2, t_x = 30.43, T = 38.86 buys 1.226 times in
    # the next 39 weeks
    assert bgnbd_conditional_expected_purchases(39, 2, 30.43, 38.86, *CDNOW_BGNBD) == \
        pytest.approx(1.226, abs=5e-4)
    # lifetimes' quickstart: the five customers with the most expected purchases next week
    x = [18, 19, 17, 29, 26]
    t_x = [35.14, 34.00, 28.43, 37.71, 30.86]
    T = [35.86, 34.14, 28.86, 38.00, 31.00]
    published = [0.424877, 0.474738, 0.486526, 0.662396, 0.710623]
    assert bgnbd_conditional_expected_purchases(1, x, t_x, T, *CDNOW_BGNBD) == \
        pytest.approx(published, abs=2e-6)


@pytest.mark.parametrize("a", [0.793, 1.0, 1.6])
@pytest.mark.parametrize("history", [(0, 0.0, 30.0), (3, 20.0, 38.0), (7, 37.5, 38.0)])
def test_bgnbd_posterior_and_conditional_expectation_against_quadrature(a, history):
    r, alpha, b, t = 0.8, 3.0, 2.5, 39.0
    x, t_x, T = history
    truth = _posterior_by_quadrature(x, t_x, T, r, alpha, a, b, t)
    posterior = bgnbd_posterior([x], [t_x], [T], r, alpha, a, b).iloc[0]
    assert bgnbd_probability_alive(x, t_x, T, r, alpha, a, b) == pytest.approx(
        truth["p_alive"], rel=1e-7)
    assert posterior["p_alive"] == pytest.approx(truth["p_alive"], rel=1e-7)
    assert posterior["rate_mean"] == pytest.approx(truth["rate_mean"], rel=1e-7)
    assert posterior["dropout_mean"] == pytest.approx(truth["dropout_mean"], rel=1e-7)
    assert bgnbd_conditional_expected_purchases(t, x, t_x, T, r, alpha, a, b) == \
        pytest.approx(truth["expected"], rel=1e-7)


def test_bgnbd_posterior_parameters_are_the_two_conjugate_updates():
    r, alpha, a, b = 0.8, 3.0, 0.9, 2.5
    post = bgnbd_posterior([0, 4], [0.0, 20.0], [30.0, 38.0], r, alpha, a, b)
    assert post["p_alive"][0] == 1.0 and np.isnan(post["rate_rate_dead"][0])
    row = post.iloc[1]
    assert (row["rate_shape"], row["rate_rate_alive"], row["rate_rate_dead"]) == (4.8, 41.0, 23.0)
    assert (row["dropout_a_alive"], row["dropout_b_alive"]) == (0.9, 6.5)
    assert (row["dropout_a_dead"], row["dropout_b_dead"]) == (1.9, 5.5)
    # the mixture's means from its parts
    alive = row["p_alive"]
    assert row["rate_mean"] == pytest.approx(alive * 4.8 / 41 + (1 - alive) * 4.8 / 23)


def test_bgnbd_gradient_and_total_log_likelihood():
    from crmsim.analysis.bgnbd import _negative_log_likelihood

    x = np.array([0.0, 1.0, 4.0, 12.0])
    t_x = np.array([0.0, 3.0, 20.0, 37.0])
    T = np.array([10.0, 38.0, 38.0, 38.0])
    log_params = np.log([0.7, 3.0, 0.8, 2.4])
    value, gradient = _negative_log_likelihood(log_params, x, t_x, T)
    assert -value == pytest.approx(
        bgnbd_total_log_likelihood(np.exp(log_params), x, t_x, T), rel=1e-12)
    numeric = optimize.approx_fprime(log_params,
                                     lambda lp: _negative_log_likelihood(lp, x, t_x, T)[0], 1e-7)
    assert gradient == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_gamma_gamma_density_is_the_mixture_over_nu():
    """f(z̄ | x) = ∫ density of the mean of x Gamma(p, ν) purchases × Gamma(ν; q, γ) dν."""
    p, q, gamma = 6.0, 3.5, 15.0
    for x, z in ((1, 20.0), (3, 31.5), (10, 12.0)):
        value, _ = integrate.quad(
            lambda nu, x=x, z=z: x * stats.gamma.pdf(x * z, p * x, scale=1 / nu)
            * stats.gamma.pdf(nu, q, scale=1 / gamma), 0, np.inf, epsabs=0, epsrel=1e-11)
        assert np.exp(gamma_gamma_log_likelihood((p, q, gamma), x, z)) == pytest.approx(
            value, rel=1e-8)
        # conditional expected spend = E[p/ν | x, z̄] by the same integral
        mean, _ = integrate.quad(
            lambda nu, x=x, z=z: p / nu * x * stats.gamma.pdf(x * z, p * x, scale=1 / nu)
            * stats.gamma.pdf(nu, q, scale=1 / gamma), 0, np.inf, epsabs=0, epsrel=1e-11)
        assert gamma_gamma_expected_spend(x, z, p, q, gamma) == pytest.approx(
            mean / value, rel=1e-8)
        post = gamma_gamma_posterior([x], [z], p, q, gamma).iloc[0]
        assert (post["spend_shape"], post["spend_rate"]) == (p * x + q, gamma + x * z)
    assert gamma_gamma_expected_spend(0, 0.0, p, q, gamma) == pytest.approx(p * gamma / (q - 1))


def test_gamma_gamma_gradient_and_fit_recover_simulated_spend():
    from crmsim.analysis.gamma_gamma import _negative_log_likelihood

    rng = np.random.default_rng(5)
    p, q, gamma = 4.0, 5.0, 20.0
    x = rng.integers(1, 8, size=3000)
    nu = rng.gamma(q, 1 / gamma, size=3000)
    z = rng.gamma(p * x, 1 / nu) / x       # mean of x Gamma(p, ν) purchases
    log_params = np.log([3.0, 4.0, 25.0])
    _, gradient = _negative_log_likelihood(log_params, x, z)
    numeric = optimize.approx_fprime(log_params,
                                     lambda lp: _negative_log_likelihood(lp, x, z)[0], 1e-7)
    assert gradient == pytest.approx(numeric, rel=1e-5)
    fit = fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": z}))
    assert fit.attrs["customers"] == 3000 and fit.attrs["agreeing_starts"] >= 2
    zq = stats.norm.ppf(1 - 0.05 / 6)   # three parameters, both sides: Bonferroni
    for name, value in (("p", p), ("q", q), ("gamma", gamma)):
        est, se_log = fit.loc[name, ["estimate", "se_log"]]
        assert abs(math.log(est) - math.log(value)) < zq * se_log, name
    # the fitted log-likelihood beats the truth's, as a maximum must
    assert fit.attrs["log_likelihood"] >= gamma_gamma_total_log_likelihood((p, q, gamma), x, z)
