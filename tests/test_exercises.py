"""Every notebook exercise accepts the model's answer and rejects a wrong one."""

from __future__ import annotations

import pytest

from crmsim.exercises import EXERCISES, check, is_correct, solution


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_exercise_accepts_its_solution_and_rejects_a_wrong_answer(exercise_id):
    answer = solution(exercise_id)
    assert is_correct(exercise_id, answer)
    if isinstance(answer, str):
        wrong = "down" if answer == "up" else ("no" if answer == "yes" else "something else")
    else:
        wrong = answer * 1.5 + 1
        also = EXERCISES[exercise_id].accepted
        while also is not None and wrong in also():  # as good as the best: not wrong
            wrong = wrong * 1.5 + 1
    assert not is_correct(exercise_id, wrong)
    assert not is_correct(exercise_id, None)


def test_check_prints_a_verdict(capsys):
    assert check("09.2", solution("09.2")) is True
    assert "✓" in capsys.readouterr().out
    assert check("09.2", 1.0) is False
    assert "hint" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no exercise"):
        check("99.9", 1)


def test_model_answers_make_sense():
    assert solution("03.1") == pytest.approx(0.05, abs=1e-3)
    assert solution("03.2") <= 0.7  # quality at twice the price: below the notebook's 0.75
    assert solution("03.3") in (0.04, 0.08)  # neither the failing shop nor perfection
    assert solution("04.3") == "quick"
    assert solution("00.1") == "reject"  # service 0.85 costs more than it brings
    assert solution("00.3") == "paired"
