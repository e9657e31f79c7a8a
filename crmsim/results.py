"""Recording a run and the tables it produces.

While a run goes on, the model only *appends*: events go into typed columns (``array``: 8 bytes
a number, no Python object per value), costs into a small ledger, and a reporting process takes a
snapshot of the stocks (active customers by stage, mean satisfaction, cumulative counts and costs)
every ``report_every``. Everything derived — revenue, margin, discounted values, per-customer
money, per-period flows — is computed once, at the end, vectorized over the event columns
(:class:`Ledger`). This keeps the per-event cost of the model low.

A :class:`RunResult` is what :func:`crmsim.simulate` returns:

* ``events`` — one row per event: time, customer_id, kind, amount, details;
* ``customers`` — one row per customer, latent traits included (the simulation knows the truth);
* ``timeseries`` — the opening state at t = 0, then one row per reporting period (flows over the
  period, stocks at its end);
* ``kpis`` — a flat dict of named figures (see :data:`KPI_DESCRIPTIONS`);
* ``transactions()`` — customer_id, time, amount, one row per purchase or payment;
* ``to_duckdb(path)`` — the firm's customer database for SQL (:mod:`crmsim.database`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmsim.analysis.clv import discount_factor
from crmsim.model import collector, lifecycle

#: kinds of events, in the order of their codes: the core's, then each policy's (registered
#: with :func:`event_kind` when its module is imported, in registry order)
EVENT_KINDS: list[str] = []


def event_kind(name: str) -> int:
    """The code of event kind ``name``, registering it if new (codes never change in a run)."""
    if name not in EVENT_KINDS:
        EVENT_KINDS.append(name)
    return EVENT_KINDS.index(name)


ACQUIRED, PURCHASE, PAYMENT, STAGE, CHURN = (
    event_kind(k) for k in ("acquired", "purchase", "payment", "stage", "churn"))
#: kinds that are money received from a customer
PAID_KINDS = (PURCHASE, PAYMENT)

#: ledger accounts of the core model (policies add theirs: :attr:`Policy.COSTS`)
CORE_COSTS = {
    "fixed_cost": "overhead",
    "serve_cost": "economics.cost_to_serve × active customer-time (less for mature customers "
    "with economics.serve_cost_decline)",
    "quality_cost": "the cost of quality: the service level (satisfaction.quality_cost × q / "
    "(1 − q)) and failure prevention (service.prevention_cost), per active customer-time",
    "barrier_cost": "keeping switching costs up: switching_cost.upkeep × (procedural + "
    "financial) × active customer-time",
}

#: what each KPI means (the names are a contract: see DESIGN.md). The core's are listed here;
#: the policy registry adds every policy's KPIs and cost accounts (:mod:`crmsim.policies`).
KPI_DESCRIPTIONS = {
    "active_end": "active customers at the horizon",
    "initial": "customers at t = 0",
    "acquired": "customers acquired after t = 0",
    "churned": "customers who churned during the run",
    "churn_rate": "churned / (initial + acquired)",
    "purchases": "purchases (non-contractual) or payments (contractual), first ones included",
    "revenue": "money received from customers",
    "margin": "revenue × margin rate",
    **CORE_COSTS,
    "costs": "all costs (acquisition, overhead, and each policy's)",
    "profit": "margin − costs",
    "npv_profit": "profit discounted at economics.discount_rate, (1 + i)^(-t)",
    "mean_satisfaction": "mean satisfaction of active customers at the horizon",
    "churn_rate_true": "share of truly loyal customers (at the reference time) who churned after it",
    "churn_rate_latent": "the same for latent loyalty (satisfied, little repeat buying)",
    "churn_rate_spurious": "the same for spurious loyalty (repeat buying without satisfaction)",
    "churn_rate_none": "the same for customers with no loyalty",
}


class Recorder:
    """Collects events, costs and snapshots while a run goes on.

    Events go into five typed columns: ``time``, ``customer``, ``kind`` (the code of the kind,
    :data:`EVENT_KINDS`), ``amount`` and ``detail`` (the code of the details text, 0 for none:
    :meth:`details_of`) — a few bytes an event, no Python object per event.

    Columns are read into numpy by copying (``np.array(column)``), never by a view
    (``np.frombuffer``): a view exports the column's buffer, and while anything holds it — a
    sampling profiler that keeps the frame of a function that just returned, as every dask
    worker runs — the column cannot grow and the next event raises ``BufferError``.
    """

    def __init__(self, discount_rate: float, accounts=tuple(CORE_COSTS)):
        self.discount_rate = discount_rate
        self.time = array("d")
        self.customer = array("q")
        self.kind = array("b")
        self.amount = array("d")
        self.detail = array("H")
        self._texts: list[str | None] = [None]  # details text by code
        self._codes: dict[str, int] = {}
        self.costs: dict[str, float] = dict.fromkeys(accounts, 0.0)
        # every booking (time, amount, account), for the costs' present value at the end
        self._booked_time, self._booked_amount = array("d"), array("d")
        self._booked_account: list[str] = []
        self.snapshots: list[dict[str, float]] = []

    def event(self, time: float, customer_id: int, kind: int, amount: float = 0.0,
              details: str | None = None) -> None:
        self.time.append(time)
        self.customer.append(customer_id)
        self.kind.append(kind)
        self.amount.append(amount)
        if details is None:
            self.detail.append(0)
        else:
            code = self._codes.get(details)
            self.detail.append(self._code(details) if code is None else code)

    def _code(self, text: str) -> int:
        """The code of a details text not seen before."""
        code = self._codes[text] = len(self._texts)
        self._texts.append(text)
        if code == 1 << 16 and self.detail.typecode == "H":  # more texts than 2 bytes hold
            self.detail = array("I", self.detail)
        return code

    def details_of(self, row: int) -> str | None:
        """The details text of event ``row`` (None: none)."""
        return self._texts[self.detail[row]]

    def book(self, time: float, account: str, amount: float) -> None:
        """Book a cost at ``time`` (money received is derived from the events at the end)."""
        self.costs[account] = self.costs.get(account, 0.0) + amount
        self._booked_time.append(time)
        self._booked_amount.append(amount)
        self._booked_account.append(account)

    @property
    def npv_costs(self) -> dict[str, float]:
        """Each account's bookings discounted to t = 0, (1 + i)^(-t) (same accounts, same
        order as :attr:`costs`). The discount factors are computed at once, not at every
        booking; each account's present value adds its bookings in the order they were made."""
        npv = dict.fromkeys(self.costs, 0.0)
        present = (np.array(self._booked_amount)
                   * discount_factor(np.array(self._booked_time), self.discount_rate))
        for account, value in zip(self._booked_account, present.tolist()):
            npv[account] += value
        return npv

    def snapshot(self, row: dict[str, float]) -> None:
        row.update({f"cum_{k}": v for k, v in self.costs.items()})
        self.snapshots.append(row)

    # ------------------------------------------------------------------ tables

    def columns(self) -> dict[str, np.ndarray]:
        """The event columns as numpy arrays (copies)."""
        return {
            "time": np.array(self.time, dtype=float),
            "customer_id": np.array(self.customer, dtype=np.int64),
            "kind": np.array(self.kind, dtype=np.int64),
            "amount": np.array(self.amount, dtype=float),
        }

    def details_column(self) -> np.ndarray:
        """The details of every event as an object array (None where there are none)."""
        texts = np.empty(len(self._texts), dtype=object)
        texts[:] = self._texts
        return texts[np.array(self.detail, dtype=self.detail.typecode)]

    def events_table(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": cols["time"],
                "customer_id": cols["customer_id"],
                "kind": pd.Categorical.from_codes(cols["kind"], EVENT_KINDS),
                "amount": cols["amount"],
                "details": self.details_column(),
            }
        )


class Ledger:
    """Money and flows derived from the event columns at the end of a run, vectorized.

    ``cols`` are :meth:`Recorder.columns`; ``acquired_at`` is each customer's acquisition time
    (indexed by customer id); customers with ids below ``initial`` are the base at t = 0.
    """

    def __init__(self, cols: dict[str, np.ndarray], acquired_at: np.ndarray, initial: int,
                 margin_rate: float, discount_rate: float):
        self.cols = cols
        paid = np.isin(cols["kind"], PAID_KINDS)
        self.time = cols["time"][paid]
        self.customer = cols["customer_id"][paid]
        self.revenue = cols["amount"][paid]
        self.margin = self.revenue * margin_rate
        self.discount = discount_factor(self.time, discount_rate)
        self._acquired_at = acquired_at
        self._initial = initial
        self._discount_rate = discount_rate

    def per_customer(self) -> dict[str, np.ndarray]:
        """revenue, margin, npv_margin (discounted to acquisition) and last_purchase."""
        n, c = len(self._acquired_at), self.customer
        tenure = self.time - self._acquired_at[c]
        last = np.full(n, np.nan)
        np.fmax.at(last, c, self.time)
        return {
            "revenue": np.bincount(c, weights=self.revenue, minlength=n),
            "margin": np.bincount(c, weights=self.margin, minlength=n),
            "npv_margin": np.bincount(
                c, weights=self.margin * discount_factor(tenure, self._discount_rate),
                minlength=n),
            "last_purchase": last,
        }

    def per_period(self, period_ends: np.ndarray) -> pd.DataFrame:
        """Flows in each period (t_{k−1}, t_k]; the first row (t_0 = 0) holds what happened at 0.

        acquired counts customers acquired after t = 0 (not the initial base).
        """
        k = len(period_ends)

        def binned(times, weights=None):
            index = np.searchsorted(period_ends, times, side="left")
            return np.bincount(index, weights=weights, minlength=k + 1)[:k]

        t = self.cols["time"]
        return pd.DataFrame({
            "acquired": binned(t[self._new_customers()]).astype(int),
            "churned": binned(t[self.cols["kind"] == CHURN]).astype(int),
            "purchases": binned(self.time).astype(int),
            "revenue": binned(self.time, self.revenue),
            "margin": binned(self.time, self.margin),
        })

    def _new_customers(self) -> np.ndarray:
        """Mask of the 'acquired' events of customers acquired after t = 0."""
        return (self.cols["kind"] == ACQUIRED) & (self.cols["customer_id"] >= self._initial)

    def totals(self) -> dict[str, float]:
        """Counts and money of the whole run."""
        return {
            "acquired": int(self._new_customers().sum()),
            "churned": int((self.cols["kind"] == CHURN).sum()),
            "purchases": len(self.time),
            "revenue": float(self.revenue.sum()),
            "margin": float(self.margin.sum()),
            "npv_margin": float((self.margin * self.discount).sum()),
        }


def timeseries_table(snapshots: list[dict], ledger: Ledger,
                     period_columns: list[Callable] = ()) -> pd.DataFrame:
    """Stocks from the snapshots; flows from the events (costs from cumulative snapshots);
    then what each ``period_columns(period_ends)`` gives (a policy's figures per period, e.g.
    the desk's; None for nothing)."""
    snaps = pd.DataFrame(snapshots)
    cumulative = [c for c in snaps.columns if c.startswith("cum_")]
    costs = snaps[cumulative].diff().fillna(snaps[cumulative])
    costs.columns = [c.removeprefix("cum_") for c in cumulative]
    ends = snaps["time"].to_numpy()
    parts = [snaps.drop(columns=cumulative), ledger.per_period(ends)]
    parts += [part for columns in period_columns
              if (part := columns(ends)) is not None]
    table = pd.concat([*parts, costs], axis=1)
    table["costs"] = costs.sum(axis=1)
    table["profit"] = table["margin"] - table["costs"]
    return table


class RunResult:
    """The tables and KPIs of one run (see the module docstring).

    KPIs are computed when the run ends; the tables are built from the recorded columns the
    first time they are read (an experiment that needs only KPIs never pays for pandas).
    """

    def __init__(self, scenario: Any, seed: int | None, kpis: dict[str, float],
                 builders: dict[str, Callable[[], pd.DataFrame]],
                 extra: dict[str, Any] | None = None):
        self.scenario = scenario
        self.seed = seed
        self.kpis = kpis
        self.extra = extra or {}
        self._builders = dict(builders)
        self._tables: dict[str, pd.DataFrame] = {}

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            with collector.paused():  # a table of a large run builds many objects
                self._tables[name] = self._builders.pop(name)()
        return self._tables[name]

    @property
    def table_names(self) -> list[str]:
        """Every table of the run: events, customers, timeseries and the policies' own."""
        return [*self._tables, *self._builders]

    def table(self, name: str) -> pd.DataFrame:
        """A table by name (see :attr:`table_names`)."""
        if name not in self._tables and name not in self._builders:
            raise KeyError(f"no table {name!r}; tables: {', '.join(self.table_names)}")
        return self._table(name)

    @property
    def events(self) -> pd.DataFrame:
        """One row per event: time, customer_id, kind, amount, details."""
        return self._table("events")

    @property
    def customers(self) -> pd.DataFrame:
        """One row per customer, latent traits included."""
        return self._table("customers")

    @property
    def timeseries(self) -> pd.DataFrame:
        """The opening state, then one row per reporting period."""
        return self._table("timeseries")

    @property
    def recovery(self) -> pd.DataFrame:
        """Share of customers who stayed at the decision after a service failure, by complaint
        outcome (quick, resolved, silent, unresolved, abandoned), with Wilson intervals."""
        return self._table("recovery")

    @property
    def contacts(self) -> pd.DataFrame:
        """The desk's inbound contacts: arrival, wait, answered, kind (empty without a desk)."""
        return self._table("contacts")

    def __repr__(self) -> str:
        return (f"RunResult(scenario={getattr(self.scenario, 'name', '?')!r}, seed={self.seed}, "
                f"kpis={len(self.kpis)})")

    def transactions(self) -> pd.DataFrame:
        """customer_id, time, amount: one row per purchase or payment, first one included.

        The shape that ``lifetimes`` and ``pymc-marketing`` expect (and
        :func:`crmsim.analysis.rfm_summary` reads).
        """
        paid = self.events["kind"].isin(["purchase", "payment"])
        return self.events.loc[paid, ["customer_id", "time", "amount"]].reset_index(drop=True)

    def to_duckdb(self, path, overwrite: bool = False):
        """Write the firm's customer database (DuckDB) to ``path``; return its ``Path``.

        Tables customers, transactions, contacts, offers, timeseries, run and a separate
        ``truth``; views rfm and customer_360 (see :mod:`crmsim.database`). The folder must
        exist; an existing file is replaced only with ``overwrite=True``. Query it with
        ``crmsim.sql(path, "SELECT ...")``.
        """
        from crmsim.database import write_database

        return write_database(self, path, overwrite=overwrite)

    def kpi_table(self) -> pd.DataFrame:
        """KPIs with their descriptions, for printing."""
        return pd.DataFrame(
            {"value": pd.Series(self.kpis), "meaning": pd.Series(KPI_DESCRIPTIONS)}
        ).loc[list(self.kpis)]

    def stage_counts(self) -> pd.DataFrame:
        """Active customers by lifecycle stage at each report time (from ``timeseries``)."""
        cols = [f"active_{s}" for s in lifecycle.ACTIVE_STAGES]
        table = self.timeseries.set_index("time")[cols]
        table.columns = [c.removeprefix("active_") for c in cols]
        return table
