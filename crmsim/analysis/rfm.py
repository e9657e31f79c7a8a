"""Recency, frequency and monetary value (RFM) of a transactions table.

Works on any table with ``customer_id``, ``time`` and ``amount`` (one row per purchase, the first
included): :meth:`crmsim.RunResult.transactions` or a shop's own CSV. :func:`rfm_summary` gives
the per-customer summary that BG/NBD, Pareto/NBD and Gamma–Gamma models are fitted on (the
shape of ``lifetimes.utils.summary_data_from_transaction_data``):

* ``frequency`` — repeat purchases (all purchases − 1);
* ``recency`` — time from the first to the last purchase;
* ``T`` — time from the first purchase to ``observation_end``;
* ``monetary_value`` — mean amount of the repeat purchases (0 with none).
"""

from __future__ import annotations

import pandas as pd


def rfm_summary(transactions: pd.DataFrame, observation_end: float) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary_value (index: customer_id)."""
    missing = {"customer_id", "time", "amount"} - set(transactions.columns)
    if missing:
        raise ValueError(f"transactions need columns customer_id, time, amount; "
                         f"missing: {', '.join(sorted(missing))}")
    tx = transactions.sort_values(["customer_id", "time"])
    grouped = tx.groupby("customer_id", sort=True)
    first = grouped["time"].min()
    last = grouped["time"].max()
    count = grouped["time"].size()
    total = grouped["amount"].sum()
    first_amount = grouped["amount"].first()
    frequency = count - 1
    repeat_total = total - first_amount
    monetary = (repeat_total / frequency.where(frequency > 0)).fillna(0.0)
    return pd.DataFrame(
        {
            "frequency": frequency.astype(int),
            "recency": last - first,
            "T": observation_end - first,
            "monetary_value": monetary,
        }
    )
