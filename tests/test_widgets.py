"""The scenario explorer builds controls from the schema and runs without a browser."""

from __future__ import annotations

import ipywidgets as w
import matplotlib
import pytest

import crmsim
from crmsim.widgets import ScenarioExplorer, control_for

matplotlib.use("Agg")


@pytest.fixture
def small():
    return crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 80, "horizon": 60})


def test_controls_follow_the_schema(small):
    quality = control_for(small, "satisfaction.adaptation")
    assert isinstance(quality, w.FloatSlider) and (quality.min, quality.max) == (0, 1)
    assert quality.value == small.satisfaction.adaptation
    setting = control_for(small, "market.setting")
    assert isinstance(setting, w.Dropdown) and "contractual" in setting.options
    agents = control_for(small, "service.agents", (0, 10, 1))
    assert isinstance(agents, w.IntSlider)
    with pytest.raises(crmsim.ScenarioError, match="no finite range"):
        control_for(small, "satisfaction.initial_expectation")
    with pytest.raises(crmsim.ScenarioError, match="not a key"):
        control_for(small, "satisfaction.nothing")


def test_explorer_runs_with_the_slider_values(small):
    explorer = ScenarioExplorer(small, {"satisfaction.service_quality": (0.4, 1.0, 0.01)},
                                compare=False)
    explorer.controls["satisfaction.service_quality"].value = 0.9
    result = explorer.run()
    assert result.scenario.satisfaction.service_quality == 0.9
    assert explorer.current().satisfaction.service_quality == 0.9


def test_a_panel_opens_with_the_lessons_change_against_the_baseline(small):
    explorer = ScenarioExplorer(small, ["satisfaction.service_quality"], replications=2,
                                start={"satisfaction.service_quality": 0.8})
    comparison = explorer.run()  # compare is the default
    assert comparison.scenarios["baseline"] == small
    assert comparison.scenarios["your policy"].satisfaction.service_quality == 0.8
    with pytest.raises(crmsim.ScenarioError, match="not one of the panel's keys"):
        ScenarioExplorer(small, ["satisfaction.service_quality"], start={"service.agents": 3})


def test_explorer_compares_against_the_unchanged_scenario(small):
    explorer = ScenarioExplorer(small, {"satisfaction.service_quality": (0.4, 1.0, 0.01)},
                                compare=True, replications=2)
    explorer.controls["satisfaction.service_quality"].value = 0.5
    comparison = explorer.run()
    assert set(comparison.scenarios) == {"baseline", "your policy"}
    assert comparison.differences.loc[("your policy", "churned"), "mean"] > 0


def test_the_run_button_draws_into_the_panel(small):
    explorer = ScenarioExplorer(small, {"satisfaction.service_quality": (0.4, 1.0, 0.01)},
                                compare=False)
    explorer.button.click()
    assert explorer.result is not None
    assert explorer.result.scenario == explorer.current()
