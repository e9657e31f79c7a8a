"""Benchmark: calibrate a synthetic transaction log of about 1,000,000 purchases by 100,000
customers (target: under 60 s on this machine). Not a test: timing never decides a test.

The log is drawn, vectorised, from the models being fitted, so the fit can also be compared with
the truth: customers make a first purchase during the first 12 weeks (as the CDNOW cohort did),
then buy as a Poisson process with rate λ ~ Gamma(r, α) per week and drop out after each repeat
purchase with probability p ~ Beta(a, b); each purchase is Gamma(p, ν) with ν ~ Gamma(q, γ).
Times are written as calendar dates (ISO strings in a CSV, as a shop would export them), 78 weeks
in all; the calibration period is the first 39 weeks. Taking times to the day and adding up a
customer's purchases on one day (as crmsim does with any log of dates) makes the log slightly
different from the continuous-time model, so the estimates sit a little off the truth at this
sample size; the exact round trip is in tests/test_calibration.py.

    python benchmarks/calibrate.py [--customers 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import crmsim
from crmsim.analysis import fit_bgnbd, fit_gamma_gamma, rfm_summary
from crmsim.transaction_log import read_transactions

TRUTH = dict(r=2.0, alpha=9.5, a=1.5, b=20.0, p=6.0, q=4.0, gamma=15.0)
WEEKS, CALIBRATION_WEEKS, ORIGIN = 78, 39, pd.Timestamp("2020-01-01")


def synthetic_log(customers: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    first = rng.integers(0, 84, size=customers) / 7                       # weeks
    rate = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], size=customers)
    dropout = rng.beta(TRUTH["a"], TRUTH["b"], size=customers)
    nu = rng.gamma(TRUTH["q"], 1 / TRUTH["gamma"], size=customers)
    # repeat purchases of an immortal customer: Poisson count, uniform times; the customer
    # drops out after a Geometric(p) number of them
    count = rng.poisson(rate * (WEEKS - first))
    owner = np.repeat(np.arange(customers), count)
    times = first[owner] + rng.random(owner.size) * (WEEKS - first)[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    keep = rank < rng.geometric(dropout)[owner]
    owner = np.concatenate([np.arange(customers), owner[keep]])
    times = np.concatenate([first, times[keep]])
    amount = np.round(rng.gamma(TRUTH["p"], 1 / nu[owner]), 2)
    days = np.floor(times * 7).astype("int64")
    dates = (ORIGIN + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    return pd.DataFrame({"customer_id": owner, "date": dates, "amount": amount})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    log = synthetic_log(args.customers, args.seed)
    print(f"synthetic log: {len(log):,} transactions, {log['customer_id'].nunique():,} "
          f"customers ({time.perf_counter() - start:.1f} s to draw)")
    end = str((ORIGIN + pd.Timedelta(weeks=CALIBRATION_WEEKS)).date())
    options = dict(time_col="date", duplicates="keep")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        log.to_csv(path, index=False)
        start = time.perf_counter()
        calibration = crmsim.calibrate(path, end, **options)
        total = time.perf_counter() - start

    # the same work in steps, from the DataFrame, to see where the time goes
    steps = {}
    start = time.perf_counter()
    checked = read_transactions(log, **options)
    steps["read and check the log"] = time.perf_counter() - start
    table = checked.table
    cut = calibration.calibration_end
    start = time.perf_counter()
    summary = rfm_summary(table[table["time"] <= cut], cut)
    steps["per-customer summary"] = time.perf_counter() - start
    start = time.perf_counter()
    purchases = fit_bgnbd(summary)
    steps[f"BG/NBD fit ({purchases.attrs['starts']} starts + Hessian)"] = \
        time.perf_counter() - start
    start = time.perf_counter()
    fit_gamma_gamma(summary)
    steps["Gamma-Gamma fit"] = time.perf_counter() - start

    print(f"\ncalibrate(CSV path) end to end: {total:.1f} s (target < 60 s)")
    for name, seconds in steps.items():
        print(f"  {name:<40} {seconds:6.2f} s")
    print(f"\n{calibration.report['calibration_customers']:,} customers fitted, "
          f"{calibration.report['same_day_rows_combined']:,} same-day rows combined")
    fit = calibration.fit.assign(truth=pd.Series(TRUTH))
    print(fit[["model", "truth", "estimate", "low", "high"]].to_string(float_format="%.4g"))


if __name__ == "__main__":
    main()
