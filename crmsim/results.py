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


#: events at a time when a column is derived from another (bounds the temporary arrays)
_CHUNK = 1 << 20


#: pandas 3 or later: copy-on-write always, text in Arrow where pyarrow is installed
_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def _copy_on_write() -> bool:
    """Whether pandas copies a shared column before changing it (always from pandas 3; an
    option in pandas 2)."""
    return _PANDAS_3 or pd.get_option("mode.copy_on_write") is True


class Recorder:
    """Collects events, costs and snapshots while a run goes on.

    Events go into five typed columns: ``time``, ``customer``, ``kind`` (the code of the kind,
    :data:`EVENT_KINDS`), ``amount`` and ``detail`` (the code of the details text, 0 for none:
    :meth:`details_of`) — a few bytes an event, no Python object per event.

    Columns are read into numpy by copying (``np.array(column)``), never by a view
    (``np.frombuffer``): a view exports the column's buffer, and while anything holds it — a
    sampling profiler that keeps the frame of a function that just returned, as every dask
    worker runs — the column cannot grow and the next event raises ``BufferError``.

    When the run is over, :meth:`seal` turns the columns into read-only numpy arrays, once: the
    tables, the KPIs and the policies then read those same arrays (no copies), and the event
    data of a large run is held once instead of three times while the tables are built.
    """

    def __init__(self, discount_rate: float, accounts=tuple(CORE_COSTS)):
        self.discount_rate = discount_rate
        self.time = array("d")
        self.customer = array("q")
        self.kind = array("b")
        self.amount = array("d")
        self.detail = array("H")
        self._frame: pd.DataFrame | None = None  # the columns once sealed (see seal)
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

    #: the sealed columns: (name in the tables, attribute while recording)
    _SEALED = (("time", "time"), ("customer_id", "customer"), ("kind", "kind"),
               ("amount", "amount"), ("detail", "detail"))

    def seal(self) -> None:
        """The run is over: the columns become one pandas frame (no event can be added
        after it), column by column, each ``array`` let go as soon as it is copied. The
        attributes ``time``, ``customer``, ``kind``, ``amount`` and ``detail`` then are
        read-only numpy views of it; :meth:`columns` and the events table share its memory
        (pandas' copy-on-write copies a column only if a table's user changes it)."""
        if self.sealed:
            return
        frame = {}
        for name, attribute in self._SEALED:
            column = getattr(self, attribute)
            frame[name] = np.array(column, dtype=column.typecode)
            setattr(self, attribute, None)
        self._frame = pd.DataFrame(frame, copy=False)
        for name, attribute in self._SEALED:
            view = self._frame[name].to_numpy()
            view.flags.writeable = False  # (pandas 3 does this itself)
            setattr(self, attribute, view)

    @property
    def sealed(self) -> bool:
        """Whether :meth:`seal` ended the recording."""
        return self._frame is not None

    def columns(self) -> dict[str, np.ndarray]:
        """The event columns as numpy arrays (``kind`` as int8): copies while the run goes on,
        read-only views of the sealed columns once it is over (:meth:`seal`)."""
        if self.sealed:  # the read-only views seal() made
            return {"time": self.time, "customer_id": self.customer, "kind": self.kind,
                    "amount": self.amount}
        return {
            "time": np.array(self.time, dtype=float),
            "customer_id": np.array(self.customer, dtype=np.int64),
            "kind": np.array(self.kind, dtype=np.int8),
            "amount": np.array(self.amount, dtype=float),
        }

    def details_column(self) -> np.ndarray:
        """The details of every event as an object array (None where there are none)."""
        texts = np.empty(len(self._texts), dtype=object)
        texts[:] = self._texts
        codes = self._detail_codes()
        details = np.empty(len(codes), dtype=object)
        for start in range(0, len(codes), _CHUNK):  # (an index array a chunk at a time)
            details[start:start + _CHUNK] = texts[codes[start:start + _CHUNK]]
        return details

    def _details_for_table(self):
        """The events table's details column, as pandas would make it from
        :meth:`details_column`: where pandas keeps text in Arrow (pandas 3 with pyarrow), built
        there straight from the codes, without a Python object per event on the way."""
        codes = self._detail_codes()
        text = pd.Series(["text", None]).dtype  # what pandas makes of texts and None now
        if (codes.any() and _PANDAS_3 and isinstance(text, pd.StringDtype)
                and text.storage == "pyarrow"):
            import pyarrow as pa  # (pandas' own text storage: installed with it here)

            texts = pa.array(self._texts, type=pa.large_string())
            return pd.arrays.ArrowStringArray(texts.take(pa.array(codes)), dtype=text)
        return self.details_column()

    def _detail_codes(self) -> np.ndarray:
        """The details codes: the sealed column, or a copy while the run goes on (a view
        would pin the growing column, see the class docstring)."""
        return np.asarray(self.detail) if self.sealed else np.array(self.detail)

    def events_table(self) -> pd.DataFrame:
        """One row per event. Once the recording is sealed, the table's time, customer_id and
        amount are the sealed columns themselves, not copies, where pandas copies on write
        (pandas 3); elsewhere the table gets copies of its own."""
        frame = self._frame if self.sealed else pd.DataFrame(self.columns(), copy=False)
        return pd.DataFrame(
            {
                "time": frame["time"],
                "customer_id": frame["customer_id"],
                "kind": pd.Categorical.from_codes(frame["kind"].to_numpy(), EVENT_KINDS),
                "amount": frame["amount"],
                "details": self._details_for_table(),
            },
            copy=self.sealed and not _copy_on_write(),
        )


class Ledger:
    """Money and flows derived from the event columns at the end of a run, vectorized, all at
    once: :attr:`totals` (for the KPIs), :attr:`per_customer` (for the customers table) and
    :attr:`per_period` (for the timeseries). They are derived when the run ends, before any
    table exists — a large run's arrays of paid events are then made while the least is
    held — and the ledger keeps only them, not the columns.

    ``cols`` are :meth:`Recorder.columns`; ``acquired_at`` is each customer's acquisition time
    (indexed by customer id); customers with ids below ``initial`` are the base at t = 0;
    ``period_ends`` are the reporting times.
    """

    def __init__(self, cols: dict[str, np.ndarray], acquired_at: np.ndarray, initial: int,
                 margin_rate: float, discount_rate: float, period_ends: np.ndarray):
        self._cols = cols
        self._paid = np.isin(cols["kind"], PAID_KINDS)
        self._acquired_at = acquired_at
        self._initial = initial
        self._margin_rate = margin_rate
        self._discount_rate = discount_rate
        #: counts and money of the whole run
        self.totals: dict[str, float] = self._whole_run()
        #: revenue, margin, npv_margin (discounted to acquisition) and last_purchase, by
        #: customer id
        self.per_customer: dict[str, np.ndarray] = self._by_customer()
        #: flows in each reporting period (see :meth:`_by_period`)
        self.per_period: pd.DataFrame = self._by_period(period_ends)
        del self._cols, self._paid, self._acquired_at

    def _paid_column(self, name: str) -> np.ndarray:
        """Column ``name`` of the paid events (purchases and payments), in event order."""
        return self._cols[name][self._paid]

    def _by_customer(self) -> dict[str, np.ndarray]:
        n, c = len(self._acquired_at), self._paid_column("customer_id")
        time, margin = self._paid_column("time"), self._paid_column("amount")
        last = np.full(n, np.nan)
        np.fmax.at(last, c, time)
        revenue = np.bincount(c, weights=margin, minlength=n)
        # in place, an array of the paid events at a time
        margin *= self._margin_rate
        time -= self._acquired_at[c]  # the tenure at each payment
        np.power(1.0 + self._discount_rate, np.negative(time, out=time), out=time)
        time *= margin  # margin × discount_factor(tenure)
        return {
            "revenue": revenue,
            "margin": np.bincount(c, weights=margin, minlength=n),
            "npv_margin": np.bincount(c, weights=time, minlength=n),
            "last_purchase": last,
        }

    def _by_period(self, period_ends: np.ndarray) -> pd.DataFrame:
        """Flows in each period (t_{k−1}, t_k]; the first row (t_0 = 0) holds what happened at 0.

        acquired counts customers acquired after t = 0 (not the initial base).
        """
        k = len(period_ends)

        def binned(times, weights=None):
            index = np.searchsorted(period_ends, times, side="left")
            return np.bincount(index, weights=weights, minlength=k + 1)[:k]

        t = self._cols["time"]
        flows = {"acquired": binned(t[self._new_customers()]).astype(int),
                 "churned": binned(t[self._cols["kind"] == CHURN]).astype(int)}
        period = np.searchsorted(period_ends, self._paid_column("time"), side="left")
        amount = self._paid_column("amount")
        flows["purchases"] = np.bincount(period, minlength=k + 1)[:k].astype(int)
        flows["revenue"] = np.bincount(period, weights=amount, minlength=k + 1)[:k]
        amount *= self._margin_rate
        flows["margin"] = np.bincount(period, weights=amount, minlength=k + 1)[:k]
        return pd.DataFrame(flows)

    def _new_customers(self) -> np.ndarray:
        """Mask of the 'acquired' events of customers acquired after t = 0."""
        return (self._cols["kind"] == ACQUIRED) & (self._cols["customer_id"] >= self._initial)

    def _whole_run(self) -> dict[str, float]:
        revenue = self._paid_column("amount")
        margin = revenue * self._margin_rate
        return {
            "acquired": int(self._new_customers().sum()),
            "churned": int((self._cols["kind"] == CHURN).sum()),
            "purchases": len(revenue),
            "revenue": float(revenue.sum()),
            "margin": float(margin.sum()),
            "npv_margin": float((margin * discount_factor(self._paid_column("time"),
                                                          self._discount_rate)).sum()),
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
    parts = [snaps.drop(columns=cumulative), ledger.per_period]
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
