"""What the dashboard's worker processes do: run a scenario (or compare it with its baseline)
and hand back plain tables and finished PNG plots.

These functions run in the server's process pool (:mod:`crmsim.dashboard.pool`), never in the
web server, so a long simulation — and the matplotlib drawing after it — never holds up
another student's page. Everything they return pickles (tables, dicts, bytes): a
:class:`~crmsim.results.RunResult` itself builds its tables lazily and stays in the worker.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # files only: workers have no display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from crmsim import plots  # noqa: E402
from crmsim.experiment import compare  # noqa: E402
from crmsim.results import KPI_DESCRIPTIONS  # noqa: E402
from crmsim.scenario import Scenario  # noqa: E402
from crmsim.simulation import simulate  # noqa: E402

#: the KPIs a comparison shows first (others follow when they are not zero everywhere)
HEADLINE_KPIS = ("npv_profit", "profit", "revenue", "costs", "churned", "active_end",
                 "mean_satisfaction")


def expected_customers(scenario: Scenario) -> int:
    """Customers one run will simulate, roughly: those at the start plus the expected paid
    acquisitions, or the whole market when word of mouth can reach it."""
    acquisition = scenario.acquisition
    paid = acquisition.paid_rate * scenario.horizon
    total = scenario.customers.initial + paid
    if acquisition.market_size is not None:
        if acquisition.innovation or acquisition.imitation:
            total = acquisition.market_size
        total = min(total, acquisition.market_size)
    return int(math.ceil(total))


def size_problem(scenario: Scenario, runs: int, limit: int) -> str | None:
    """The refusal message when ``runs`` runs of ``scenario`` exceed the server's limit."""
    size = expected_customers(scenario) * runs
    if size <= limit:
        return None
    return (f"too large for this classroom server: {runs} run(s) × about "
            f"{expected_customers(scenario):,} customers = {size:,} customers, the limit is "
            f"{limit:,}; lower customers.initial, horizon, acquisition.rate or the replications")


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (what ``crmsim scenarios show`` prints)."""
    return yaml.safe_dump(scenario.to_dict(), sort_keys=False, allow_unicode=True)


def _png(draw, figsize=(6.4, 3.9)) -> bytes:
    fig = plt.figure(figsize=figsize)
    try:
        draw(fig.add_subplot())
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()
    finally:
        plt.close(fig)


@dataclass
class RunView:
    """One run, ready to show: KPIs, tables and plots (PNG bytes by name)."""

    scenario: Scenario
    seed: int
    kpis: dict[str, float]
    timeseries: pd.DataFrame
    customers: pd.DataFrame
    images: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    worker: int = 0  # the process that simulated (never the web server's)

    def kpi_table(self) -> pd.DataFrame:
        """KPI, value and meaning, without those that are zero or undefined in this run."""
        rows = [(k, v, KPI_DESCRIPTIONS.get(k, "")) for k, v in self.kpis.items()
                if v == v and v != 0]
        return pd.DataFrame(rows, columns=["kpi", "value", "meaning"])


def run_job(scenario: Scenario, seed: int) -> RunView:
    """Simulate once and draw the standard plots (runs in a worker process)."""
    start = time.perf_counter()
    result = simulate(scenario, seed)
    drawings = {"lifecycle": plots.lifecycle_area, "money": plots.money_over_time,
                "survival": plots.survival_curve, "loyalty": plots.churn_by_loyalty}
    if "desk_contacts" in result.timeseries and scenario.service.agents > 0:
        drawings["desk"] = plots.desk_over_time
    images = {name: _png(lambda ax, draw=draw: draw(result, ax=ax))
              for name, draw in drawings.items()}
    return RunView(scenario, seed, dict(result.kpis), result.timeseries, result.customers,
                   images, time.perf_counter() - start, os.getpid())


@dataclass
class ComparisonView:
    """Your policy against the baseline under common random numbers."""

    replications: int
    seed: int
    side_by_side: pd.DataFrame  # kpi × (baseline, your policy): 'mean [low, high]'
    differences: pd.DataFrame  # kpi, mean, low, high, relative (your policy − baseline)
    kpis: pd.DataFrame  # tidy: scenario, replication, seed, kpi, value
    image: bytes
    seconds: float = 0.0
    worker: int = 0


BASELINE, VARIANT = "baseline", "your policy"


def compare_job(baseline: Scenario, variant: Scenario, replications: int,
                seed: int) -> ComparisonView:
    """Both scenarios ``replications`` times with common random numbers (in a worker)."""
    start = time.perf_counter()
    comparison = compare({BASELINE: baseline, VARIANT: variant}, replications=replications,
                         seed=seed, executor="serial", progress=False)
    differences = comparison.differences.xs(VARIANT, level="scenario")
    informative = [k for k in differences.index
                   if (comparison.kpis.loc[comparison.kpis["kpi"] == k, "value"]
                       .fillna(0) != 0).any()]
    order = [k for k in HEADLINE_KPIS if k in informative] + \
        [k for k in informative if k not in HEADLINE_KPIS]
    differences = differences.loc[order, ["mean", "low", "high", "relative"]]
    # satisfaction sits near 0 by construction: as a share of its mean it would dwarf the rest
    shown = [k for k in HEADLINE_KPIS if k in differences.index and k != "mean_satisfaction"]
    image = _png(lambda ax: plots.difference_intervals(comparison, shown, VARIANT, ax=ax),
                 figsize=(7.5, 3.9))
    return ComparisonView(replications, seed, comparison.side_by_side(order), differences,
                          comparison.kpis, image, time.perf_counter() - start, os.getpid())


def end_with_server() -> None:
    """Worker initializer: end this worker when the web server is gone.

    Pool workers otherwise wait for work forever when their server is killed (SIGTERM skips
    the pool's orderly shutdown), and they keep the fork server alive too. The wait is on the
    pipe multiprocessing keeps to the parent process, so no polling is involved.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="crmsim-end-with-server").start()


def warm_up() -> int:
    """Nothing; submitted once so that the worker processes start before the first student."""
    return 0
