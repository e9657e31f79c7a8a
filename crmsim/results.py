"""Recording a run and the tables it produces.

The model writes into a :class:`Recorder` while it runs: events go into preallocated-style typed
columns (``array``: 8 bytes a number, no Python object per value), money into a ledger of running
totals (nominal and discounted), and a reporting process takes a snapshot every
``report_every``. Tables are built once, at the end, by :meth:`Recorder.result`.

A :class:`RunResult` is what :func:`crmsim.simulate` returns:

* ``events`` — one row per event: time, customer_id, kind, amount, details;
* ``customers`` — one row per customer, latent traits included (the simulation knows the truth);
* ``timeseries`` — one row per reporting period;
* ``kpis`` — a flat dict of named figures (see :data:`KPI_DESCRIPTIONS`);
* ``transactions()`` — customer_id, time, amount, one row per purchase or payment.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmsim.model import lifecycle

#: kinds of events, in the order of their codes
EVENT_KINDS = ("acquired", "purchase", "payment", "stage", "churn")
ACQUIRED, PURCHASE, PAYMENT, STAGE, CHURN = range(len(EVENT_KINDS))

#: what each KPI means (the names are a contract: see DESIGN.md)
KPI_DESCRIPTIONS = {
    "active_end": "active customers at the horizon",
    "initial": "customers at t = 0",
    "acquired": "customers acquired after t = 0",
    "churned": "customers who churned during the run",
    "churn_rate": "churned / (initial + acquired)",
    "purchases": "purchases (non-contractual) or payments (contractual), first ones included",
    "revenue": "money received from customers",
    "margin": "revenue × margin rate",
    "acquisition_cost": "paid acquisition spend",
    "fixed_cost": "overhead",
    "costs": "all costs (acquisition, overhead, and each policy's)",
    "profit": "margin − costs",
    "npv_profit": "profit discounted at economics.discount_rate, (1 + i)^(-t)",
    "mean_satisfaction": "mean satisfaction of active customers at the horizon",
}

#: ledger accounts that are costs (policies add theirs)
COST_ACCOUNTS = ("acquisition_cost", "fixed_cost")


class Recorder:
    """Collects events, money and snapshots while a run goes on."""

    def __init__(self, discount_rate: float):
        self.time = array("d")
        self.customer = array("q")
        self.kind = array("b")
        self.amount = array("d")
        self.details: dict[int, str] = {}
        self._log_discount = math.log1p(discount_rate)
        self.totals: dict[str, float] = {"revenue": 0.0, "margin": 0.0}
        self.totals.update({name: 0.0 for name in COST_ACCOUNTS})
        self.npv: dict[str, float] = dict.fromkeys(self.totals, 0.0)
        self.snapshots: list[dict[str, float]] = []

    def event(self, time: float, customer_id: int, kind: int, amount: float = 0.0,
              details: str | None = None) -> None:
        if details is not None:
            self.details[len(self.time)] = details
        self.time.append(time)
        self.customer.append(customer_id)
        self.kind.append(kind)
        self.amount.append(amount)

    def discount(self, time: float) -> float:
        """The discount factor (1 + i)^(-t)."""
        return math.exp(-self._log_discount * time) if self._log_discount else 1.0

    def book(self, time: float, account: str, amount: float) -> None:
        """Book money (revenue, margin or a cost) at ``time``."""
        self.totals[account] = self.totals.get(account, 0.0) + amount
        self.npv[account] = self.npv.get(account, 0.0) + amount * self.discount(time)

    def snapshot(self, row: dict[str, float]) -> None:
        row.update({f"cum_{k}": v for k, v in self.totals.items()})
        self.snapshots.append(row)

    # ------------------------------------------------------------------ tables

    def events_table(self) -> pd.DataFrame:
        details = np.full(len(self.time), None, dtype=object)
        for row, text in self.details.items():
            details[row] = text
        return pd.DataFrame(
            {
                "time": np.frombuffer(self.time, dtype=float).copy(),
                "customer_id": np.frombuffer(self.customer, dtype=np.int64).copy(),
                "kind": pd.Categorical.from_codes(
                    np.frombuffer(self.kind, dtype=np.int8).astype(int), EVENT_KINDS
                ),
                "amount": np.frombuffer(self.amount, dtype=float).copy(),
                "details": details,
            }
        )

    def timeseries_table(self) -> pd.DataFrame:
        snaps = pd.DataFrame(self.snapshots)
        cumulative = [c for c in snaps.columns if c.startswith("cum_")]
        flows = snaps[cumulative].diff().fillna(snaps[cumulative])
        flows.columns = [c.removeprefix("cum_") for c in cumulative]
        table = pd.concat([snaps.drop(columns=cumulative), flows], axis=1)
        table["costs"] = table[[c for c in flows.columns if c in self.cost_accounts()]].sum(axis=1)
        table["profit"] = table["margin"] - table["costs"]
        return table

    def cost_accounts(self) -> list[str]:
        return [k for k in self.totals if k not in ("revenue", "margin")]


@dataclass
class RunResult:
    """The tables and KPIs of one run (see the module docstring)."""

    scenario: Any
    seed: int
    events: pd.DataFrame
    customers: pd.DataFrame
    timeseries: pd.DataFrame
    kpis: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)

    def transactions(self) -> pd.DataFrame:
        """customer_id, time, amount: one row per purchase or payment, first one included.

        The shape that ``lifetimes`` and ``pymc-marketing`` expect (and
        :func:`crmsim.analysis.rfm_summary` reads).
        """
        paid = self.events["kind"].isin(["purchase", "payment"])
        return self.events.loc[paid, ["customer_id", "time", "amount"]].reset_index(drop=True)

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
