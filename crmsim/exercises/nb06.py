"""Exercises of notebook 06 (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

from crmsim.exercises.base import Exercise

#: this notebook's exercises, by id ("06.1", "06.2", ...); they replace the ones of the same id
#: in :mod:`crmsim.exercises.chapters`
EXERCISES: dict[str, Exercise] = {}
