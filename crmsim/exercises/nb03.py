"""Exercises of notebook 03 (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

from crmsim.exercises.base import Exercise

#: this notebook's exercises, by id ("03.1", "03.2", ...); they replace the ones of the same id
#: in :mod:`crmsim.exercises.chapters`
EXERCISES: dict[str, Exercise] = {}
