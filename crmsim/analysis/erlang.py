"""Erlang C: the M/M/c queue a call-centre planner staffs with (呼叫中心人员配置).

Contacts arrive as a Poisson process at rate λ, handling times are exponential with mean h, and
there are c agents; the offered load is a = λh Erlangs (it must be below c). With the Erlang B
blocking probability computed by the stable recursion B(0) = 1, B(k) = a B(k−1) / (k + a B(k−1)),
the probability that a contact waits is

    C(c, a) = c B(c) / (c − a (1 − B(c)))

and (Erlang 1917; Gross & Harris, *Fundamentals of Queueing Theory*, §2.3)

    ASA = C(c, a) · h / (c − a)                    mean wait of all contacts
    SL(t) = 1 − C(c, a) · exp(−(c − a) · t / h)    share answered within t

With no abandonment every contact is answered, so these are also crmsim's
``desk_wait_probability``, ``desk_asa`` and ``desk_service_level``.
"""

from __future__ import annotations

import math


def erlang_b(agents: int, load: float) -> float:
    """Erlang B blocking probability B(c, a)."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(arrival_rate: float, handle_time: float, agents: int,
             sla_target: float) -> dict[str, float]:
    """Wait probability, ASA, service level and occupancy of an M/M/c desk.

    >>> r = erlang_c(arrival_rate=4.0, handle_time=1.8, agents=9, sla_target=0.5)
    >>> round(r["wait_probability"], 4), round(r["asa"], 4), round(r["service_level"], 4)
    (0.4322, 0.4322, 0.7378)
    """
    load = arrival_rate * handle_time
    if agents <= load:
        raise ValueError(f"agents = {agents}: an M/M/c queue needs more agents than the offered "
                         f"load a = λh = {load:g} Erlangs, or it grows without bound")
    b = erlang_b(agents, load)
    wait = agents * b / (agents - load * (1 - b))
    return {
        "load": load,
        "wait_probability": wait,
        "asa": wait * handle_time / (agents - load),
        "service_level": 1 - wait * math.exp(-(agents - load) * sla_target / handle_time),
        "occupancy": load / agents,
    }


def agents_needed(arrival_rate: float, handle_time: float, target_service_level: float,
                  sla_target: float) -> int:
    """The fewest agents whose service level (share answered within ``sla_target``) reaches
    ``target_service_level`` — e.g. the classic 80/20 rule: 80% answered within 20 seconds.

    >>> agents_needed(arrival_rate=4.0, handle_time=1.8, target_service_level=0.8, sla_target=0.5)
    10
    """
    if not 0 < target_service_level < 1:
        raise ValueError(f"target_service_level = {target_service_level}: must be in (0, 1)")
    agents = math.floor(arrival_rate * handle_time) + 1
    while erlang_c(arrival_rate, handle_time, agents, sla_target)["service_level"] < (
            target_service_level):
        agents += 1
    return agents
