"""Acquisition (客户开发): paid marketing, targeting, a finite market and word of mouth (Bass)."""

from __future__ import annotations

import numpy as np
import pytest

import crmsim
from crmsim.analysis import proportion_ci
from crmsim.policies import acquisition as acquisition_module
from crmsim.validation import check_bass, validation_scenario


def test_budget_sets_the_paid_rate_and_cac(retail_small):
    sc = retail_small.with_overrides({"acquisition.rate": 0, "acquisition.budget": 100.0,
                                      "acquisition.cost_per_acquisition": 25.0})
    k = crmsim.simulate(sc, seed=1).kpis
    assert k["acquired"] == k["acquired_paid"]
    assert k["cac"] == pytest.approx(25.0)
    assert k["acquisition_cost"] == pytest.approx(25.0 * k["acquired_paid"])
    expected = 4.0 * sc.horizon  # budget / CPA per day
    assert abs(k["acquired_paid"] - expected) < 4 * np.sqrt(expected)


def test_selective_acquisition_finds_better_customers_at_a_higher_cac(retail_small):
    anyone = crmsim.simulate(retail_small, seed=2)
    picky_sc = retail_small.with_overrides({"acquisition.selectivity": 0.5,
                                            "acquisition.cost_per_acquisition": 20.0})
    picky = crmsim.simulate(picky_sc, seed=2)
    assert picky.kpis["cac"] == pytest.approx(40.0)
    new = lambda res: res.customers[res.customers["acquired_at"] > 0]  # noqa: E731
    # the same customers' uniforms, squeezed into the better half: lower churn propensity
    assert (new(picky)["churn_propensity"].to_numpy()
            <= new(anyone)["churn_propensity"].to_numpy() + 1e-12).all()
    assert (new(picky)["purchase_rate"].to_numpy()
            >= new(anyone)["purchase_rate"].to_numpy() - 1e-12).all()


def test_a_finite_market_runs_dry(retail_small):
    sc = retail_small.with_overrides({"acquisition.rate": 5.0, "acquisition.market_size": 400})
    k = crmsim.simulate(sc, seed=3).kpis
    assert k["initial"] + k["acquired"] == 400


def test_market_must_hold_the_initial_base():
    with pytest.raises(crmsim.ScenarioError, match="exceeds acquisition.market_size"):
        crmsim.Scenario().with_overrides({"customers.initial": 50,
                                          "acquisition.market_size": 10})


def test_rate_and_budget_are_exclusive():
    with pytest.raises(crmsim.ScenarioError, match="not both"):
        crmsim.Scenario().with_overrides({"acquisition.rate": 1, "acquisition.budget": 10,
                                          "acquisition.cost_per_acquisition": 5})


def test_bass_reduction_matches_the_closed_form():
    table = check_bass(validation_scenario("bass", {"acquisition.imitation": 0.4,
                                                    "acquisition.innovation": 0.02,
                                                    "horizon": 30}), seed=7)
    assert table["passed"].all(), table


def test_bass_check_catches_word_of_mouth_without_the_shrinking_market(monkeypatch):
    """A model where prospects never run out ((M − N) replaced by M) must fail the check."""
    def rate_without_depletion(self, influence):
        cfg = self.cfg
        return cfg.market_size * (cfg.innovation + cfg.imitation * influence / cfg.market_size)

    monkeypatch.setattr(acquisition_module.AcquisitionPolicy, "adoption_rate",
                        rate_without_depletion)
    table = check_bass(validation_scenario("bass", {"horizon": 12}), seed=7)
    assert not table["passed"].all()


def test_bass_check_catches_a_sign_error_in_imitation(monkeypatch):
    def rate_with_flipped_imitation(self, influence):
        cfg = self.cfg
        hazard = cfg.innovation - cfg.imitation * influence / cfg.market_size
        return max(self.prospects, 0) * max(hazard, 0.0)

    monkeypatch.setattr(acquisition_module.AcquisitionPolicy, "adoption_rate",
                        rate_with_flipped_imitation)
    assert not check_bass(validation_scenario("bass"), seed=7)["passed"].all()


def test_word_of_mouth_innovation_alone_is_exponential():
    sc = validation_scenario("bass", {"acquisition.imitation": 0.0, "acquisition.innovation": 0.05,
                                      "horizon": 10})
    acquired = crmsim.simulate(sc, seed=8).customers
    n, size = len(acquired), sc.acquisition.market_size
    _, low, high = proportion_ci(n, size)
    assert low <= 1 - np.exp(-0.05 * 10) <= high


def test_satisfied_customers_recommend_and_dissatisfied_ones_warn():
    base = crmsim.load_scenario("retail_baseline").with_overrides({
        "customers.initial": 300, "horizon": 120, "acquisition.rate": 0,
        "acquisition.market_size": 3000, "acquisition.innovation": 0.0005,
        "acquisition.imitation": 0.3, "acquisition.word_of_mouth": "satisfaction",
        "acquisition.update_every": 5.0})
    good = crmsim.simulate(base.with_overrides({"satisfaction.service_quality": 0.8}), seed=9)
    bad = crmsim.simulate(base.with_overrides({"satisfaction.service_quality": 0.6}), seed=9)
    assert good.kpis["acquired_word_of_mouth"] > 1.5 * bad.kpis["acquired_word_of_mouth"]
    assert good.kpis["acquisition_cost"] == 0 and np.isnan(good.kpis["cac"])
    wom = good.events[(good.events["kind"] == "acquired")
                      & (good.events["details"] == "word_of_mouth")]
    assert len(wom) == good.kpis["acquired_word_of_mouth"] == good.kpis["acquired"]
