"""Exercises of notebook 09 — validation (see :mod:`crmsim.exercises`).

The validated closed forms put to work and the checks themselves planned: a staffing decision
under a cost objective (Erlang C), the most a customer may cost (CLV), what heterogeneity does to
a valuation (sBG), how many customers a check needs to catch a given error (judged by running
the check), and how many misses over repeated checks reject a model (binomial).
"""

from __future__ import annotations

import functools

from crmsim.exercises.base import Exercise

#: exercise 09.1: the desk of scenarios/validation/erlang_c.yaml and what its minutes cost
CALLS_PER_MINUTE, HANDLE_MINUTES, SLA_MINUTES = 4.0, 1.8, 0.5
AGENT_COST_PER_MINUTE, WAITING_COST_PER_MINUTE = 0.5, 2.0
AGENT_CHOICES = range(8, 13)

#: exercise 09.4: the precision asked of the CLV check (half-width as a share of the CLV), and
#: the numbers of customers to choose from
TARGET_SHARE = 0.04
CUSTOMER_CHOICES = (250, 500, 1000, 2000, 4000)

#: exercise 09.5: how often a check of a model believed right is repeated (independent seeds)
REPEATED_CHECKS = 20


def desk_cost_per_minute(agents: int) -> float:
    """Wages plus the cost of callers' waiting, per minute, for an M/M/c desk (Erlang C)."""
    from crmsim.analysis import erlang_c

    asa = erlang_c(CALLS_PER_MINUTE, HANDLE_MINUTES, agents, SLA_MINUTES)["asa"]
    return AGENT_COST_PER_MINUTE * agents + WAITING_COST_PER_MINUTE * CALLS_PER_MINUTE * asa


def _cheapest_desk() -> int:
    return min(AGENT_CHOICES, key=desk_cost_per_minute)


def _break_even_cac() -> float:
    from crmsim.analysis import clv_constant_retention

    return round(float(clv_constant_retention(50, 0.8, 0.01)), 2)


def _heterogeneity() -> str:
    from crmsim.analysis import clv_constant_retention, clv_sbg

    a, b = 0.7, 3.0
    sbg = clv_sbg(50, a, b, 0.01)
    constant = clv_constant_retention(50, 1 - a / (a + b), 0.01)
    return "higher" if sbg > constant else "lower"


@functools.cache
def _customers_needed() -> str:
    from crmsim.validation import check_clv, validation_scenario

    for n in CUSTOMER_CHOICES:
        row = check_clv(validation_scenario("clv", {"customers.initial": n}), seed=0).iloc[0]
        if (row["high"] - row["low"]) / 2 <= TARGET_SHARE * row["closed_form"]:
            return str(n)
    return f"more than {max(CUSTOMER_CHOICES)}"


def rejection_count(checks: int = REPEATED_CHECKS, level: float = 0.95,
                    alpha: float = 0.05) -> int:
    """The fewest misses among ``checks`` independent checks at ``level`` that reject "the
    model is right" at significance ``alpha``: the smallest m with P(X ≥ m) < alpha for
    X ~ Binomial(checks, 1 − level)."""
    from scipy import stats

    return next(m for m in range(checks + 2)
                if stats.binom.sf(m - 1, checks, 1 - level) < alpha)


EXERCISES: dict[str, Exercise] = {
    "09.1": Exercise(
        "The desk of the Erlang C reduction takes 4 calls a minute, 1.8 minutes each. An agent "
        "costs 0.5 a minute; every minute a caller waits costs the firm 2 (goodwill). How many "
        "agents, of 8 to 12, make the desk cheapest per minute (wages + waiting)?",
        _cheapest_desk,
        "cost(c) = 0.5 c + 2 × 4 × ASA(c), with ASA from crmsim.analysis.erlang_c(4, 1.8, c, "
        "0.5)['asa'] — the notebook shows the simulated desk reproduces it"),
    "09.2": Exercise(
        "A subscriber brings margin 50 at acquisition and at each renewal, renews with "
        "probability 0.8, and money is discounted at 1% per period. What is the most the firm "
        "can pay to acquire one (its CLV)? (two decimals)",
        _break_even_cac, "m(1 + i)/(1 + i − r): crmsim.analysis.clv_constant_retention",
        tolerance=0.005),
    "09.3": Exercise(
        "Contract customers churn with θ ~ Beta(0.7, 3) (sBG), margin 50 per period, discount "
        "1%. A planner values them with a constant retention equal to the first period's, "
        "1 − a/(a + b). Is the true (sBG) CLV 'higher' or 'lower' than the planner's?",
        _heterogeneity,
        "who leaves first? The sBG retention rate rises with tenure (section 2): "
        "crmsim.analysis.clv_sbg against clv_constant_retention"),
    "09.4": Exercise(
        "The CLV check (scenarios/validation/clv.yaml: r = 0.8, m = 50, i = 1%) should catch an "
        "error of 4% in a CLV formula, so the half-width of its 95% interval must be at most 4% "
        "of the CLV. How many customers must it simulate, at the fewest, of 250, 500, 1000, "
        "2000, 4000 (check_clv with seed 0)?",
        _customers_needed,
        "run the check once with a few hundred customers: the half-width shrinks like 1/√n, "
        "so n ≈ n₀ · (half-width₀ / target)² — then pick the first choice above it and check it"),
    "09.5": Exercise(
        "You repeat a 95% check of a model you believe right 20 times, with independent seeds. "
        "From how many misses on do you reject the model (at the 5% level: fewer misses would "
        "happen by chance more often than 1 time in 20)?",
        rejection_count,
        "misses ~ Binomial(20, 0.05): scipy.stats.binom.sf(m − 1, 20, 0.05) is P(at least m "
        "misses); find the smallest m where it falls below 0.05"),
}
