"""The service desk: a real SimPy priority queue with patience, staffing and recovery."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import simpy

import crmsim
import crmsim.policies.service_desk as desk_module
from crmsim.model.market import SegmentParams
from crmsim.policies.service_desk import INQUIRY, Service, ServiceDesk, desk_figures
from crmsim.scenario import SwitchingCost
from crmsim.validation import check_erlang_c, validation_scenario


class _Stream:
    """Predetermined uniforms, as a customer's handling stream would give them."""

    def __init__(self, values):
        self.values = list(values)

    def next(self):
        return self.values.pop(0)


def _segment(name):
    return SegmentParams(name, 1.0, 0.1, 0.1, 10.0, SwitchingCost())


class _Caller:
    def __init__(self, name, segment, handle, patience_u=0.5, mean_handle=1.0):
        self.name = name
        self.id = ord(name)
        self.segment = segment
        self.active = True
        self.priority_boost = 0
        u_handle = -math.expm1(-handle / mean_handle)  # exponential quantile of `handle`
        self.handling = _Stream([u_handle, patience_u])


def _desk(**service):
    env = simpy.Environment()
    segments = [_segment("vip"), _segment("mass")]
    cfg = Service(handle_time=1.0, **service)
    return env, ServiceDesk(env, cfg, streams=None, segments=segments)


def _call(env, desk, caller, at, trace):
    def process():
        yield env.timeout(at)
        answered = yield from desk.contact(caller, INQUIRY)
        trace.append((env.now, caller.name, answered))
    env.process(process())


def test_priority_orders_the_queue_and_patience_abandons():
    env, desk = _desk(agents=1, priority={"vip": 0, "mass": 1}, patience=3.0)
    vip, mass = _segment("vip"), _segment("mass")
    trace = []
    _call(env, desk, _Caller("A", mass, handle=10, patience_u=0.999), 0, trace)
    _call(env, desk, _Caller("B", mass, handle=2, patience_u=0.999), 1, trace)
    _call(env, desk, _Caller("C", vip, handle=5, patience_u=0.999), 2, trace)
    # D: patience −3·ln(1 − u) = 3·ln 2 ≈ 2.08 < the wait it would face
    _call(env, desk, _Caller("D", vip, handle=1, patience_u=0.5), 3, trace)
    env.run()
    assert [(who, answered) for _, who, answered in trace] == [
        ("D", False), ("A", True), ("C", True), ("B", True)]
    assert [t for t, _, _ in trace] == pytest.approx([3 + 3 * math.log(2), 10, 15, 17])
    log = desk.log()
    assert list(log["answered"]) == [True, False, True, True]  # written at answer / hang-up
    assert list(log["customer_id"]) == [ord(x) for x in "ADCB"]
    by_arrival = log.sort_values("arrival").set_index("arrival")["wait"]
    assert by_arrival.to_dict() == pytest.approx({0: 0, 1: 14, 2: 8, 3: 3 * math.log(2)})
    assert desk.busy_time == pytest.approx(17)


def test_staffing_schedule_holds_off_duty_agents():
    shifts = [{"start": 0, "end": 5, "agents": 1}, {"start": 5, "end": 10, "agents": 2}]
    env, desk = _desk(schedule=shifts, schedule_period=10)
    mass = _segment("mass")
    trace = []
    _call(env, desk, _Caller("A", mass, handle=3), 0.5, trace)
    _call(env, desk, _Caller("B", mass, handle=1), 1.0, trace)  # one agent: waits for A
    _call(env, desk, _Caller("C", mass, handle=1), 6.0, trace)
    _call(env, desk, _Caller("D", mass, handle=1), 6.0, trace)  # two agents: no wait
    env.run(until=20)
    waits = desk.log().set_index("arrival")["wait"]
    assert waits[1.0] == pytest.approx(2.5)
    assert (desk.log()["wait"][desk.log()["arrival"] == 6.0] == 0).all()
    assert desk.on_duty(2) == 1 and desk.on_duty(7) == 2 and desk.on_duty(12) == 1
    assert desk.agent_time(10) == pytest.approx(15) and desk.agent_time(25) == pytest.approx(35)


def test_desk_figures_by_hand():
    log = pd.DataFrame({"arrival": [0, 1, 2, 3, 4], "wait": [0, 0.1, 0.3, 0.5, 0],
                        "answered": [True, True, True, False, True], "kind": "inquiry"})
    figures = desk_figures(log, sla_target=0.2)
    assert figures == pytest.approx({"contacts": 5, "answered": 4, "wait_probability": 0.5,
                                     "asa": 0.1, "service_level": 0.6, "abandon_rate": 0.2})


def test_erlang_c_reduction_with_own_numbers():
    sc = validation_scenario("erlang_c", {"service.agents": 4, "service.handle_time": 2.0,
                                          "service.contact_rate": 0.0015, "horizon": 12000,
                                          "service.sla_target": 1.0})
    table = check_erlang_c(sc, seed=5)
    assert table["passed"].all(), table


def test_erlang_c_check_catches_a_desk_with_one_agent_missing(monkeypatch):
    real = simpy.PriorityResource
    monkeypatch.setattr(desk_module.simpy, "PriorityResource",
                        lambda env, capacity: real(env, capacity=capacity - 1))
    sc = validation_scenario("erlang_c", {"service.agents": 4, "service.handle_time": 2.0,
                                          "service.contact_rate": 0.0012, "horizon": 12000,
                                          "service.sla_target": 1.0})
    assert not check_erlang_c(sc, seed=5)["passed"].all()


def _tarp_variants():
    base = crmsim.load_scenario("complaints_recovery").with_overrides({
        "customers.initial": 1200, "horizon": 150, "acquisition.rate": 0,
        "service.failure_rate": 0.3, "service.contact_rate": 0, "service.agents": 6,
        "service.patience": None, "customers.complaint_propensity": 1.0,
    })
    return {
        "quick": base.with_overrides({"service.resolution_probability": 1.0}),
        "resolved": base.with_overrides({"service.resolution_probability": 0.0,
                                         "service.callback_delay": 2.0,
                                         "service.callback_resolution": 1.0}),
        "silent": base.with_overrides({"customers.complaint_propensity": 0.0}),
        "unresolved": base.with_overrides({"service.resolution_probability": 0.0,
                                           "service.callback_delay": None}),
    }


def test_tarp_ordering_emerges_from_the_defaults():
    """Same customers, same failures (CRN): quick < resolved < silent < unresolved churn."""
    variants = _tarp_variants()
    cmp = crmsim.compare(variants, replications=3, seed=2, progress=False)
    churned = cmp.table.xs("churned", level="kpi")["mean"]
    assert churned["quick"] < churned["resolved"] < churned["silent"] < churned["unresolved"]
    wide = cmp.per_replication("churned")
    for better, worse in (("quick", "resolved"), ("resolved", "silent"),
                          ("silent", "unresolved")):
        assert (wide[better] < wide[worse]).all(), (better, worse)
    res = crmsim.simulate(variants["quick"], seed=0)
    assert set(res.recovery.query("failures > 0").index) == {"quick"}


def test_the_complaint_iceberg():
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 800, "horizon": 120, "service.contact_rate": 0})
    res = crmsim.simulate(sc, seed=3)
    k = res.kpis
    assert k["complaint_rate"] == pytest.approx(k["complaints"] / k["failures"])
    # complaint propensity Beta(1, 4): a fifth of the failures become complaints
    p, n = 0.2, k["failures"]
    assert abs(k["complaint_rate"] - p) < 4 * math.sqrt(p * (1 - p) / n)
    events = res.events
    assert (events["kind"] == "failure").sum() == k["failures"]
    outcomes = events.loc[events["kind"] == "resolution", "details"].value_counts()
    # every failure has its outcome, but for the few still being handled at the horizon
    assert 0 <= k["failures"] - outcomes.sum() <= 3
    assert outcomes.get("silent", 0) > 3 * (outcomes.sum() - outcomes.get("silent", 0))


def test_desk_cost_and_per_period_figures():
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 300, "horizon": 90})
    res = crmsim.simulate(sc, seed=1)
    assert res.kpis["desk_cost"] == pytest.approx(2 * sc.service.wage * 90)
    ts = res.timeseries
    assert ts["desk_cost"].sum() == pytest.approx(res.kpis["desk_cost"])
    assert ts["desk_contacts"].sum() == res.kpis["desk_contacts"] == len(res.contacts)
    answered = res.contacts["answered"]
    assert res.kpis["desk_abandon_rate"] == pytest.approx(1 - answered.mean())
    assert 0 < res.kpis["desk_utilization"] < 1


def test_unknown_priority_segment_is_a_clear_error():
    with pytest.raises(crmsim.ScenarioError, match="did you mean 'regular'"):
        crmsim.load_scenario("complaints_recovery").with_overrides(
            {"service.priority": {"reguler": 0}})


def test_no_desk_means_unanswered_complaints():
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 300, "horizon": 60, "service.agents": 0,
         "service.contact_rate": 0})
    res = crmsim.simulate(sc, seed=1)
    table = res.recovery
    assert table.loc["quick", "failures"] == table.loc["resolved", "failures"] == 0
    assert res.kpis["desk_cost"] == 0 and np.isnan(res.kpis["desk_utilization"])
