"""Validation reductions against closed forms, with parameters of our own choosing.

Each check must also *fail* for a deliberately wrong model, or it proves nothing: the second test
of each pair plants a classic mistake in the model and watches the check catch it.
"""

from __future__ import annotations

import pytest

import crmsim.model.market as market_module
from crmsim.errors import ScenarioError
from crmsim.model.customer import NoncontractualLife
from crmsim.validation import check_bgnbd, check_clv, check_sbg, run_validation, validation_scenario

SBG = {"churn.base.a": 1.4, "churn.base.b": 4.0, "customers.initial": 3000, "horizon": 11}
CLV = {"churn.base": 0.3, "contract.price": 40, "economics.margin_rate": 0.6,
       "economics.discount_rate": 0.02, "customers.initial": 3000, "horizon": 80}
BGNBD = {"purchase.rate.shape": 0.8, "purchase.rate.rate": 6.0, "churn.base.a": 2.0,
         "churn.base.b": 5.0, "customers.initial": 3000, "horizon": 40}


def test_sbg_survival_matches_closed_form():
    table = check_sbg(validation_scenario("sbg", SBG), seed=11)
    assert len(table) == 10 and table["passed"].all()


def test_sbg_check_catches_a_model_without_heterogeneity(monkeypatch):
    """Everyone churning with the mean θ (no Beta heterogeneity) is the classic wrong model."""
    mean_theta = 1.4 / (1.4 + 4.0)
    monkeypatch.setattr(market_module.Market, "decides_to_churn",
                        lambda self, customer, u: u < mean_theta)
    table = check_sbg(validation_scenario("sbg", SBG), seed=11)
    assert not table["passed"].all()


def test_clv_matches_closed_form():
    table = check_clv(validation_scenario("clv", CLV), seed=12)
    assert table["passed"].all()
    m, r, i = 40 * 0.6, 0.7, 0.02
    assert table["closed_form"][0] == pytest.approx(m * (1 + i) / (1 + i - r), rel=1e-9)


def test_clv_check_catches_a_missing_payment_at_acquisition(monkeypatch):
    monkeypatch.setattr(market_module.Market, "payment", lambda self, customer: None)
    assert not check_clv(validation_scenario("clv", CLV), seed=12)["passed"].all()


def test_bgnbd_mean_and_fit_match():
    table = check_bgnbd(validation_scenario("bgnbd", BGNBD), seed=13)
    assert table["passed"].all()
    assert list(table["quantity"]) == ["E[X(40)]", "fitted r", "fitted alpha", "fitted a",
                                       "fitted b"]


def test_bgnbd_mean_and_fit_match_with_a_below_one():
    """a ≤ 1 (CDNOW's a = 0.79) has a finite E[X(t)] for finite t: the reduction accepts it."""
    table = check_bgnbd(validation_scenario("bgnbd", {**BGNBD, "churn.base.a": 0.8}), seed=14)
    assert table["passed"].all()


def test_bgnbd_check_catches_drop_out_after_the_first_purchase(monkeypatch):
    """Deciding drop-out after the first (acquisition) purchase too is an off-by-one."""

    def first_purchase_with_off_by_one(life, customer, _value):
        churn, timing, _ = life.market.purchase(customer)
        life._decide(customer, churn, timing)  # decides after the first purchase too

    monkeypatch.setattr(NoncontractualLife, "_begin", first_purchase_with_off_by_one)
    table = check_bgnbd(validation_scenario("bgnbd", BGNBD), seed=13, fit=False)
    assert not table["passed"].all()


def test_checks_refuse_scenarios_that_are_not_the_reduction():
    with pytest.raises(ScenarioError, match="churn.base"):
        check_clv(validation_scenario("sbg"))
    with pytest.raises(ScenarioError, match="churn.base"):
        check_bgnbd(validation_scenario("bgnbd", {"churn.base": 0.2}))


def test_run_validation_covers_every_reduction():
    table = run_validation(overrides={"customers.initial": 800})
    assert set(table["reduction"]) == {"sbg", "clv", "bgnbd", "erlang_c", "bass"}
