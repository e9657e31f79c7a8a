"""The policy protocol and registry: one shape for every policy, imports one way."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import crmsim
from crmsim.model.market import Market
from crmsim.model.policy import HOOKS, Policy, overrides
from crmsim.policies import REGISTRY, cost_accounts
from crmsim.results import EVENT_KINDS, KPI_DESCRIPTIONS
from crmsim.scenario import Scenario

PACKAGE = Path(crmsim.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_model_imports_only_the_registry():
    """The model knows the protocol and the registry, never a policy module."""
    for path in (PACKAGE / "model").glob("*.py"):
        policy_imports = {m for m in _imports(path) if m.startswith("crmsim.policies")}
        allowed = {"crmsim.policies"} if path.name == "market.py" else set()
        assert policy_imports <= allowed, f"{path.name} imports {policy_imports - allowed}"


def test_no_policy_imports_the_market():
    for path in (PACKAGE / "policies").glob("*.py"):
        assert "crmsim.model.market" not in _imports(path), path.name
        assert "crmsim.scenario" not in _imports(path), path.name


def test_every_policy_owns_its_sections_kpis_and_events():
    fields = Scenario.model_fields
    for policy in REGISTRY:
        assert issubclass(policy, Policy)
        for key, section in policy.SECTIONS.items():
            assert fields[key].annotation is section, key
        for kpi in {**policy.KPIS, **policy.COSTS}:
            assert kpi in KPI_DESCRIPTIONS, kpi
        for kind in policy.EVENTS:
            assert kind in EVENT_KINDS, kind
    assert set(cost_accounts()) >= {a for p in REGISTRY for a in p.COSTS}


def test_schema_lists_every_policy_section():
    properties = Scenario.model_json_schema()["properties"]
    for policy in REGISTRY:
        assert set(policy.SECTIONS) <= set(properties)


def test_a_run_reports_every_cost_account_as_a_kpi(retail_small):
    kpis = crmsim.simulate(retail_small, seed=1).kpis
    assert set(cost_accounts()) <= set(kpis)
    assert kpis["costs"] == pytest.approx(sum(kpis[a] for a in cost_accounts()))


def test_only_enabled_policies_that_define_a_hook_are_called(retail_small):
    """An unused hook costs nothing: its list holds only the policies that define it."""
    market = Market(retail_small, np.random.SeedSequence(1))
    for hook in HOOKS:
        for bound in market.hooks[hook]:
            assert bound.__self__.enabled and overrides(bound.__self__, hook)
    assert market.hooks["recover"] == []  # no desk in the retail baseline
    assert market.hooks["churn_terms"] == []  # no lock-in, rival or offers either
    points = crmsim.load_scenario("retail_points").with_overrides({"customers.initial": 50})
    market = Market(points, np.random.SeedSequence(1))
    assert market.hooks["churn_terms"] == []  # lock-in is a barrier, not an intention
    assert [type(h.__self__).__name__ for h in market.hooks["barriers"]] == [
        "RewardsProgramme"]


def test_policy_lookup_by_section(retail_small):
    market = Market(retail_small, np.random.SeedSequence(1))
    assert "warning" in market.policy("warning").SECTIONS
    with pytest.raises(KeyError, match="no policy owns section 'nothing'"):
        market.policy("nothing")
