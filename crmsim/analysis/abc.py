"""ABC (Pareto) classification of customers by value (客户 ABC 分类 / 二八法则).

Sort customers by value, largest first, and accumulate their share of the total. Class A are the
customers who together make the first ``cuts[0]`` (80%) of value — the "vital few" of Pareto's
rule; class B the next share up to ``cuts[1]`` (95%); class C the "trivial many" making the rest.
A customer belongs to the class in which its cumulative share *starts* (the customer that
crosses 80% is still A), so A is never empty when there is value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ABC_CLASSES = ("A", "B", "C")


def abc_classes(values, cuts: tuple[float, float] = (0.8, 0.95)) -> np.ndarray:
    """Class "A", "B" or "C" of each value (same order as ``values``).

    The share accumulated *before* a customer decides its class: < cuts[0] → A, < cuts[1] → B,
    else C. Negative values count as 0; with no value at all everyone is C.

    >>> abc_classes([50, 5, 30, 10, 5]).tolist()  # shares before: 0, .90, .50, .80, .95
    ['A', 'B', 'A', 'B', 'C']
    """
    low, high = cuts
    if not 0 < low <= high <= 1:
        raise ValueError(f"cuts = {cuts}: need 0 < cuts[0] <= cuts[1] <= 1")
    x = np.clip(np.asarray(values, dtype=float), 0.0, None)
    total = x.sum()
    out = np.full(len(x), "C", dtype=object)
    if total <= 0:
        return out
    order = np.argsort(-x, kind="stable")
    before = (np.cumsum(x[order]) - x[order]) / total
    ranked = np.where(before < low, "A", np.where(before < high, "B", "C"))
    out[order] = ranked
    return out


def abc_table(values: pd.Series, cuts: tuple[float, float] = (0.8, 0.95)) -> pd.DataFrame:
    """Per class: customers, their share of customers, value and share of value (a Pareto table).

    >>> table = abc_table(pd.Series([50, 5, 30, 10, 5]))
    >>> table["customers"].tolist(), table["value_share"].round(2).tolist()
    ([2, 2, 1], [0.8, 0.15, 0.05])
    """
    classes = abc_classes(values.to_numpy(), cuts)
    frame = pd.DataFrame({"class": pd.Categorical(classes, categories=ABC_CLASSES),
                          "value": values.to_numpy(dtype=float)})
    table = frame.groupby("class", observed=False)["value"].agg(customers="size", value="sum")
    table["customer_share"] = table["customers"] / max(len(frame), 1)
    table["value_share"] = table["value"] / table["value"].sum() if table["value"].sum() else 0.0
    return table[["customers", "customer_share", "value", "value_share"]]
