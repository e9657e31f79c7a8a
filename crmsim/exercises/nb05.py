"""Exercises of notebook 05 (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

from crmsim.exercises.base import Exercise

#: this notebook's exercises, by id ("05.1", "05.2", ...); they replace the ones of the same id
#: in :mod:`crmsim.exercises.chapters`
EXERCISES: dict[str, Exercise] = {}
