"""The shape of an exercise (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Exercise:
    question: str
    solve: Callable[[], Any]
    hint: str
    tolerance: float = 0.0  # absolute, for numeric answers
    #: other answers as good as the solution (e.g. within the 95% interval of the best one)
    accepted: Callable[[], frozenset] | None = None


def best_paired(comparison, kpi: str = "profit") -> tuple[str, frozenset]:
    """The scenario of a comparison with the highest mean ``kpi``, and every scenario the
    replications cannot tell from it: its paired difference to the best (common random numbers,
    replication by replication) has a 95% interval that reaches 0. The decision exercises'
    rule for an accepted answer (notebooks 10 and 12)."""
    from crmsim.analysis import mean_ci

    kpis = comparison.kpis[comparison.kpis["kpi"] == kpi]
    wide = kpis.pivot(index="replication", columns="scenario", values="value")
    best = str(wide.mean().idxmax())
    return best, frozenset(str(name) for name in wide
                           if str(name) == best or mean_ci(wide[name] - wide[best])[2] >= 0)
