"""Recency, frequency and monetary value (RFM) of a transactions table.

Works on any table with ``customer_id``, ``time`` and ``amount`` (one row per purchase, the first
included): :meth:`crmsim.RunResult.transactions` or a shop's own CSV (``pandas.read_csv``).

* :func:`rfm_summary` — the per-customer summary that BG/NBD, Pareto/NBD and Gamma–Gamma models
  are fitted on (the shape of ``lifetimes.utils.summary_data_from_transaction_data`` and of
  pymc-marketing's ``rfm_summary``): ``frequency`` (repeat purchases), ``recency`` (first to last
  purchase), ``T`` (first purchase to ``observation_end``), ``monetary_value`` (mean repeat
  amount, 0 with none);
* :func:`rfm_scores` — the marketing RFM segmentation (Hughes 1994; the course's RFM 分析):
  each of R = time since the last purchase, F = number of purchases, M = money spent is scored
  1..``bins`` by quantile among the customers (``bins`` is best: most recent, most frequent,
  biggest spender), and the scores are read as a cell ("535") and a total (R + F + M).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_COLUMNS = {"customer_id", "time", "amount"}


def _check(transactions: pd.DataFrame) -> None:
    missing = _COLUMNS - set(transactions.columns)
    if missing:
        raise ValueError(f"transactions need columns customer_id, time, amount; "
                         f"missing: {', '.join(sorted(missing))}")


def rfm_summary(transactions: pd.DataFrame, observation_end: float) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary_value (index: customer_id)."""
    _check(transactions)
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


def quantile_scores(values, bins: int = 5, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..``bins`` by quantile of ``values`` (``bins`` for the best customers).

    Customers are ranked (ties share the lower rank's score, so equal values get equal scores)
    and the ranks cut into ``bins`` groups of (nearly) equal size: score = 1 + ⌊bins · (rank − 1)
    / n⌋ with rank 1 the worst.

    >>> quantile_scores([10, 40, 20, 30, 50], bins=5).tolist()
    [1, 4, 2, 3, 5]
    >>> quantile_scores([3.0, 1.0, 2.0, 5.0], bins=2, higher_is_better=False).tolist()
    [1, 2, 2, 1]
    """
    x = np.asarray(values, dtype=float)
    if not higher_is_better:
        x = -x
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    ranks = pd.Series(x).rank(method="min").to_numpy()  # 1 = worst
    return (1 + np.floor(bins * (ranks - 1) / n)).astype(int)


def rfm_scores(transactions: pd.DataFrame, observation_end: float, bins: int = 5) -> pd.DataFrame:
    """R, F and M with their quantile scores, the RFM cell and total (index: customer_id).

    * ``recency`` = ``observation_end`` − last purchase (smaller is better),
    * ``frequency`` = number of purchases (the first included),
    * ``monetary`` = total amount spent;

    ``r_score``, ``f_score``, ``m_score`` are :func:`quantile_scores` (``bins`` = best),
    ``rfm_cell`` the three digits and ``rfm_score`` their sum.
    """
    _check(transactions)
    grouped = transactions.groupby("customer_id", sort=True)
    table = pd.DataFrame({
        "recency": observation_end - grouped["time"].max(),
        "frequency": grouped["time"].size().astype(int),
        "monetary": grouped["amount"].sum(),
    })
    table["r_score"] = quantile_scores(table["recency"], bins, higher_is_better=False)
    table["f_score"] = quantile_scores(table["frequency"], bins)
    table["m_score"] = quantile_scores(table["monetary"], bins)
    table["rfm_cell"] = (table["r_score"].astype(str) + table["f_score"].astype(str)
                         + table["m_score"].astype(str))
    table["rfm_score"] = table[["r_score", "f_score", "m_score"]].sum(axis=1)
    return table
