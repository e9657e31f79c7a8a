"""Exercises of notebook 11, the firm's customer database (see :mod:`crmsim.exercises`)."""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise, best_of

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


#: the seeds of notebook 11's replications: four shops with the same rules, different customers
SEEDS = (1, 2, 3, 4)


@functools.cache
def shop_run(seed: int):
    """Notebook 11's shop (:data:`SHOP_DATABASE`) run with one seed (kept: its database is built
    once, in memory, on the first query)."""
    import crmsim

    sc = crmsim.load_scenario("complaints_recovery").with_overrides(SHOP_DATABASE)
    return crmsim.simulate(sc, seed=seed)


def shop_database_run():
    """Notebook 11's run: the shop (:data:`SHOP_DATABASE`) with seed 1."""
    return shop_run(1)


def _sleeping_loyal() -> int:
    import crmsim

    return int(crmsim.sql(shop_database_run(), "SELECT count(*) AS n FROM rfm "
                                                "WHERE f_score >= 4 AND r_score <= 2")["n"][0])


def vip_hits(result, rule: str) -> int:
    """How many of the customers a :data:`VIP_RULES` rule picks are truly in the top fifth."""
    import crmsim

    return int(crmsim.sql(result, f"SELECT count(*) AS n FROM ({VIP_RULES[rule]}) "
                                  f"WHERE customer_id IN ({TRUE_TOP_FIFTH})")["n"][0])


@functools.cache
def _vip_choices() -> tuple[str, frozenset]:
    return best_of({rule: [vip_hits(shop_run(seed), rule) for seed in SEEDS]
                        for rule in VIP_RULES})


#: exercise 11.3: after how many days without a purchase the firm counts a customer as lost
LOST_AFTER = (30, 60, 90, 120, 180, 270)


def lost_rule_accuracy(result, days: float) -> float:
    """The share of customers the rule "lost after ``days`` without a purchase" classifies
    right at the end of the run: lost and truly gone, or not lost and truly still a customer
    (the truth table knows)."""
    import crmsim

    return float(crmsim.sql(result, """
        SELECT avg(((c.recency >= $days) = (NOT t.active))::INTEGER) AS accuracy
        FROM customer_360 AS c JOIN truth AS t USING (customer_id)""",
                            {"days": float(days)})["accuracy"][0])


@functools.cache
def _lost_choices() -> tuple[str, frozenset]:
    return best_of({days: [lost_rule_accuracy(shop_run(seed), days) for seed in SEEDS]
                        for days in LOST_AFTER})


#: this notebook's exercises, by id. 11.1 is a reading exercise (an SQL query and a term,
#: 沉睡的老客户); 11.2 and 11.3 are decisions judged on four shops
EXERCISES: dict[str, Exercise] = {
    "11.1": Exercise(
        "Notebook 11's shop database (seed 1): how many customers have an F score of 4 or 5 "
        "but an R score of 1 or 2 — frequent buyers who have gone quiet (沉睡的老客户)?",
        _sleeping_loyal, "crmsim.sql(res, 'SELECT count(*) FROM rfm WHERE ...')"),
    "11.2": Exercise(
        "You may give 100 VIP gifts (贵宾礼遇) in notebook 11's shop. Which SQL rule picks the "
        "most customers who are truly in the top fifth by value (still a customer; λ × mean "
        "spend, from the truth table): 'rfm' (highest RFM score, ties by money), 'spend' (most "
        "money spent) or 'recent_spend' (most money spent among those who bought in the last 30 "
        "days)? The rules are crmsim.exercises.VIP_RULES; judge them on the four shops of "
        "crmsim.exercises.shop_run(seed), seeds 1–4 (any rule the four cannot tell from the "
        "best counts).",
        lambda: _vip_choices()[0], "a customer who has left is worth nothing, however much it "
        "spent: count each rule's picks in the truth's top fifth with "
        "crmsim.exercises.vip_hits(shop_run(seed), rule)",
        accepted=lambda: _vip_choices()[1]),
    "11.3": Exercise(
        "When is a silent customer lost (流失)? The shop counts a customer as lost after a "
        "number of days without a purchase. Choose that number from "
        "crmsim.exercises.LOST_AFTER (30, 60, 90, 120, 180 or 270 days) so that the rule "
        "classifies the most customers right at the end of the year — lost and truly gone, or "
        "not lost and truly still a customer — on the four shops of "
        "crmsim.exercises.shop_run(seed), seeds 1–4 (any number the four cannot tell from the "
        "best counts).",
        lambda: _lost_choices()[0], "too short, and slow buyers who are still there are "
        "counted lost; too long, and customers who left months ago are counted active: "
        "crmsim.exercises.lost_rule_accuracy(shop_run(seed), days) scores a rule",
        accepted=lambda: _lost_choices()[1]),
}
