"""The logistic churn decision."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from crmsim.model.churn import churn_probability

theta = st.floats(0.0, 1.0)
push = st.floats(-20, 20)


@given(theta)
def test_no_push_is_exactly_the_textbook_probability(t):
    assert churn_probability(t, {}) == (t, "natural")
    assert churn_probability(t, {"dissatisfaction": 0.0})[0] == t


@given(st.floats(0.001, 0.999), push, push)
def test_probability_is_sigmoid_of_summed_logits(t, a, b):
    p, _ = churn_probability(t, {"x": a, "y": b})
    expected = 1 / (1 + math.exp(-(math.log(t / (1 - t)) + a + b)))
    assert math.isclose(p, expected, rel_tol=1e-9, abs_tol=1e-12)


@given(st.floats(0.01, 0.99), st.floats(0.01, 5))
def test_more_push_more_churn(t, a):
    assert churn_probability(t, {"x": a})[0] > t > churn_probability(t, {"x": -a})[0]


def test_reason_is_the_largest_positive_push():
    assert churn_probability(0.1, {"dissatisfaction": 0.5, "price": 1.2})[1] == "price"
    assert churn_probability(0.1, {"dissatisfaction": -0.5})[1] == "natural"
