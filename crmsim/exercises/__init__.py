"""Exercises of the course notebooks, with answers computed by the model (not typed in).

In a notebook::

    from crmsim.exercises import check, question
    question("01.2")
    answer = "down"          # the student's answer
    check("01.2", answer)    # prints ✓ or ✗ with a hint; returns True / False

Every solution is computed from crmsim itself (a seeded run or a course formula), so it stays
right when the model changes, and ``tests/test_exercises.py`` checks that each exercise accepts
its solution and rejects a wrong answer. A decision exercise asks the student to choose a
policy or a number under a budget or an objective; the model judges it, and every answer the
replications cannot tell from the best one counts: its paired difference to the best has a 95%
interval reaching 0 (``Exercise.accepted``, :func:`crmsim.exercises.base.best_of`).

Each notebook's exercises live in a module of this package (``nb00`` ... ``nb12``), each with a
dict ``EXERCISES``; this module collects them.
"""

from __future__ import annotations

import functools

from crmsim.exercises import (
    nb00,
    nb01,
    nb02,
    nb03,
    nb04,
    nb05,
    nb06,
    nb07,
    nb08,
    nb09,
    nb10,
    nb11,
    nb12,
)
from crmsim.exercises.base import Exercise, best_paired  # noqa: F401 — notebooks use it
from crmsim.exercises.nb10 import (  # noqa: F401 — names the notebooks use
    ACTIVE_WINDOWS,
    ATTRACTIONS,
    CDNOW_LOG,
    TWIN_POINTS,
    TWIN_WARNING,
    cdnow_calibration,
    saved_per_offer,
)
from crmsim.exercises.nb11 import (  # noqa: F401 — names the notebooks use
    LOST_AFTER,
    SEEDS,
    SHOP_DATABASE,
    TRUE_TOP_FIFTH,
    VIP_RULES,
    lost_rule_accuracy,
    shop_database_run,
    shop_run,
    vip_hits,
)
from crmsim.exercises.nb12 import (  # noqa: F401 — names the notebooks use
    BUDGET_CHOICES,
    CAMPAIGN_SHOP,
    SMS_OFFERS,
    campaign_variant,
)

#: every exercise, by id ("05.2": notebook 05, exercise 2)
EXERCISES: dict[str, Exercise] = {}
for _module in (nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11, nb12):
    if set(EXERCISES) & set(_module.EXERCISES):
        raise RuntimeError(f"exercise ids defined twice: {set(EXERCISES) & set(_module.EXERCISES)}")
    EXERCISES.update(_module.EXERCISES)
EXERCISES = dict(sorted(EXERCISES.items()))


def question(exercise_id: str) -> None:
    """Print an exercise's question."""
    print(f"Exercise {exercise_id}: {EXERCISES[exercise_id].question}")


@functools.cache
def solution(exercise_id: str):
    """The model's answer to an exercise."""
    return EXERCISES[exercise_id].solve()


def is_correct(exercise_id: str, answer) -> bool:
    """Whether ``answer`` is right: the solution or one of the answers as good
    (``Exercise.accepted``), numbers within the exercise's tolerance."""
    expected = solution(exercise_id)
    if answer is None:
        return False
    if isinstance(expected, str):
        given = str(answer).strip().lower()
        also = EXERCISES[exercise_id].accepted
        return given == expected or (also is not None and given in also())
    exercise = EXERCISES[exercise_id]
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    as_good = exercise.accepted() if exercise.accepted is not None else ()
    return any(abs(value - float(right)) <= exercise.tolerance
               for right in (expected, *as_good))


def check(exercise_id: str, answer) -> bool:
    """Print ✓ or ✗ (with a hint) for a student's answer; return whether it is right."""
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; exercises: {', '.join(EXERCISES)}")
    if answer is None:
        print(f"Exercise {exercise_id}: not answered yet — set `answer` and run the cell again.")
        return False
    right = is_correct(exercise_id, answer)
    mark = "✓ right" if right else f"✗ not yet — hint: {EXERCISES[exercise_id].hint}"
    print(f"Exercise {exercise_id}: {mark}")
    return right
