"""The calendar queue processes events in exactly SimPy's order (crmsim.model.calendar)."""

from __future__ import annotations

import random

import pytest
import simpy

from crmsim.model.calendar import CalendarEnvironment


def _trace(env: simpy.Environment, seed: int, until: float | None = None) -> list:
    """Processes that sleep random times (many ties, zero delays, times on slot boundaries),
    wake each other through shared events, and use a resource; the order of every step."""
    rng = random.Random(seed)
    log = []
    desk = simpy.Resource(env, capacity=2)
    signals = [env.event() for _ in range(5)]

    def customer(i):
        for k in range(30):
            choice = rng.random()
            if choice < 0.2:
                yield env.timeout(0)
            elif choice < 0.4:
                yield env.timeout(rng.choice([0.5, 1.0, 2.0, 2.5]))  # ties and slot edges
            elif choice < 0.5:
                with desk.request() as request:
                    yield request
                    log.append((env.now, i, k, "served"))
                    yield env.timeout(rng.expovariate(2.0))
            elif choice < 0.55:
                signal = signals[rng.randrange(5)]
                if not signal.triggered:
                    signal.succeed(i)
            else:
                yield env.timeout(rng.expovariate(0.3))
            log.append((env.now, i, k))

    def waiter(j):
        value = yield signals[j]
        log.append((env.now, "signal", j, value))

    for i in range(60):
        env.process(customer(i))
    for j in range(5):
        env.process(waiter(j))
    env.run(until=until)
    log.append(("end", env.now))
    return log


@pytest.mark.parametrize("slot", [0.5, 1.0, 3.7, 1000.0])
@pytest.mark.parametrize("until", [None, 25.0])
def test_the_same_order_as_simpy(slot, until):
    for seed in range(3):
        assert _trace(CalendarEnvironment(slot), seed, until) == _trace(
            simpy.Environment(), seed, until)


def test_peek_pending_and_bad_slots():
    env = CalendarEnvironment(1.0)
    env.timeout(5.5)
    env.timeout(0.25)
    assert env.peek() == 0.25 and env.pending() == 2
    env.step()
    assert env.peek() == 5.5 and env.now == 0.25
    env.run()
    assert env.peek() == float("inf") and env.pending() == 0
    for slot in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="slot"):
            CalendarEnvironment(slot)
