"""Satisfaction from disconfirmation: exceeding expectations raises it, then wears off."""

from __future__ import annotations

import numpy as np
import pytest

import crmsim
from crmsim.model.satisfaction import experience
from crmsim.scenario import Satisfaction


class _Customer:
    def __init__(self, expectation):
        self.expectation = expectation
        self.satisfaction = 0.0


def _path(cfg, quality_steps):
    c = _Customer(cfg.initial_expectation)
    sat, exp = [], []
    for q in quality_steps:
        experience(c, cfg.model_copy(update={"service_quality": q}), 0.0)
        sat.append(c.satisfaction)
        exp.append(c.expectation)
    return np.array(sat), np.array(exp)


def test_met_expectations_leave_satisfaction_neutral():
    cfg = Satisfaction(service_quality=0.7, initial_expectation=0.7)
    sat, exp = _path(cfg, [0.7] * 20)
    assert np.allclose(sat, 0) and np.allclose(exp, 0.7)


def test_exceeding_expectations_wears_off():
    cfg = Satisfaction(initial_expectation=0.7, adaptation=0.2, memory=0.4,
                       performance_weight=0.5, disconfirmation_weight=1.0)
    sat, exp = _path(cfg, [0.8] * 80)
    limit = 0.5 * (0.8 - 0.7)  # only the performance part remains
    peak = sat.argmax()
    assert sat[peak] > limit + 0.03  # the surprise lifts satisfaction well above the limit
    assert 0 < peak < 15
    assert np.all(np.diff(sat[peak:]) <= 1e-12)  # then it falls back ...
    assert sat[-1] == pytest.approx(limit, abs=1e-4)  # ... to the performance part
    assert exp[-1] == pytest.approx(0.8, abs=1e-4)  # expectations caught up
    assert np.all(np.diff(exp) > 0)


def test_falling_short_lowers_satisfaction():
    cfg = Satisfaction(initial_expectation=0.7)
    sat, _ = _path(cfg, [0.55] * 5)
    assert np.all(sat < 0) and np.all(np.diff(sat) < 0)


def test_cohort_satisfaction_peaks_then_declines_in_the_model():
    """A better service than customers expect: cohort satisfaction rises, then erodes."""
    sc = crmsim.Scenario().with_overrides({
        "customers.initial": 1500, "horizon": 300, "report_every": 10, "churn.base": 0.0,
        "purchase.rate": 0.1, "satisfaction.service_quality": 0.85,
        "satisfaction.initial_expectation": 0.7, "satisfaction.quality_noise": 0.05,
    })
    ts = crmsim.simulate(sc, seed=1).timeseries
    series = ts["mean_satisfaction"].to_numpy()[1:]
    peak = series.argmax()
    assert 0 < peak < len(series) // 3
    assert series[-1] < series[peak] - 0.03
    assert series[-1] == pytest.approx(0.5 * 0.15, abs=0.015)
