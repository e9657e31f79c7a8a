"""Counter-based per-customer streams: pure functions of (run seed, purpose, owner)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from crmsim.streams import Column, CustomerDraws, Purpose, RandomStreams, block_of_row


def _streams(seed=7):
    return RandomStreams(np.random.SeedSequence(seed))


def test_rows_of_an_owner_do_not_depend_on_the_others():
    s = _streams()
    bulk = s.uniform_rows(Purpose.TRAITS, 0, 100, 50, 16)
    alone = s.uniform_rows(Purpose.TRAITS, 0, 137, 1, 16)
    assert np.array_equal(bulk[37], alone[0])
    shifted = s.uniform_rows(Purpose.TRAITS, 0, 120, 30, 16)
    assert np.array_equal(bulk[20:], shifted[:30])


def test_bulk_and_single_event_blocks_agree():
    s = _streams()
    shapes = np.array([6.0, np.nan, 2.0])
    bulk = s.event_rows(1, 40, 3, shapes)
    for j, shape in enumerate(shapes):
        assert np.array_equal(bulk[j * 8:(j + 1) * 8], s.customer_rows(1, 40 + j, shape))


def test_different_owner_block_purpose_or_seed_differ():
    s = _streams()
    base = s.uniform_rows(Purpose.EVENTS, 0, 5, 1, 32)
    assert not np.array_equal(base, s.uniform_rows(Purpose.EVENTS, 0, 6, 1, 32))
    assert not np.array_equal(base, s.uniform_rows(Purpose.EVENTS, 1, 5, 1, 32))
    assert not np.array_equal(base, s.uniform_rows(Purpose.TRAITS, 0, 5, 1, 32))
    assert not np.array_equal(base, _streams(8).uniform_rows(Purpose.EVENTS, 0, 5, 1, 32))


def test_customer_draws_read_rows_in_order_across_blocks():
    s = _streams()
    block0 = s.event_rows(0, 3, 1, np.array([np.nan]))
    draws = CustomerDraws(s, 3, float("nan"), block0, 3)
    rows = np.array([draws.row(k) for k in range(40)])
    assert len(np.unique(rows[:, Column.CHURN])) == 40
    assert np.array_equal(rows[:4], block0)
    first, start = block_of_row(20)
    assert np.array_equal(rows[start:start + 16], s.customer_rows(first, 3, float("nan"))[:20])
    again = CustomerDraws(s, 3, float("nan"), block0, 3)
    assert again.row(33) == draws.row(33)  # a pure function of the event number


def test_columns_have_their_distributions():
    s = _streams()
    data = s.event_rows(0, 0, 5000, np.full(5000, 6.0))
    assert stats.kstest(data[:, Column.CHURN], "uniform").pvalue > 0.001
    assert stats.kstest(data[:, Column.EXPERIENCE], "norm").pvalue > 0.001
    assert stats.kstest(data[:, Column.SPEND], stats.gamma(6.0).cdf).pvalue > 0.001
    assert abs(np.corrcoef(data[:, Column.CHURN], data[:, Column.TIMING])[0, 1]) < 0.03


def test_plain_streams_are_reproducible_and_exponential():
    a = _streams().stream(10, 0, "exponential")
    b = _streams().stream(10, 0, "exponential")
    x = np.array([a.next() for _ in range(20000)])
    assert np.array_equal(x[:100], [b.next() for _ in range(100)])
    assert abs(x.mean() - 1) < 4 / np.sqrt(len(x))
