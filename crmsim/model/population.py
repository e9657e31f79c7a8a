"""A population file (客户名单): customers who enter the run with a history and their own traits.

By default a run starts with ``customers.initial`` *new* customers whose hidden traits are drawn
from the scenario's distributions (``purchase.rate``, ``churn.base``, ``purchase.spend``). A
scenario may instead name a Parquet file, ``customers.population`` (a path relative to the YAML
file), with one row per initial customer: *who they are so far* and *what is known about their
hidden traits*, as distributions of each customer's own. Calibrating to a shop's transaction log
writes such a file (:meth:`crmsim.Calibration.to_yaml`): its customers are the shop's, with
traits drawn from each one's posterior — a digital twin (数字孪生) of the customer base.

Columns (times in the scenario's ``time_unit``, relative to the start of the run, t = 0):

=============================  =========  ==================================================
column                         required   meaning
=============================  =========  ==================================================
``acquired_at``                yes        first purchase (acquisition), ≤ 0
``purchases``                  yes        purchases so far, the first included (an integer ≥ 1)
``last_purchase``              yes        the last of them, ``acquired_at`` ≤ it ≤ 0 (equal to
                                          ``acquired_at`` for one purchase)
``revenue``                    no (0)     money received before t = 0: the firm's records
                                          (what tiering and a churn warning read)
``p_alive``                    no (1)     probability that the customer is still active at
                                          t = 0; 1 for a customer with one purchase
``purchase_rate_shape``,       no         purchase rate λ ~ Gamma(shape, rate) of an active
``purchase_rate_rate``                    customer (both or neither; without them λ is drawn
                                          from ``purchase.rate``)
``purchase_rate_rate_dead``    no         the rate of λ's Gamma for a customer who is gone
                                          (default: ``purchase_rate_rate``)
``churn_propensity_a``,        no         drop-out probability θ ~ Beta(a, b) of an active
``churn_propensity_b``                    customer (without them: ``churn.base``)
``churn_propensity_a_dead``,   no         θ's Beta for a customer who is gone (default: the
``churn_propensity_b_dead``               active customer's)
``spend_rate_shape``,          no         the Gamma–Gamma ν ~ Gamma(shape, rate) (spend per
``spend_rate_rate``                       purchase ~ Gamma(p, ν), p from ``purchase.spend``;
                                          needs ``purchase.spend: {dist: gamma_gamma}``)
=============================  =========  ==================================================

Any other column (the shop's customer id, the summary a calibration was fitted on ...) is kept
for readers and ignored by the model; a column whose name is close to one of these is refused
with "did you mean". Row k is customer k of the run.

**How a customer enters** (the non-contractual model: drop-out is decided right after a repeat
purchase, :mod:`crmsim.model.customer`). Each customer draws, from its own trait uniforms
(:data:`crmsim.model.market.TRAIT_COLUMNS`, so the draws of one customer never depend on the
others: common random numbers), whether it is still active (uniform ``alive`` < ``p_alive``)
and its traits by inverse CDF from its own distributions.

* An **active** customer resumes buying: its next purchase comes after an exponential gap with
  its rate λ counted from t = 0 (the Poisson process is memoryless, so the time since its last
  purchase does not matter), drawn from the uniform ``next_purchase``; then its life goes on as
  any customer's — a drop-out decision with its θ after each repeat purchase, policies acting
  on it. Its lifecycle stage at t = 0 is the one its repeat purchases earn (decline if it has
  already been silent for ``lifecycle.decline_recency`` of its mean gap).
* A customer who is **gone** stays silent for ever. In the BG/NBD story a customer drops out
  right after a purchase, so it left at its last purchase: its ``churned_at`` is
  ``last_purchase`` (≤ 0) and its ``churn_reason`` is ``"before_start"``. It is not active at
  any time of the run, no ``churn`` event is recorded and it is not counted in the ``churned``
  KPI (nothing in the run caused it); it is in the customers table and in the firm's records
  (a shop cannot tell a gone customer from a quiet one: a churn warning may send it offers).

With every churn coefficient β = 0 and no policy, a population from
:meth:`crmsim.Calibration.to_yaml` makes the run exactly the fitted BG/NBD / Gamma–Gamma model
conditioned on each customer's history (Fader, Hardie & Lee 2005: P(alive) and the posterior
λ ~ Gamma(r + x, α + T), p ~ Beta(a, b + x), ν ~ Gamma(p x + q, γ + x z̄)), which is what the
holdout check tests (:func:`crmsim.holdout`).
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from crmsim.model.churn import BEFORE_START  # noqa: F401  (the reason of a customer gone at t = 0)

#: the ``details`` of the ``acquired`` event of a customer from a population file
POPULATION_SOURCE = "population"

REQUIRED = ("acquired_at", "purchases", "last_purchase")
#: trait → (columns of an active customer's distribution, columns that a gone customer's replace)
TRAIT_PARAMETERS = {
    "purchase_rate": (("purchase_rate_shape", "purchase_rate_rate"),
                      (None, "purchase_rate_rate_dead")),
    "churn_propensity": (("churn_propensity_a", "churn_propensity_b"),
                         ("churn_propensity_a_dead", "churn_propensity_b_dead")),
    "spend_rate": (("spend_rate_shape", "spend_rate_rate"), (None, None)),
}
OPTIONAL = ("revenue", "p_alive",
            *(c for pair, dead in TRAIT_PARAMETERS.values() for c in (*pair, *dead) if c))
KNOWN = (*REQUIRED, *OPTIONAL)


@dataclass(frozen=True)
class Population:
    """A checked population file: one array per column (NaN-free), ``size`` rows.

    ``traits`` maps each trait given in the file to its parameter arrays
    (``shape``/``rate`` or ``a``/``b`` for an active customer, and the same for a gone one).
    """

    path: str
    size: int
    acquired_at: np.ndarray
    purchases: np.ndarray
    last_purchase: np.ndarray
    revenue: np.ndarray
    p_alive: np.ndarray
    traits: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]

    def draw(self, uniforms: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(alive, trait values) from the customers' own uniforms (by trait name).

        Each trait given in the file is its inverse CDF at the customer's uniform, from the
        active or the gone customer's distribution; traits not in the file are left out (the
        caller draws them from the scenario)."""
        alive = uniforms["alive"] < self.p_alive
        values = {}
        for trait, (first, second, first_dead, second_dead) in self.traits.items():
            one = np.where(alive, first, first_dead)
            two = np.where(alive, second, second_dead)
            u = uniforms[trait]
            if trait == "churn_propensity":
                values[trait] = special.betaincinv(one, two, u)
            else:  # Gamma(shape, rate): the quantile of the standard gamma over the rate
                values[trait] = special.gammaincinv(one, u) / two
        return alive, values


def resolve(value: str, folder: Path) -> str:
    """An absolute path for ``value``, relative to ``folder`` unless it is absolute."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


def read_population(path: str) -> Population:
    """Read and check a population file; raises ValueError with one line naming the problem.

    Cached by (path, modification time, size): a sweep or a comparison reads the file once.
    """
    file = Path(path)
    try:
        stat = file.stat()
    except OSError:
        raise ValueError(f"file not found: {path}") from None
    if not file.is_file():
        raise ValueError(f"{path} is a folder; allowed: a Parquet file")
    return _read(str(file), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> Population:
    try:
        table = pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 — pyarrow raises many kinds for a bad file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"not a readable Parquet file ({reason})") from None
    return check_population(table, path)


def _show(value) -> str:
    """A value for a message: a plain Python number, not numpy's repr."""
    return repr(value.item() if hasattr(value, "item") else value)


def _near_miss(name: str) -> str | None:
    guess = difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.8)
    return guess[0] if guess and guess[0] != name else None


def check_population(table: pd.DataFrame, path: str = "population") -> Population:
    """Check a population table (see the module docstring) and return it as arrays."""
    columns = [str(c) for c in table.columns]
    for name in columns:
        guess = _near_miss(name)
        if guess is not None and guess not in columns:
            raise ValueError(f"column '{name}': not a population column (did you mean "
                             f"'{guess}'?); columns: {', '.join(KNOWN)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}; required: "
                         f"{', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})")
    if len(table) == 0:
        raise ValueError("no rows: a population needs at least one customer")
    for trait, (pair, _) in TRAIT_PARAMETERS.items():
        given = [c for c in pair if c in columns]
        if len(given) == 1:
            other = pair[1 - pair.index(given[0])]
            raise ValueError(f"column {given[0]} without {other}: give both (the {trait} "
                             "distribution of each customer) or neither (the scenario's)")

    def number(name: str, default: float | None = None, *, low: float | None = None,
               high: float | None = None, positive: bool = False, nan_ok=None) -> np.ndarray:
        if name not in columns:
            return np.full(len(table), default, dtype=float)
        raw = table[name]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if nan_ok is not None:
            bad &= ~(np.isnan(values) & nan_ok)
        if positive:
            bad |= values <= 0
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
        if bad.any():
            row = int(np.argmax(bad))
            allowed = ("a number > 0" if positive else
                       f"a number from {low:g} to {high:g}" if low is not None and high is not None
                       else f"a number ≥ {low:g}" if low is not None
                       else f"a number ≤ {high:g}" if high is not None else "a finite number")
            raise ValueError(f"row {row}: {name} = {_show(raw.iloc[row])}; allowed: {allowed} "
                             f"({int(bad.sum())} row(s) like it)")
        return values

    acquired_at = number("acquired_at", high=0.0)
    last = number("last_purchase", high=0.0)
    purchases = number("purchases", low=1.0)
    whole = purchases != np.floor(purchases)
    if whole.any():
        row = int(np.argmax(whole))
        raise ValueError(f"row {row}: purchases = {_show(purchases[row])}; allowed: a whole number ≥ 1")
    order = (last < acquired_at) | ((purchases == 1) & (last != acquired_at))
    if order.any():
        row = int(np.argmax(order))
        raise ValueError(f"row {row}: last_purchase = {_show(last[row])} with acquired_at = "
                         f"{_show(acquired_at[row])} and purchases = {int(purchases[row])}; allowed: "
                         "acquired_at ≤ last_purchase ≤ 0, equal for a single purchase")
    revenue = number("revenue", 0.0, low=0.0)
    p_alive = number("p_alive", 1.0, low=0.0, high=1.0)
    single = (purchases == 1) & (p_alive < 1)
    if single.any():
        row = int(np.argmax(single))
        raise ValueError(f"row {row}: p_alive = {_show(p_alive[row])} for a customer with one "
                         "purchase; allowed: 1 (drop-out is decided after a repeat purchase)")
    traits = {}
    for trait, (pair, dead) in TRAIT_PARAMETERS.items():
        if pair[0] not in columns:
            continue
        first, second = (number(c, positive=True) for c in pair)
        gone = p_alive < 1
        first_dead, second_dead = (
            number(c, positive=True, nan_ok=~gone) if c in columns else base
            for c, base in zip(dead, (first, second)))
        # NaN is allowed only where the customer is surely active (never read)
        first_dead = np.where(gone, first_dead, first)
        second_dead = np.where(gone, second_dead, second)
        traits[trait] = (first, second, first_dead, second_dead)
    return Population(path=path, size=len(table), acquired_at=acquired_at,
                      purchases=purchases.astype(np.int64), last_purchase=last, revenue=revenue,
                      p_alive=p_alive, traits=traits)


def scenario_problems(population: Population, scenario) -> list[str]:
    """What in the rest of ``scenario`` does not fit a population file (empty: all fits)."""
    from crmsim.distributions import GammaGammaSpend

    problems = []
    if scenario.market.setting != "noncontractual":
        problems.append("customers.population needs market.setting: noncontractual (customers "
                        "resume buying; drop-out follows a repeat purchase)")
    if scenario.customers.segments:
        problems.append("customers.population and customers.segments cannot be combined (the "
                        "population file gives each customer's traits)")
    if "spend_rate" in population.traits and not isinstance(scenario.purchase.spend,
                                                            GammaGammaSpend):
        problems.append("customers.population has spend_rate_shape and spend_rate_rate (a "
                        "Gamma–Gamma ν per customer): purchase.spend must be {dist: gamma_gamma, "
                        "p, q, gamma} (its p is the shape of each purchase)")
    return problems
