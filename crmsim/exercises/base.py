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
