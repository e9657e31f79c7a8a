"""The written-out life (crmsim.model.plain_life) is the general path, to the last bit.

Runs in which no policy hooks into a purchase take :func:`crmsim.model.plain_life.plain_life`
instead of :func:`crmsim.model.customer.noncontractual_life` with the market's ``purchase`` and
``decides_to_churn``. Each scenario here exercises one of its branches (prices, tenure effects,
switching-cost shocks, constant spends, certain churn, a population file, the decline wake-up,
acquisition) and must give the same tables both ways. The shipped scenarios are covered by
tests/test_digests.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmsim
from crmsim.model import plain_life
from crmsim.model.market import Market
from crmsim.simulation import as_seed_sequence

SMALL = {"customers.initial": 400, "horizon": 200}

CASES = {
    "baseline": {},
    "price_and_tenure": {"economics.price_index": 1.2, "economics.spend_growth": 0.5,
                         "economics.price_premium": 0.1, "economics.tenure_maturity": 90},
    "shocks": {"switching_cost.shocks": [{"at": 60, "factor": 0.2,
                                          "components": ["procedural", "relational"]}]},
    "constant_spend_no_segments": {"customers.segments": {}, "purchase.spend": 25.0,
                                   "switching_cost.relational": 0.0},
    "certain_and_no_churn": {"customers.segments": {}, "churn.base": 1.0},
    "textbook": {"customers.segments": {}, "churn.base": 0.0,
                 "churn.coefficients": {"satisfaction": 0.0, "price": 0.0,
                                        "switching_cost": 0.0}},
}


def _tables(scenario, seed, written_out, monkeypatch):
    monkeypatch.setattr(plain_life, "ENABLED", written_out)
    result = crmsim.simulate(scenario, seed=seed)
    return result, {name: getattr(result, name) for name in ("events", "customers",
                                                              "timeseries")}


@pytest.mark.parametrize("case", list(CASES))
def test_the_written_out_life_gives_the_general_paths_tables(case, monkeypatch):
    scenario = crmsim.load_scenario("retail_baseline").with_overrides({**SMALL, **CASES[case]})
    assert plain_life.applies(Market(scenario, as_seed_sequence(1)))
    for seed in (1, 2):
        general, expected = _tables(scenario, seed, False, monkeypatch)
        fast, got = _tables(scenario, seed, True, monkeypatch)
        for name in expected:
            pd.testing.assert_frame_equal(got[name], expected[name], check_exact=True)
        assert fast.kpis == pytest.approx(general.kpis, rel=0, abs=0, nan_ok=True)


def test_a_population_file_resumes_into_the_written_out_life(tmp_path, monkeypatch):
    n = 300
    table = pd.DataFrame({"acquired_at": -40.0, "purchases": 3,
                          "last_purchase": np.where(np.arange(n) % 2 == 0, -1.0, -30.0)})
    path = tmp_path / "population.parquet"
    table.to_parquet(path, index=False)
    scenario = crmsim.Scenario().with_overrides({"market.setting": "noncontractual",
                                                 "customers.population": str(path),
                                                 "horizon": 120.0, "purchase.rate": 0.2})
    _, expected = _tables(scenario, 3, False, monkeypatch)
    _, got = _tables(scenario, 3, True, monkeypatch)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], check_exact=True)


def test_a_policy_in_the_purchase_keeps_the_general_path():
    scenario = crmsim.load_scenario("retail_points")
    assert not plain_life.applies(Market(scenario, as_seed_sequence(1)))
    contractual = crmsim.load_scenario("telecom_baseline")
    assert not plain_life.applies(Market(contractual, as_seed_sequence(1)))
