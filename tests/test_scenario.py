"""Scenario loading, extends:, overrides, and every class of bad input."""

from __future__ import annotations

import json

import pytest

import crmsim
from crmsim.distributions import BetaDist
from crmsim.scenario import SCENARIO_DIR, Scenario, list_scenarios, parse_assignment


def test_every_shipped_scenario_loads():
    rows = list_scenarios()
    names = {name for name, _ in rows}
    assert {"retail_baseline.yaml", "telecom_baseline.yaml", "validation/sbg.yaml",
            "validation/clv.yaml", "validation/bgnbd.yaml"} <= names
    assert all(not description.startswith("(invalid") for _, description in rows)
    assert all(description for _, description in rows)


def test_defaults_are_the_textbook_model():
    sc = Scenario()
    assert sc.churn.coefficients.satisfaction == 0 and sc.churn.coefficients.switching_cost == 0
    assert sc.acquisition.rate == 0


def test_load_by_name_and_by_path():
    by_name = crmsim.load_scenario("retail_baseline")
    by_path = crmsim.load_scenario(SCENARIO_DIR / "retail_baseline.yaml")
    assert by_name == by_path
    assert by_name.name == "retail_baseline"
    assert by_name.market.setting == "noncontractual"
    assert crmsim.load_scenario("telecom_baseline").market.setting == "contractual"


def test_extends_chain_merges_relative_to_each_file(write):
    write("base/a.yaml", "customers: {initial: 10}\nchurn: {base: {dist: beta, a: 1, b: 2}}\n")
    write("base/b.yaml", "extends: a.yaml\nchurn: {base: {a: 3}}\nhorizon: 20\n")
    child = write("class/c.yaml", "extends: ../base/b.yaml\nname: week3\nhorizon: 30\n")
    sc = crmsim.load_scenario(child)
    assert sc.name == "week3"
    assert sc.customers.initial == 10
    assert sc.churn.base == BetaDist(a=3, b=2)  # a merged over the base, b inherited
    assert sc.horizon == 30


def test_shipped_variant_extends_baseline():
    base = crmsim.load_scenario("retail_baseline")
    better = crmsim.load_scenario("retail_better_service")
    assert better.satisfaction.service_quality > base.satisfaction.service_quality
    assert better.purchase == base.purchase and better.churn == base.churn


def test_with_overrides_dotted_and_validated():
    sc = crmsim.load_scenario("retail_baseline")
    sc2 = sc.with_overrides({"churn.base.a": 0.7, "customers.initial": 5})
    assert sc2.churn.base.a == 0.7 and sc2.churn.base.b == sc.churn.base.b
    assert sc2.customers.initial == 5
    assert sc.churn.base.a != 0.7  # the original is untouched
    assert sc2.source == sc.source


def test_override_replaces_distribution_by_number():
    sc = crmsim.load_scenario("retail_baseline").with_overrides({"churn.base": 0.2})
    assert sc.churn.base == 0.2


def _error(callable_, *args):
    with pytest.raises(crmsim.ScenarioError) as info:
        callable_(*args)
    return str(info.value)


def test_unknown_key_suggests_closest(write):
    path = write("bad.yaml", "churn:\n  bsae: 0.1\n")
    message = _error(crmsim.load_scenario, path)
    assert "bad.yaml" in message
    assert "unknown key 'churn.bsae'" in message
    assert "did you mean 'churn.base'" in message


def test_unknown_top_level_key_via_override():
    message = _error(Scenario().with_overrides, {"horizn": 10})
    assert "unknown key 'horizn'" in message and "did you mean 'horizon'" in message


def test_wrong_type_names_key_value_and_rule(write):
    path = write("bad.yaml", "customers:\n  initial: lots\n")
    message = _error(crmsim.load_scenario, path)
    assert "customers.initial = 'lots'" in message and "integer" in message


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"churn.base": 1.5}, "churn.base = 1.5: input should be less than or equal to 1"),
        ({"economics.margin_rate": -0.1}, "economics.margin_rate = -0.1"),
        ({"purchase.rate": -2}, "purchase.rate = -2: input should be greater than or equal to 0"),
        ({"churn.base": {"dist": "beta", "a": 0, "b": 1}}, "churn.base.a = 0"),
        ({"acquisition.rate": -1}, "acquisition.rate = -1"),
        ({"horizon": 0}, "horizon = 0: input should be greater than 0"),
        # not finite: a horizon of infinity never ends, NaN poisons every KPI
        ({"horizon": float("inf")}, "horizon = inf: input should be a finite number"),
        ({"satisfaction.service_quality": float("nan")},
         "satisfaction.service_quality = nan: input should be a finite number"),
        ({"churn.base": {"dist": "beta", "a": float("inf"), "b": 1}},
         "churn.base.a = inf: input should be a finite number"),
        ({"warning.offer_effect": float("-inf")}, "warning.offer_effect = -inf"),
        # a switch is not a number (YAML's true would otherwise pass as 1)
        ({"customers.initial": True}, "customers.initial = True: a number is required, not true"),
        ({"service.agents": False}, "service.agents = False: a number is required, not false"),
        ({"churn.base": True}, "churn.base = True: a number is required"),
    ],
)
def test_out_of_range_values(overrides, fragment):
    assert fragment in _error(Scenario().with_overrides, overrides)


def test_finite_and_switch_rules_reach_yaml_files(write):
    path = write("bad.yaml", "horizon: .inf\ncustomers: {initial: true}\n")
    message = _error(crmsim.load_scenario, path)
    assert "horizon = inf: input should be a finite number" in message
    assert "customers.initial = True: a number is required, not true" in message


def test_switches_still_take_booleans():
    assert Scenario().with_overrides({"rewards.enabled": True}).rewards.enabled is True


def test_override_through_a_number_is_explained():
    message = _error(Scenario().with_overrides, {"churn.base.a": 1.0})
    assert "churn.base is 0.1, not a mapping" in message


def test_segment_shares_must_sum_to_one():
    message = _error(Scenario().with_overrides,
                     {"customers.segments": {"a": {"share": 0.5}, "b": {"share": 0.3}}})
    assert "customers" in message and "sum to 0.8" in message


def test_missing_extends_file(write):
    path = write("child.yaml", "extends: nowhere.yaml\n")
    message = _error(crmsim.load_scenario, path)
    assert "extends = 'nowhere.yaml'" in message and "file not found" in message


def test_extends_cycle_is_detected(write):
    write("a.yaml", "extends: b.yaml\n")
    write("b.yaml", "extends: c.yaml\n")
    path = write("c.yaml", "extends: a.yaml\n")
    message = _error(crmsim.load_scenario, path)
    assert "cycle" in message and "c.yaml -> a.yaml -> b.yaml -> c.yaml" in message


def test_malformed_yaml_points_at_the_line(write):
    path = write("broken.yaml", "customers:\n  initial: 10\n churn: [\n")
    message = _error(crmsim.load_scenario, path)
    assert "malformed YAML at line" in message and "broken.yaml" in message


def test_yaml_that_is_not_a_mapping(write):
    path = write("list.yaml", "- a\n- b\n")
    assert "must be a mapping" in _error(crmsim.load_scenario, path)


def test_missing_file_lists_shipped_scenarios():
    message = _error(crmsim.load_scenario, "no_such_scenario")
    assert "file not found" in message and "retail_baseline" in message


@pytest.mark.parametrize("text", ["service.agents", "=5", "churn.base=", "a=[1,"])
def test_bad_set_assignments(text):
    with pytest.raises(crmsim.ScenarioError):
        parse_assignment(text)


def test_set_values_are_yaml():
    assert parse_assignment("churn.base={dist: beta, a: 1, b: 2}") == (
        "churn.base", {"dist": "beta", "a": 1, "b": 2})
    assert parse_assignment("customers.initial=50") == ("customers.initial", 50)


def test_json_schema_describes_keys():
    schema = json.loads(json.dumps(Scenario.model_json_schema()))
    assert "churn" in schema["properties"]
    assert schema["additionalProperties"] is False
