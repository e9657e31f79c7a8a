"""The run's clock (crmsim.model.clock): SimPy's order exactly, with a small heap."""

from __future__ import annotations

import math
import random

import pytest
import simpy

import crmsim
from crmsim.model import market as market_module
from crmsim.model.clock import Clock
from crmsim.model.market import Market
from crmsim.simulation import as_seed_sequence


def _workload(env, seed: int, horizon: float = 40.0, trace: list | None = None) -> list[tuple]:
    """Processes, plain timeouts, ties on window boundaries, zero delays, priorities and a
    resource queue; the trace of what ran when, in order (added to ``trace`` if given)."""
    rng = random.Random(seed)
    trace = [] if trace is None else trace
    desk = simpy.PriorityResource(env, capacity=2)

    def customer(name: int):
        for step in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.2:  # exactly on a boundary of a power-of-two window: ties
                delay = float(rng.randint(0, 8)) / 4
            elif kind < 0.3:
                delay = 0.0
            else:
                delay = rng.expovariate(0.4)
            yield env.timeout(delay)
            trace.append((env.now, name, step))
            if rng.random() < 0.3:
                with desk.request(priority=rng.randint(0, 2)) as request:
                    yield request
                    trace.append((env.now, name, "served"))
                    yield env.timeout(rng.expovariate(2.0))

    def reporter():
        while True:
            trace.append((env.now, "report"))
            event = simpy.Event(env)
            event._ok, event._value = True, None  # noqa: SLF001 — as the market's reporter
            env.schedule(event, 2, 1.0)
            yield event

    for name in range(300):
        env.process(customer(name))
    env.process(reporter())
    env.run(until=horizon)
    trace.append(("end", env.now))
    return trace


@pytest.mark.parametrize("window", [1 / 16, 0.75, 3.0, 1000.0])
def test_the_clock_runs_exactly_what_simpy_runs_in_the_same_order(window):
    for seed in (1, 2, 3):
        assert _workload(Clock(window), seed) == _workload(simpy.Environment(), seed)


class _Triggered(simpy.Event):
    """An event born triggered, as SimPy's Timeout and the customers' old wake-ups were."""

    def __init__(self, env, callback):
        self.env, self.callbacks = env, [callback]
        self._ok, self._value = True, None


def _wake_ups(env, seed: int, direct: bool) -> list[tuple]:
    """Chains of wake-ups (as the customers' lives), ties included, beside processes and a
    resource queue (the workload above): each wake-up a direct call of the clock
    (``Clock.call``) or, for SimPy's own environment, a triggered event with one callback."""
    rng = random.Random(seed)
    trace = []

    def step(name, left):
        trace.append((env.now, "wake", name, left))
        if left:
            delay = float(rng.randint(0, 6)) / 4 if rng.random() < 0.3 else rng.expovariate(0.5)
            wake(name, left - 1, rng.choice((0, 1)), delay)

    def wake(name, left, priority, delay):
        if direct:
            env.call(step, name, left, priority, delay)
        else:
            env.schedule(_Triggered(env, lambda _event: step(name, left)), priority, delay)

    for name in range(200):
        wake(name, rng.randint(0, 10), 0, 0)
    return _workload(env, seed, trace=trace)  # one trace: the wake-ups among the processes


@pytest.mark.parametrize("window", [1 / 16, 0.75, 1000.0])
def test_a_direct_wake_up_runs_where_simpy_would_run_its_event(window):
    """Clock.call numbers a wake-up as SimPy numbers an event scheduled at that moment: the
    same trace as triggered events on SimPy's own environment, mixed with processes."""
    for seed in (1, 2):
        assert (_wake_ups(Clock(window), seed, direct=True)
                == _wake_ups(simpy.Environment(), seed, direct=False))


def test_a_window_is_a_power_of_two_and_bad_widths_are_refused():
    assert Clock(0.75).window == 0.5 and Clock(1.0).window == 1.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="window"):
            Clock(bad)


def test_an_event_that_never_comes_waits_and_a_nan_delay_is_refused():
    clock = Clock(1.0)
    log = []

    def sleeper():
        yield clock.timeout(math.inf)
        log.append("woke")

    def ticker():
        for _ in range(5):
            yield clock.timeout(3.0)
            log.append(clock.now)

    clock.process(sleeper())
    clock.process(ticker())
    clock.run(until=20.0)
    assert log == [3.0, 6.0, 9.0, 12.0, 15.0] and clock.now == 20.0
    with pytest.raises(ValueError, match="delay = nan"):
        clock.timeout(math.nan)


def test_peek_looks_past_the_sweeps_to_the_next_event():
    def sleeper(env):
        yield env.timeout(5.5)
        yield env.timeout(100.25)

    for env in (simpy.Environment(), Clock(1.0)):
        env.process(sleeper(env))
        peeks = []
        while env.peek() < math.inf:
            if not peeks or peeks[-1] != env.peek():
                peeks.append(env.peek())
            env.step()
        assert peeks == [0.0, 5.5, 105.75] and env.now == 105.75, type(env)


def test_a_market_with_the_tiniest_horizon_runs():
    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 50, "horizon": 1e-322, "report_every": 1e-322})
    assert crmsim.simulate(sc, seed=1).kpis["initial"] == 50


def test_the_heap_holds_only_the_current_window(retail_small):
    """The point of the clock: most pending wake-ups wait in their buckets."""
    market = Market(retail_small, as_seed_sequence(1))
    env = market.env
    seen = []

    def look():
        while True:
            yield env.timeout(retail_small.horizon / 10)
            seen.append((len(env._queue), env.pending()))  # noqa: SLF001

    env.process(look())
    market.run()
    assert len(seen) >= 9
    for in_heap, pending in seen[1:]:
        assert pending > 200 and in_heap < pending / 10, (in_heap, pending)


def test_any_window_gives_the_same_tables(monkeypatch):
    sc = crmsim.load_scenario("complaints_recovery").with_overrides({"customers.initial": 600})
    runs = []
    for windows in (1, 512, 100_000):
        monkeypatch.setattr(market_module, "_WINDOWS", windows)
        result = crmsim.simulate(sc, seed=4)
        runs.append((result.events, result.customers, result.kpis))
    for events, customers, kpis in runs[1:]:
        assert events.equals(runs[0][0]) and customers.equals(runs[0][1])
        assert kpis == pytest.approx(runs[0][2], nan_ok=True)
