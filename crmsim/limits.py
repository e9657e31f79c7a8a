"""Resource limits: refuse, before it starts, a run that cannot finish on this machine.

A scenario can be perfectly valid and still ask for more than a computer has: a billion
customers, a daily report over a million years. Started anyway, such a run allocates until the
operating system kills it (losing everything) or never ends. :func:`check` estimates what a run
will hold in memory and refuses it, naming the estimate, when it would not fit.

What a run holds (measured with ``tracemalloc`` on ten shipped scenarios at 2,000 customers,
over their horizon and three times it, tables included):

* every customer: an object with its state, its row of the traits columns, its random
  streams, its share of what a running market holds (pending events; a service desk's queue),
  and a row of the customers table — :data:`BYTES_PER_CUSTOMER`;
* every event (acquisition, purchase or payment, stage change, churn, ...): 27 bytes in the
  recorder's columns (which the events table shares once the run is over), the rest of its
  events-table row (its details text in Arrow: 6–11 bytes that ``tracemalloc`` does not
  see, added to what it measured) and the arrays of paid events the money is derived from —
  :data:`BYTES_PER_EVENT`. A customer has about one event at acquisition and two per buying
  occasion (the purchase and what it changes), and buys until it churns: with churn
  propensity θ ~ Beta(a, b) decided at each occasion, the expected occasions among the first
  N are Σ_{t<N} S(t), the shifted-beta-geometric survival S(t) = B(a, b + t) / B(a, b)
  (Fader & Hardie 2007, :func:`crmsim.analysis.sbg_survival`);
* every routine contact with the service desk (``service.contact_rate`` per customer per time
  unit, counted as if every customer stayed): the desk's record of it, its customer's stream of
  contact gaps and its waiting process — :data:`BYTES_PER_CONTACT`;
* every reporting period: a snapshot and a row of the timeseries table.

The estimate is within 0.5–2.4 × the peak ``tracemalloc`` measured on ten shipped scenarios at
2,000 customers (over their horizon and three times it; the Arrow text it does not see comes
on top): highest for retention_vs_acquisition, lowest for churn_warning_winback, whose
early-warning scans hold about 3 KB a customer more than counted here. That is close enough to
tell a run that fits from one that needs a hundred times the memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crmsim.analysis.survival import sbg_survival
from crmsim.distributions import BetaDist, GammaDist
from crmsim.errors import ScenarioError

#: memory per customer: the customer object, its traits, streams and state, its share of the
#: running market, its customers-table row
BYTES_PER_CUSTOMER = 1_000
#: memory per event: the recorder's columns, the rest of the events-table row, derived arrays
#: (80 B seen by tracemalloc) and the details text that pandas keeps in Arrow, where
#: tracemalloc does not look (6–11 B)
BYTES_PER_EVENT = 90
#: memory per routine contact with the service desk
BYTES_PER_CONTACT = 100
#: memory per reporting period: a snapshot dict and a timeseries row
BYTES_PER_PERIOD = 4_000
#: reporting periods (horizon / report_every) a run may have: a daily report over 270 years
MAX_PERIODS = 100_000
#: share of the available memory a run may plan to use (the rest: Python, libraries, the OS)
HEADROOM = 0.8


@dataclass(frozen=True)
class Estimate:
    """What a run is expected to hold: customers, events, periods and bytes in all."""

    customers: float
    events: float
    periods: float
    contacts: float = 0.0

    @property
    def bytes(self) -> float:
        return (self.customers * BYTES_PER_CUSTOMER + self.events * BYTES_PER_EVENT
                + self.periods * BYTES_PER_PERIOD + self.contacts * BYTES_PER_CONTACT)


def expected_occasions(occasions: float, churn) -> float:
    """Expected buying occasions a customer lives to see among the first ``occasions``, when
    it churns at each with probability θ (a number, or θ ~ Beta(a, b): Σ_{t<N} S(t))."""
    n = max(float(occasions), 0.0)
    if isinstance(churn, BetaDist):
        exact = np.arange(min(n, 1000.0))
        total = float(sbg_survival(exact, churn.a, churn.b).sum())
        if n > 1000:  # the tail as an integral (S is smooth and decreasing)
            t = np.geomspace(1000.0, n, 200)
            total += float(np.trapezoid(sbg_survival(t, churn.a, churn.b), t))
        return total
    theta = float(churn)
    if theta <= 0:
        return n
    return -math.expm1(n * math.log1p(-theta)) / theta if theta < 1 else min(n, 1.0)


def _events_per_customer(scenario, horizon: float) -> float:
    """Expected events of a customer present for ``horizon`` time units (segments weighted)."""
    from crmsim.model.market import resolve_segments

    total = 0.0
    for segment in resolve_segments(scenario):
        if scenario.market.setting == "contractual":
            occasions = horizon / scenario.contract.period + 1
        else:
            rate = segment.purchase_rate
            occasions = (rate.mean if isinstance(rate, GammaDist) else float(rate)) * horizon
        total += segment.share * (1 + 2 * expected_occasions(occasions, segment.churn_base))
    return total


def estimate(scenario) -> Estimate:
    """Customers (initial and expected acquisitions), events and periods of one run.

    Paid acquisitions arrive at ``acquisition.rate`` over the horizon; word of mouth can turn
    the whole market (``acquisition.market_size``) into customers. Acquired customers are
    present for half the horizon on average.
    """
    horizon = float(scenario.horizon)
    initial = float(min(scenario.customers.initial, 10**18))
    acquisition = scenario.acquisition
    acquired = acquisition.paid_rate * horizon
    if acquisition.market_size is not None:
        room = max(float(min(acquisition.market_size, 10**18)) - initial, 0.0)
        word_of_mouth = acquisition.innovation > 0 or acquisition.imitation > 0
        acquired = room if word_of_mouth else min(acquired, room)
    events = (initial * _events_per_customer(scenario, horizon)
              + acquired * _events_per_customer(scenario, horizon / 2))
    contacts = scenario.service.contact_rate * (initial * horizon + acquired * horizon / 2)
    return Estimate(customers=initial + acquired, events=events,
                    periods=horizon / scenario.report_every + 1, contacts=contacts)


def available_memory() -> int | None:
    """Bytes this process can still allocate: the machine's available memory (psutil), or
    the container's limit (cgroup v2 memory.max − memory.current) if that is lower."""
    found = []
    try:
        import psutil

        found.append(int(psutil.virtual_memory().available))
    except (ImportError, OSError):  # pragma: no cover - psutil is a dependency
        pass
    cgroup = Path("/sys/fs/cgroup")
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):  # no cgroup v2 (or no limit): the machine's figure holds
        pass
    return min(found) if found else None


def size_text(n: float) -> str:
    """'4.1 GB' (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:,.0f} PB"


def check(scenario, workers: int = 1) -> Estimate:
    """Refuse a run (a :class:`~crmsim.errors.ScenarioError` naming the key and the estimate)
    whose horizon is not finite, which has more than :data:`MAX_PERIODS` reporting periods,
    or which would need more memory than this machine has available (``workers`` runs at
    once). Returns the estimate otherwise. :func:`crmsim.simulate` calls it first."""
    horizon = scenario.horizon
    if not math.isfinite(horizon):
        raise ScenarioError(f"horizon = {horizon!r}: a run needs a finite horizon")
    run = estimate(scenario)
    if not run.periods <= MAX_PERIODS + 1:
        raise ScenarioError(
            f"report_every = {scenario.report_every:g}: horizon / report_every = "
            f"{run.periods - 1:,.0f} reporting periods, at most {MAX_PERIODS:,} (each period is "
            f"a snapshot and a row of the timeseries table); use report_every >= "
            f"{horizon / MAX_PERIODS:.3g}")
    available = available_memory()
    need = run.bytes * max(int(workers), 1)
    if available is None or need <= HEADROOM * available:
        return run
    acquired = run.customers - min(scenario.customers.initial, 10**18)
    events_each = run.events / max(run.customers, 1.0)
    if events_each > 1000:  # a long horizon for the customers' buying frequency
        key, value, advice = "horizon", f"{horizon:g}", "a shorter horizon"
    elif acquired > scenario.customers.initial:
        acquisition = scenario.acquisition
        key = ("market_size" if acquisition.innovation > 0 or acquisition.imitation > 0
               else "budget" if acquisition.budget else "rate")
        key, value = f"acquisition.{key}", f"{getattr(acquisition, key):g}"
        advice = "fewer acquisitions or a shorter horizon"
    else:
        key, value = "customers.initial", f"{scenario.customers.initial:,}"
        advice = "fewer customers"
    each = f" × {workers} workers" if workers > 1 else ""
    raise ScenarioError(
        f"{key} = {value}: the run would need about {size_text(run.bytes)} of memory{each} "
        f"({run.customers:,.0f} customers with about {events_each:,.0f} "
        f"events each), this machine has {size_text(available)} available; use {advice}")
