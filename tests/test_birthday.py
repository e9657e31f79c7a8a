"""The worked example of a new policy: a birthday coupon, one module plus one registry line."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import crmsim
from crmsim.policies import REGISTRY
from crmsim.policies.birthday import BirthdayCoupon

SCENARIO = """\
name: birthday_demo
market: {{setting: noncontractual}}
customers: {{initial: 400}}
purchase: {{rate: 0.02, spend: 50}}
churn: {{base: 0.0}}
horizon: 365
birthday:
  enabled: true
  year: 365
  duration: 7
  rate_boost: {boost}
  discount: 0.1
  cost_per_coupon: 2.0
"""


@pytest.fixture
def birthday_file(write):
    def _file(boost=3.0):
        return write("birthday.yaml", SCENARIO.format(boost=boost))

    return _file


def test_registered_in_schema_and_kpis():
    assert BirthdayCoupon in REGISTRY
    assert "birthday" in crmsim.Scenario.model_json_schema()["properties"]
    for kpi in ("birthday_coupons", "birthday_purchases", "birthday_discount", "birthday_cost"):
        assert kpi in crmsim.KPI_DESCRIPTIONS


def test_unknown_key_in_its_section_gets_a_suggestion():
    with pytest.raises(crmsim.ScenarioError, match="did you mean 'birthday.rate_boost'"):
        crmsim.Scenario().with_overrides({"birthday.rate_bost": 1.0})


def test_off_by_default_and_reported_as_zero(retail_small):
    kpis = crmsim.simulate(retail_small, seed=1).kpis
    assert kpis["birthday_coupons"] == 0 and kpis["birthday_cost"] == 0


def test_extra_purchases_match_the_superposed_poisson_rate(birthday_file):
    """N customers with rate λ who never leave each get one coupon in a one-year run (Y days);
    the coupon adds a Poisson number of purchases with mean N λ b E[window], where b is the
    boost and the window is the coupon's duration d, cut short for birthdays within d of the
    horizon: E[window] = d − d² / (2Y)."""
    sc = crmsim.load_scenario(birthday_file())
    res = crmsim.simulate(sc, seed=3)
    n, rate, boost, days = 400, 0.02, 3.0, 7.0
    kpis = res.kpis
    assert kpis["birthday_coupons"] == n  # every birthday falls in the first year
    assert kpis["birthday_cost"] == pytest.approx(2.0 * n)
    expected = n * rate * boost * (days - days**2 / (2 * 365))  # ≈ 167.7
    low, high = stats.poisson.ppf([0.0005, 0.9995], expected)
    assert low <= kpis["birthday_purchases"] <= high
    coupons = res.events[res.events["kind"] == "birthday_coupon"]
    assert len(coupons) == n and coupons["customer_id"].is_unique


def test_coupon_raises_sales_and_costs_money(birthday_file):
    """Paired with common random numbers: more purchases, the cost of the coupons, and the
    discount given away — every lever has a price."""
    sc = crmsim.load_scenario(birthday_file())
    off = sc.with_overrides({"birthday.enabled": False})
    cmp = crmsim.compare({"off": off, "coupon": sc}, replications=4, seed=0, progress=False)
    diff = cmp.differences.xs("coupon", level="scenario")
    assert diff.loc["purchases", "low"] > 0
    assert diff.loc["costs", "mean"] == pytest.approx(2.0 * 400)  # one coupon each
    coupon_kpis = cmp.kpis[(cmp.kpis.scenario == "coupon") & (cmp.kpis.kpi == "birthday_discount")]
    assert (coupon_kpis["value"] > 0).all()


def test_needs_a_noncontractual_market(telecom_small):
    with pytest.raises(crmsim.ScenarioError, match="birthday.enabled needs market.setting"):
        telecom_small.with_overrides({"birthday.enabled": True})


def test_no_coupon_for_a_customer_gone_before_its_birthday(birthday_file):
    sc = crmsim.load_scenario(birthday_file()).with_overrides({"churn.base": 1.0})
    res = crmsim.simulate(sc, seed=1)
    gone = res.customers["churned_at"].notna()
    coupons = res.events[res.events["kind"] == "birthday_coupon"]
    first_buyers = res.customers.loc[gone, "customer_id"]
    # everyone leaves after its first repeat purchase; coupons reach only those still there
    churned_at = res.customers.set_index("customer_id")["churned_at"]
    assert np.all(coupons["time"].to_numpy() < churned_at.reindex(coupons["customer_id"])
                  .fillna(np.inf).to_numpy())
    assert len(first_buyers) > 0
