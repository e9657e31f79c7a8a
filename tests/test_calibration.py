"""Calibration from a transaction log: published CDNOW numbers, a round trip through the
simulation, the customers' posteriors against the simulation's hidden truth, the closed-form
holdout check, and bad input."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import crmsim
from crmsim.analysis import (
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_posterior,
    bgnbd_total_log_likelihood,
    gamma_gamma_posterior,
)
from crmsim.errors import ScenarioError
from crmsim.holdout_check import closed_form_holdout
from crmsim.validation import validation_scenario

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.csv"
CDNOW_OPTIONS = dict(time_col="date", duplicates="keep")

#: the simulated shop of the round trip: BG/NBD purchasing, Gamma–Gamma spend (a < 1 on purpose)
TRUTH = dict(r=0.8, alpha=6.0, a=0.9, b=3.0, p=6.0, q=4.0, gamma=15.0)
CUSTOMERS, CALIBRATION_END, HORIZON = 4000, 40.0, 52.0


@pytest.fixture(scope="module")
def cdnow():
    return crmsim.calibrate(CDNOW, "1997-09-30", **CDNOW_OPTIONS)


@pytest.fixture(scope="module")
def shop():
    """A simulated cohort with known parameters and the calibration of its first 40 weeks."""
    scenario = validation_scenario("bgnbd", {
        "purchase.rate.shape": TRUTH["r"], "purchase.rate.rate": TRUTH["alpha"],
        "churn.base.a": TRUTH["a"], "churn.base.b": TRUTH["b"],
        "customers.initial": CUSTOMERS, "horizon": HORIZON,
    }).with_overrides({"purchase.spend": {"dist": "gamma_gamma", "p": TRUTH["p"],
                                          "q": TRUTH["q"], "gamma": TRUTH["gamma"]}})
    result = crmsim.simulate(scenario, seed=3)
    calibration = crmsim.calibrate(result.transactions(), CALIBRATION_END)
    return result, calibration


# ------------------------------------------------------------------------------- CDNOW

def test_cdnow_log_reproduces_the_published_summary(cdnow):
    s = cdnow.summary
    # Fader & Hardie's summary (as printed in lifetimes' docs): x, t_x, T, z̄ of customers 1 … 9
    published = {1: (2, 30.43, 38.86, 22.35), 2: (1, 1.71, 38.86, 11.77),
                 6: (7, 29.43, 38.86, 73.74), 7: (1, 5.00, 38.86, 11.77),
                 9: (2, 35.71, 38.86, 25.55), 3: (0, 0.0, 38.86, 0.0)}
    for customer, row in published.items():
        mine = s.loc[customer, ["frequency", "recency", "T", "monetary_value"]].to_numpy(float)
        assert mine == pytest.approx(row, abs=0.006), customer
    assert len(s) == 2357 and s["frequency"].sum() == 2457
    assert cdnow.report["repeat_customers"] == 946 == cdnow.report["spend_fit_customers"]
    assert cdnow.report["duplicate_rows_kept"] == 21
    assert cdnow.report["same_day_rows_combined"] == 223
    assert cdnow.report["transactions"] == 6919 - 223


def test_cdnow_log_likelihood_at_the_published_estimates(cdnow):
    s = cdnow.summary
    ll = bgnbd_total_log_likelihood((0.243, 4.414, 0.793, 2.426), s["frequency"], s["recency"],
                                    s["T"])
    assert ll == pytest.approx(-9582.4, abs=0.5)


def test_cdnow_fit_lands_on_the_published_estimates(cdnow):
    published = dict(r=0.243, alpha=4.414, a=0.793, b=2.426, p=6.25, q=3.74, gamma=15.44)
    for name, value in published.items():
        decimals = 3 if name in ("r", "alpha", "a", "b") else 2
        assert abs(cdnow.params[name] - value) <= 0.5 * 10**-decimals + 1e-4, name
    assert cdnow.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    for model in ("BG/NBD", "Gamma-Gamma"):   # several starts reached the same optimum
        diagnostics = cdnow.diagnostics[model]
        assert diagnostics["agreeing_starts"] >= 2 and diagnostics["converged"], model
        assert diagnostics["hessian_ok"], model
    assert cdnow.log_likelihood >= bgnbd_total_log_likelihood(
        (0.243, 4.414, 0.793, 2.426), *(cdnow.summary[c] for c in ("frequency", "recency", "T")))
    # standard errors as lifetimes reports them for the published summary
    lifetimes_se = dict(r=0.012557, alpha=0.378221, a=0.185719, b=0.705345)
    for name, value in lifetimes_se.items():
        assert cdnow.standard_errors[name] == pytest.approx(value, rel=2e-3), name
    assert cdnow.fit.loc["r", "low"] < cdnow.params["r"] < cdnow.fit.loc["r", "high"]


def test_cdnow_conditional_spend_matches_published_examples(cdnow):
    # lifetimes' docs: E[Z | x, z̄] of customers 1, 2, 3 (no repeat: the mean), 6, 9
    published = {1: 24.658619, 2: 18.911489, 3: 35.170981, 6: 71.462843, 9: 27.282408}
    for customer, value in published.items():
        assert cdnow.summary.loc[customer, "expected_spend"] == pytest.approx(value, abs=0.02)


def test_cdnow_holdout_closed_form(cdnow):
    check = closed_form_holdout(cdnow, CDNOW, "1998-06-30")
    s = cdnow.summary
    direct = bgnbd_conditional_expected_purchases(
        39.0, s["frequency"], s["recency"], s["T"],
        *(cdnow.params[k] for k in ("r", "alpha", "a", "b")))
    assert check.summary["holdout_length"] == pytest.approx(39.0)
    assert check.summary["expected_repeat"] == pytest.approx(direct.sum(), rel=1e-10)
    assert check.summary["actual_repeat"] == cdnow.report["transactions_after_calibration_end"]
    assert check.customers["actual"].sum() == check.summary["actual_repeat"]
    tracking = check.tracking.set_index("time")
    end = cdnow.calibration_end
    assert tracking.loc[end, "actual"] == s["frequency"].sum()
    assert tracking.loc[end, "expected_conditional"] == s["frequency"].sum()
    assert tracking["actual"].iloc[-1] == s["frequency"].sum() + check.summary["actual_repeat"]
    assert tracking["expected_conditional"].iloc[-1] == pytest.approx(
        s["frequency"].sum() + direct.sum())
    week_20 = bgnbd_expected_purchases(20.0 - s["first_purchase"].to_numpy(),
                                       *(cdnow.params[k] for k in ("r", "alpha", "a", "b")))
    assert tracking.loc[20.0, "expected"] == pytest.approx(week_20.sum())
    assert str(check.tracking["date"].iloc[-1].date()) == "1998-06-30"
    by_x = check.by_frequency
    assert list(by_x.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert by_x["customers"].sum() == 2357
    assert by_x.loc["0", "customers"] == (s["frequency"] == 0).sum()


# --------------------------------------------------------------------- round trip

def test_round_trip_recovers_the_simulated_parameters(shop):
    result, calibration = shop
    assert calibration.report["calibration_customers"] == CUSTOMERS
    z = stats.norm.ppf(1 - 0.05 / (2 * len(TRUTH)))     # seven parameters: Bonferroni
    for name, value in TRUTH.items():
        estimate, se_log = calibration.fit.loc[name, ["estimate", "se_log"]]
        assert abs(math.log(estimate) - math.log(value)) < z * se_log, name
        assert se_log < 0.25, name      # and the intervals are narrow enough to mean something


def _z_scores(difference, groups):
    """Mean of truth − posterior mean per group, in standard errors."""
    frame = pd.Series(np.asarray(difference, dtype=float)).groupby(np.asarray(groups))
    return (frame.mean() / (frame.std() / np.sqrt(frame.size()))).to_numpy()


def test_posteriors_match_the_hidden_truth_of_the_simulated_customers(shop):
    """Given the true population parameters, the posterior mean of each customer's hidden trait
    is the average of the truth over all customers with that history: so, within groups of
    customers formed from their histories, truth − posterior mean averages to zero (the
    Monte Carlo check of Bayes' rule). Checked for λ, p, alive at T and spend rate ν."""
    result, calibration = shop
    s = calibration.summary
    truth = result.customers.set_index("customer_id").loc[s.index]
    x, t_x, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    post = bgnbd_posterior(x, t_x, T, TRUTH["r"], TRUTH["alpha"], TRUTH["a"], TRUTH["b"])
    spend = gamma_gamma_posterior(x, s["monetary_value"], TRUTH["p"], TRUTH["q"],
                                  TRUTH["gamma"])
    alive_at_end = (truth["churned_at"].isna() | (truth["churned_at"] > CALIBRATION_END))
    checks = {
        "purchase rate": truth["purchase_rate"].to_numpy() - post["rate_mean"],
        "drop-out probability": truth["churn_propensity"].to_numpy() - post["dropout_mean"],
        "alive": alive_at_end.to_numpy(float) - post["p_alive"],
        "spend rate": TRUTH["p"] / truth["spend_level"].to_numpy()
        - spend["spend_shape"] / spend["spend_rate"],
    }
    repeat = x > 0
    groups = np.minimum(x, 4)[repeat]                     # x = 1, 2, 3, 4+
    critical = stats.norm.ppf(1 - 0.05 / (2 * len(checks) * 5))
    for name, difference in checks.items():
        difference = np.asarray(difference)
        scores = np.concatenate([_z_scores(difference[repeat], groups),
                                 _z_scores(difference[repeat], np.zeros(repeat.sum()))])
        assert np.all(np.abs(scores) < critical), (name, scores.round(2))
    # a customer without repeat purchases is alive for sure, and is so in the simulation
    assert post["p_alive"][~repeat].eq(1).all() and alive_at_end[~repeat].all()


def test_closed_form_holdout_on_the_simulated_shop_at_the_true_parameters(shop):
    """Actual holdout purchases minus eq. 10 average to zero, overall and by frequency."""
    result, calibration = shop
    truth = dataclasses.replace(calibration, params={**calibration.params, **TRUTH})
    last = float(result.transactions()["time"].max())   # the log ends with its last purchase
    check = closed_form_holdout(truth, result.transactions(), last)
    customers = check.customers
    difference = (customers["actual"] - customers["expected"]).to_numpy()
    groups = np.minimum(customers["frequency"].to_numpy(), 4)
    critical = stats.norm.ppf(1 - 0.05 / (2 * 6))
    scores = np.concatenate([_z_scores(difference, groups),
                             _z_scores(difference, np.zeros(len(difference)))])
    assert np.all(np.abs(scores) < critical), scores.round(2)
    assert check.summary["actual_repeat"] == int(
        ((result.transactions()["time"] > CALIBRATION_END)).sum())
    # the tracking table's unconditional expectation: every customer started at 0
    tracking = check.tracking.set_index("time")
    assert tracking.loc[26.0, "expected"] == pytest.approx(
        CUSTOMERS * bgnbd_expected_purchases(26.0, TRUTH["r"], TRUTH["alpha"], TRUTH["a"],
                                             TRUTH["b"]))


# ------------------------------------------------------------------ dates and units

def _dated(transactions: pd.DataFrame) -> pd.DataFrame:
    """The simulated log with times (weeks) turned into calendar days from 2020-01-01."""
    days = np.round(transactions["time"].to_numpy() * 7)
    return pd.DataFrame({"customer_id": transactions["customer_id"],
                         "date": (pd.Timestamp("2020-01-01")
                                  + pd.to_timedelta(days, unit="D")).strftime("%d/%m/%Y %H:%M"),
                         "amount": transactions["amount"]}), days


def test_dates_and_numbers_give_the_same_fit_and_time_units_rescale_alpha(shop):
    result, _ = shop
    tx = result.transactions()
    tx = tx[tx["customer_id"] < 1500]
    dated, days = _dated(tx)
    numeric = pd.DataFrame({"customer_id": tx["customer_id"], "time": days / 7,
                            "amount": tx["amount"]})
    by_date = crmsim.calibrate(dated, "2020-10-07", time_col="date", duplicates="keep")
    by_number = crmsim.calibrate(numeric, 40.0, duplicates="keep")
    assert by_date.calibration_end == pytest.approx(40.0)
    assert by_date.report["same_day_rows_combined"] == by_number.report["same_day_rows_combined"]
    for name in TRUTH:
        assert by_date.params[name] == pytest.approx(by_number.params[name], rel=1e-6), name
    in_days = crmsim.calibrate(dated, "2020-10-07", time_col="date", time_unit="day",
                               duplicates="keep")
    assert in_days.params["alpha"] == pytest.approx(7 * by_date.params["alpha"], rel=1e-4)
    for name in ("r", "a", "b", "p", "q", "gamma"):
        assert in_days.params[name] == pytest.approx(by_date.params[name], rel=1e-4), name
    in_months = crmsim.calibrate(dated, "2020-10-07", time_col="date", time_unit="month",
                                 duplicates="keep")
    assert in_months.calibration_end == pytest.approx(280 / (365.25 / 12))
    assert in_months.params["alpha"] == pytest.approx(
        by_date.params["alpha"] * 7 / (365.25 / 12), rel=1e-4)


def test_customers_first_seen_after_the_calibration_end_are_counted_not_fitted(shop):
    result, _ = shop
    tx = result.transactions()
    late = pd.DataFrame({"customer_id": [10**6, 10**6, 10**6 + 1], "time": [45.0, 47.0, 50.0],
                         "amount": [10.0, 12.0, 9.0]})
    calibration = crmsim.calibrate(pd.concat([tx, late], ignore_index=True), CALIBRATION_END)
    assert calibration.report["customers_after_calibration_end"] == 2
    assert calibration.report["calibration_customers"] == CUSTOMERS
    assert 10**6 not in calibration.summary.index


# ------------------------------------------------------------------------ bad input

GOOD = ("customer_id,date,amount\n1,2020-01-01,10\n1,2020-02-01,12.5\n2,2020-01-05,8\n"
        "2,2020-02-10,9\n2,2020-03-01,9\n3,2020-01-09,20\n")


def _error(source, end="2020-02-15", **options) -> str:
    with pytest.raises(ScenarioError) as info:
        crmsim.calibrate(source, end, **{"time_col": "date", **options})
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_good_small_log_calibrates(write):
    calibration = crmsim.calibrate(write("log.csv", GOOD), "2020-02-15", time_col="date")
    assert calibration.report["calibration_customers"] == 3
    assert calibration.summary.loc[1, "frequency"] == 1
    # customer ids of mixed types are read as text
    mixed = pd.read_csv(write("log.csv", GOOD)).astype({"customer_id": object})
    mixed.loc[0:1, "customer_id"] = "A7"
    by_text = crmsim.calibrate(mixed, "2020-02-15", time_col="date")
    assert sorted(by_text.summary.index) == ["2", "3", "A7"]


@pytest.mark.parametrize("text, options, expected", [
    ("id,date,amount\n1,2020-01-01,3\n", {}, "no column 'customer_id' (customer_col)"),
    ("customer_id,date,amount\n1,2020-01-01,3\n", {"time_col": "time"},
     "no column 'time' (time_col)"),
    ("customer_id,date,value\n1,2020-01-01,3\n", {}, "did you mean amount_col='value'"),
    ("customer_id,date,amount\n", {}, "no transactions"),
    ("customer_id,date,amount\n1,2020-01-01,3\n1,yesterday,4\n", {},
     "line 3: date 'yesterday' is not a date"),
    ("customer_id,date,amount\n1,2020-01-01,3\n1,2020-01-04,\n", {},
     "line 3: amount is missing"),
    ("customer_id,date,amount\n1,2020-01-01,3\n1,2020-01-04,abc\n", {},
     "line 3: amount 'abc' is not a number"),
    ("customer_id,date,amount\n1,2020-01-01,3\n1,2020-01-04,-2.5\n", {},
     "line 3: amount -2.5 is negative"),
    ("customer_id,date,amount\n1,2020-01-01,3\n,2020-01-04,2\n", {},
     "line 3: customer_id is missing"),
    (GOOD + "2,2020-03-01,9\n", {}, "line 8 repeats line 6"),
    (GOOD, {"duplicates": "maybe"}, "duplicates = 'maybe'; allowed: error, keep, drop"),
    (GOOD, {"time_unit": "fortnight"}, "time_unit = 'fortnight'; allowed"),
])
def test_bad_logs_get_one_clear_line(write, text, options, expected):
    message = _error(write("log.csv", text), **options)
    assert expected in message, message


def test_an_empty_file_and_a_missing_file(write):
    assert "the file is empty" in _error(write("empty.csv", ""))
    assert "no such file" in _error("no/such/log.csv")


@pytest.mark.parametrize("end, expected", [
    ("2019-12-01", "before the first transaction in the log; allowed: from 2020-01-01 to "
                   "2020-03-01"),
    ("2021-01-01", "after the last transaction"),
    ("not a date", "'not a date' is not a date"),
    (39, "the log's times are dates, so calibration_end must be a date"),
])
def test_bad_calibration_ends(write, end, expected):
    assert expected in _error(write("log.csv", GOOD), end=end)


def test_a_log_of_one_time_buyers_is_refused(write):
    text = "customer_id,date,amount\n1,2020-01-01,3\n2,2020-01-02,4\n3,2020-01-05,4\n"
    message = _error(write("log.csv", text), end="2020-01-05")
    assert "none of the 3 customers seen by then bought again" in message


def test_ambiguous_day_month_dates_are_asked_not_guessed(write):
    text = ("customer_id,date,amount\n1,01/02/2020,3\n1,03/02/2020,4\n2,02/01/2020,5\n"
            "2,04/02/2020,5\n3,05/01/2020,6\n")
    message = _error(write("log.csv", text), end="03/02/2020")
    assert "read both as '%m/%d/%Y' and as '%d/%m/%Y'" in message
    day_first = crmsim.calibrate(write("log.csv", text), "2020-02-04", time_col="date",
                                 date_format="%d/%m/%Y")
    assert day_first.origin == pd.Timestamp("2020-01-02")
    # one value that only one order can read settles it
    settled = crmsim.calibrate(write("log2.csv", text + "3,13/02/2020,2\n"), "2020-02-04",
                               time_col="date")
    assert settled.origin == pd.Timestamp("2020-01-02")
    assert settled.summary.loc[1, "T"] == pytest.approx(3 / 7)
    message = _error(write("log3.csv", text + "3,2020-02-13,2\n"), end="2020-02-03")
    assert "line 7: date '2020-02-13' is not a date in the format" in message


def test_numeric_logs_need_numeric_calibration_ends():
    frame = pd.DataFrame({"customer_id": [1, 1, 2], "time": [0.0, 2.0, 1.0],
                          "amount": [1.0, 2.0, 3.0]})
    with pytest.raises(ScenarioError, match="the log's times are numbers"):
        crmsim.calibrate(frame, "2020-01-01")
    frame.loc[1, "time"] = np.nan
    with pytest.raises(ScenarioError, match="row 1: time is missing"):
        crmsim.calibrate(frame, 1.5)


def test_duplicates_kept_or_dropped_are_counted(write):
    path = write("log.csv", GOOD + "2,2020-03-01,9\n1,2020-02-01,12.5\n")
    kept = crmsim.calibrate(path, "2020-02-15", time_col="date", duplicates="keep")
    dropped = crmsim.calibrate(path, "2020-02-15", time_col="date", duplicates="drop")
    assert kept.report["duplicate_rows_kept"] == 2
    assert dropped.report["duplicate_rows_dropped"] == 2
    # kept: customer 1's second-day purchase is two purchases of 12.5 on one day → one of 25
    assert kept.summary.loc[1, "monetary_value"] == 25.0
    assert dropped.summary.loc[1, "monetary_value"] == 12.5
    assert kept.report["same_day_rows_combined"] == 2


def test_purchases_on_one_day_are_one_purchase_whatever_the_hour(write):
    text = ("customer_id,date,amount\n1,2020-01-01 09:15,10\n1,2020-01-01 17:40,5\n"
            "1,2020-01-08 12:00,7\n2,2020-01-02 08:00,4\n2,2020-01-03 23:59,6\n"
            "2,2020-01-15 10:00,6\n")
    calibration = crmsim.calibrate(write("log.csv", text), "2020-01-15", time_col="date")
    assert calibration.report["same_day_rows_combined"] == 1
    assert calibration.summary.loc[1, ["frequency", "recency", "T"]].tolist() == \
        pytest.approx([1, 1.0, 2.0])


def test_holdout_end_must_follow_the_calibration(cdnow):
    with pytest.raises(ScenarioError, match="holdout_end = '1997-06-30': allowed after"):
        closed_form_holdout(cdnow, CDNOW, "1997-06-30")
    with pytest.raises(ScenarioError, match="no later than the last transaction"):
        closed_form_holdout(cdnow, CDNOW, "1999-01-01")
