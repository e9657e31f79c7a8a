"""Notebook 11's claims (the firm's customer database against the truth), re-derived on other
shops than the notebook's: the same rules (``crmsim.exercises.SHOP_DATABASE``), four other
seeds, 95% intervals over the shops."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import crmsim
from crmsim import analysis
from crmsim.analysis import mean_ci
from crmsim.exercises import (
    LOST_AFTER,
    SHOP_DATABASE,
    TRUE_TOP_FIFTH,
    VIP_RULES,
    lost_rule_accuracy,
    vip_hits,
)

SEEDS = (6, 7, 8, 9)


@functools.cache
def shop(seed: int):
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(SHOP_DATABASE)
    return crmsim.simulate(sc, seed=seed)


def over_shops(query: str) -> dict[str, np.ndarray]:
    """A one-row query on every shop: column → one value per shop."""
    rows = [crmsim.sql(shop(seed), query).iloc[0] for seed in SEEDS]
    return {column: np.array([row[column] for row in rows], dtype=float)
            for column in rows[0].index}


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_rfm_in_sql_is_crmsim_analysis_rfm(seed):
    """Section 3: the SQL view scores every customer as crmsim.analysis.rfm_scores does."""
    run = shop(seed)
    in_sql = crmsim.sql(run, "SELECT * FROM rfm").set_index("customer_id")
    in_python = analysis.rfm_scores(run.transactions(), observation_end=run.scenario.horizon)
    scores = ["r_score", "f_score", "m_score"]
    assert in_sql.index.equals(in_python.index)
    assert (in_sql[scores] == in_python.loc[in_sql.index, scores]).all().all()


def test_silence_is_not_leaving():
    """Section 5: three months after acquisition fewer than half of the customers still there
    buy in the month, and buying never exceeds being a customer."""
    month = over_shops("""
        WITH c AS (
            SELECT customer_id, floor(acquired_at / 30) AS cohort,
                   floor(coalesce(t.churned_at, 1e9) / 30) AS left_month
            FROM customers JOIN truth AS t USING (customer_id)
            WHERE acquired_at < 240),
        b AS (SELECT DISTINCT customer_id, floor(time / 30) AS month FROM transactions)
        SELECT avg((c.left_month >= c.cohort + 3)::INTEGER) AS still,
               avg((b.customer_id IS NOT NULL)::INTEGER) AS bought
        FROM c LEFT JOIN b ON b.customer_id = c.customer_id AND b.month = c.cohort + 3""")
    assert (month["bought"] <= month["still"]).all()
    _, low, high = mean_ci(month["bought"] / month["still"])
    assert high < 0.5, (low, high)
    assert mean_ci(month["still"])[1] > 0.6  # most of them are still there


def test_the_best_rfm_customers_are_three_times_as_often_truly_valuable_and_some_are_gone():
    """Section 6: among RFM 13–15, the share truly in the top fifth is well above twice the
    20% of a lottery, and more than one in twenty has already left."""
    best = over_shops(f"""
        WITH top AS ({TRUE_TOP_FIFTH})
        SELECT avg((r.customer_id IN (SELECT customer_id FROM top))::INTEGER) AS truly_top,
               avg((NOT t.active)::INTEGER) AS gone
        FROM rfm AS r JOIN truth AS t USING (customer_id) WHERE r.rfm_score >= 13""")
    assert mean_ci(best["truly_top"])[1] > 0.45, best
    assert mean_ci(best["gone"])[1] > 0.05, best


def test_the_valuable_customers_rfm_misses_are_mostly_new():
    """Section 6: of the truly top customers RFM 13–15 misses, most were acquired in the last
    90 days; of those it finds, few."""
    new = over_shops(f"""
        WITH top AS ({TRUE_TOP_FIFTH})
        SELECT avg((c.tenure <= 90)::INTEGER) FILTER (WHERE r.rfm_score >= 13) AS found,
               avg((c.tenure <= 90)::INTEGER) FILTER (WHERE r.rfm_score < 13) AS missed
        FROM top JOIN rfm AS r USING (customer_id) JOIN customer_360 AS c USING (customer_id)""")
    assert mean_ci(new["missed"])[1] > 0.5, new
    assert mean_ci(new["found"])[2] < 0.2, new


def test_recent_spenders_are_the_best_vip_pick():
    """Exercise 11.2's decision: the most money among those who bought in the last 30 days
    picks more truly top customers than the RFM score or money alone (paired over shops)."""
    hits = {rule: np.array([vip_hits(shop(seed), rule) for seed in SEEDS]) for rule in VIP_RULES}
    for rule in ("rfm", "spend"):
        assert mean_ci(hits["recent_spend"] - hits[rule])[1] > 0, (rule, hits)


def test_the_best_silence_rule_lies_inside():
    """Exercise 11.3's decision: calling a customer lost after 90–120 days without a purchase
    classifies more customers right than after 30 days or after 270 (paired over shops)."""
    accuracy = {days: np.array([lost_rule_accuracy(shop(seed), days) for seed in SEEDS])
                for days in LOST_AFTER}
    middle = np.maximum(accuracy[90], accuracy[120])
    for edge in (30, 270):
        assert mean_ci(middle - accuracy[edge])[1] > 0, (edge, accuracy)
