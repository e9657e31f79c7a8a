"""Exercises of notebook 11, the firm's customer database (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise

#: notebook 11's shop: the complaints scenario with three acquisition channels (initial base,
#: paid, word of mouth), points and membership tiers, RFM value tiers and a monthly churn warning
SHOP_DATABASE = {
    "customers.initial": 600,
    "acquisition.rate": 1.5,
    "acquisition.market_size": 20000,
    "acquisition.innovation": 0.00003,
    "acquisition.imitation": 0.001,
    "rewards.enabled": True,
    "rewards.tiers": [{"name": "silver", "min_spend": 400, "discount": 0.02},
                      {"name": "gold", "min_spend": 1000, "discount": 0.05, "priority_boost": 1}],
    "churn.coefficients.lock_in": -0.03,
    "tiering.enabled": True,
    "tiering.method": "rfm",
    "warning.enabled": True,
    "warning.top_k": 40,
    "warning.offer_cost": 10,
}

#: notebook 11's VIP rules: 100 customers each, chosen by SQL on what the firm knows
VIP_RULES = {
    "rfm": "SELECT customer_id FROM rfm ORDER BY rfm_score DESC, monetary DESC LIMIT 100",
    "spend": "SELECT customer_id FROM rfm ORDER BY monetary DESC LIMIT 100",
    "recent_spend": "SELECT customer_id FROM rfm WHERE recency <= 30 "
                    "ORDER BY monetary DESC LIMIT 100",
}

#: the truly valuable customers: still a customer, and in the top fifth by λ × mean spend
#: (the rate at which a customer brings money while it stays), from the truth table
TRUE_TOP_FIFTH = """
    SELECT customer_id FROM (
        SELECT customer_id, ntile(5) OVER (
            ORDER BY CASE WHEN active THEN purchase_rate * spend_level ELSE 0 END DESC,
                     customer_id) AS fifth
        FROM truth)
    WHERE fifth = 1"""


@functools.cache
def shop_database_run():
    """Notebook 11's run: the shop (:data:`SHOP_DATABASE`) with seed 1."""
    import crmsim

    sc = crmsim.load_scenario("complaints_recovery").with_overrides(SHOP_DATABASE)
    return crmsim.simulate(sc, seed=1)


def _sleeping_loyal() -> int:
    import crmsim

    return int(crmsim.sql(shop_database_run(), "SELECT count(*) AS n FROM rfm "
                                                "WHERE f_score >= 4 AND r_score <= 2")["n"][0])


def vip_hits(result, rule: str) -> int:
    """How many of the customers a :data:`VIP_RULES` rule picks are truly in the top fifth."""
    import crmsim

    return int(crmsim.sql(result, f"SELECT count(*) AS n FROM ({VIP_RULES[rule]}) "
                                  f"WHERE customer_id IN ({TRUE_TOP_FIFTH})")["n"][0])


def _best_vip_rule() -> str:
    hits = {rule: vip_hits(shop_database_run(), rule) for rule in VIP_RULES}
    return max(hits, key=hits.get)


#: this notebook's exercises, by id; they replace the ones of the same id in
#: :mod:`crmsim.exercises.chapters`
EXERCISES: dict[str, Exercise] = {
    "11.1": Exercise(
        "Notebook 11's shop database (seed 1): how many customers have an F score of 4 or 5 "
        "but an R score of 1 or 2 — frequent buyers who have gone quiet (沉睡的老客户)?",
        _sleeping_loyal, "crmsim.sql(res, 'SELECT count(*) FROM rfm WHERE ...')"),
    "11.2": Exercise(
        "You may give 100 VIP gifts (贵宾礼遇) in that shop. Which SQL rule picks the most "
        "customers who are truly in the top fifth by value (still a customer; λ × mean spend, "
        "from the truth table): 'rfm' (highest RFM score, ties by money), 'spend' (most money "
        "spent) or 'recent_spend' (most money spent among those who bought in the last 30 "
        "days)? The rules are crmsim.exercises.VIP_RULES.",
        _best_vip_rule, "a customer who has left is worth nothing, however much it spent: "
        "count each rule's picks in the truth's top fifth (crmsim.exercises.TRUE_TOP_FIFTH)"),
}
