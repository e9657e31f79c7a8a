"""Counter-based per-customer streams: pure functions of (run seed, purpose, owner)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from crmsim.streams import Purpose, RandomStreams


def _draws(seed, purpose, owner, n, kind="uniform", visit_others=False):
    streams = RandomStreams(np.random.SeedSequence(seed))
    stream = streams.stream(purpose, owner, kind)
    other = streams.stream(Purpose.CHURN, owner + 1, kind)
    out = []
    for _ in range(n):
        out.append(stream.next())
        if visit_others:  # interleave another stream: must not disturb this one
            other.next()
    return np.array(out)


def test_same_key_same_draws_regardless_of_interleaving():
    a = _draws(7, Purpose.TIMING, 42, 200)
    b = _draws(7, Purpose.TIMING, 42, 200, visit_others=True)
    assert np.array_equal(a, b)


def test_different_owner_purpose_or_seed_differ():
    base = _draws(7, Purpose.TIMING, 42, 50)
    assert not np.array_equal(base, _draws(7, Purpose.TIMING, 43, 50))
    assert not np.array_equal(base, _draws(7, Purpose.CHURN, 42, 50))
    assert not np.array_equal(base, _draws(8, Purpose.TIMING, 42, 50))


def test_blocks_do_not_repeat_and_look_uniform():
    u = _draws(1, Purpose.CHURN, 5, 5000)
    assert len(np.unique(u)) == len(u)
    assert stats.kstest(u, "uniform").pvalue > 0.001


def test_exponential_and_normal_kinds_have_their_moments():
    e = _draws(2, Purpose.TIMING, 9, 20000, kind="exponential")
    z = _draws(2, Purpose.EXPERIENCE, 9, 20000, kind="normal")
    assert abs(e.mean() - 1) < 4 * 1 / np.sqrt(len(e))
    assert abs(z.mean()) < 4 / np.sqrt(len(z)) and abs(z.std() - 1) < 0.03


def test_streams_of_many_customers_are_independent():
    streams = RandomStreams(np.random.SeedSequence(3))
    first = np.array([streams.stream(Purpose.CHURN, i).next() for i in range(4000)])
    second = np.array([streams.stream(Purpose.TIMING, i).next() for i in range(4000)])
    assert stats.kstest(first, "uniform").pvalue > 0.001
    assert abs(np.corrcoef(first, second)[0, 1]) < 4 / np.sqrt(4000)
