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
    #: other answers as good as the solution (e.g. not surely worse than the best: :func:`best_of`)
    accepted: Callable[[], frozenset] | None = None


def best_of(values) -> tuple[Any, frozenset]:
    """The decision exercises' rule for an accepted answer. ``values``: one number per
    replication for each choice — a DataFrame (rows: replications or seeds, the same for every
    choice; columns: the choices) or a dict choice → numbers in the same replication order.
    Returns the choice with the highest mean and every choice the replications cannot tell
    from it: its paired difference to the best (common random numbers, replication by
    replication) has a 95% interval that reaches 0."""
    import pandas as pd

    from crmsim.analysis import mean_ci

    wide = pd.DataFrame(values).astype(float)
    best = wide.mean().idxmax()
    return best, frozenset(name for name in wide.columns
                           if name == best or mean_ci((wide[name] - wide[best]).to_numpy())[2] >= 0)


def best_paired(comparison, kpi: str = "profit") -> tuple[str, frozenset]:
    """:func:`best_of` on one KPI of a :func:`crmsim.compare` (choices are its scenarios)."""
    best, accepted = best_of(comparison.per_replication(kpi))
    return str(best), frozenset(str(name) for name in accepted)
