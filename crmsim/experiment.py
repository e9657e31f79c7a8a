"""Experiments: replications with common random numbers, paired intervals, sweeps, executors.

Replication k of *every* scenario runs with the same child seed,
``SeedSequence(seed).spawn(replications)[k]`` (common random numbers, CRN). Because every
customer draws from its own streams (:mod:`crmsim.streams`), the customers a policy does not
touch see exactly the same draws under both scenarios, so the paired difference of a KPI has
much less noise than the difference of two independent runs.

* :func:`compare` — several scenarios × replications → :class:`Comparison` with ``kpis`` (tidy,
  one row per scenario, replication and KPI), ``table`` (mean, sd and 95% t-interval) and
  ``differences`` (paired differences against the first scenario, with intervals).
* :func:`sweep` — one scenario over a grid of dotted keys → a tidy DataFrame.

Executors: ``"serial"``, ``"processes"`` (a process pool of ``jobs`` workers for one call), an
executor kept across calls (``with crmsim.executor(jobs=2) as ex: ...``) or a
``dask.distributed.Client`` (:mod:`crmsim.executors`: a dead worker or an interrupt loses
nothing that finished; a scenario travels to the workers once, a replication as its seed).
Each run is a pure function of (scenario, child seed), so every executor gives identical
numbers.

A replication that raises is a *failure* — scenario, replication, seed, the error and the line
of crmsim's code it came from — and the other replications are kept, also when every
replication of one scenario fails.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmsim import executors
from crmsim.analysis.stats import mean_ci
from crmsim.errors import Interrupted, ScenarioError, crmsim_line
from crmsim.results import KPI_DESCRIPTIONS
from crmsim.scenario import Scenario
from crmsim.simulation import simulate, table_names


@dataclass(frozen=True)
class Task:
    """One run: a scenario label, a replication index and everything needed to redo it."""

    label: str
    replication: int
    scenario: Scenario
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)
    #: the tables to bring back besides the KPIs (names of :attr:`RunResult.table_names`, or
    #: ``("*",)`` for all); none by default: a worker returns only the KPIs
    tables: tuple[str, ...] = ()


def run_task(task: Task) -> dict[str, Any]:
    """Run one task; return its KPIs (and the tables it asks for), or the error and the
    crmsim line it came from (never raises an ``Exception``)."""
    child = np.random.SeedSequence(task.seed, spawn_key=(task.replication,))
    try:
        result = simulate(task.scenario, child)
        if not task.tables:
            return {"ok": True, "kpis": result.kpis}
        names = result.table_names if task.tables == ("*",) else task.tables
        message = _no_such_table(names, result.table_names, "in this run")
        if message:  # the caller's mistake (which tables a run has depends on its policies)
            return {"ok": False, "error": f"ScenarioError: {message}", "where": None,
                    "caller_error": message}
        return {"ok": True, "kpis": result.kpis,
                "tables": {name: result.table(name) for name in names}}
    except Exception as err:  # noqa: BLE001 — a failed replication is reported, not fatal
        summary = "".join(traceback.format_exception_only(type(err), err)).strip()
        return {"ok": False, "error": " ".join(summary.split()), "where": crmsim_line(err)}


def execute(tasks: list[Task], executor="serial", jobs: int | None = None,
            progress: bool = True, run: Callable[[Task], dict] = run_task) -> list[dict]:
    """Run tasks on an executor (see :mod:`crmsim.executors`); results come back in task order.

    ``run`` is what runs one task (:func:`run_task`); for a process pool it must be a
    module-level function.
    """
    return executors.run_all(tasks, run, executor, jobs, progress)


def _no_such_table(asked: tuple[str, ...], names, where: str) -> str | None:
    """The error for table names ``asked`` for that are not among ``names`` (None: all are)."""
    unknown = [name for name in asked if name not in names]
    if not unknown:
        return None
    return (f"tables = {list(asked)!r}: no table {unknown[0]!r} {where}; "
            f"tables: {', '.join(names)}")


def _tables_asked(tables) -> tuple[str, ...]:
    """``tables=`` of compare(): False/None (KPIs only), True (every table) or names."""
    if tables is None or tables is False:
        return ()
    if tables is True:
        return ("*",)
    if isinstance(tables, str):
        tables = [tables]
    if not isinstance(tables, (list, tuple)) or not all(isinstance(t, str) for t in tables):
        raise ScenarioError(f"tables = {tables!r}: True (every table), False, or a list of "
                            "table names such as ['events', 'customers']")
    return tuple(tables)


def _collect(tasks: list[Task], outcomes: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, failures = [], []
    for task, outcome in zip(tasks, outcomes):
        base = {"scenario": task.label, "replication": task.replication, "seed": task.seed,
                **task.extra}
        if outcome["ok"]:
            rows.extend({**base, "kpi": k, "value": float(v)} for k, v in outcome["kpis"].items())
        else:
            failures.append({**base, "error": outcome["error"], "where": outcome.get("where")})
    keys = ["scenario", "replication", "seed", *(tasks[0].extra if tasks else {})]
    kpis = pd.DataFrame(rows, columns=[*keys, "kpi", "value"])
    failed = pd.DataFrame(failures, columns=[*keys, "error", "where"])
    return kpis, failed


def summarize(kpis: pd.DataFrame, by: list[str], level: float = 0.95) -> pd.DataFrame:
    """Mean, sd, n and the t-interval of ``value`` per group of ``by`` columns (and KPI)."""
    rows = []
    for key, group in kpis.groupby([*by, "kpi"], sort=False, observed=True):
        values = group["value"].to_numpy()
        mean, low, high = mean_ci(values, level)
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
        rows.append((*key, mean, sd, len(values), low, high))
    return pd.DataFrame(rows, columns=[*by, "kpi", "mean", "sd", "n", "low", "high"])


@dataclass
class Comparison:
    """Results of :func:`compare`.

    ``failures`` lists the replications that raised (scenario, replication, seed, error and
    the crmsim line ``where``); every table is computed from the replications that finished.
    With a precision target, ``target_met`` says whether it was reached.
    """

    kpis: pd.DataFrame  # tidy: scenario, replication, seed, kpi, value
    failures: pd.DataFrame  # scenario, replication, seed, error, where
    scenarios: dict[str, Scenario]
    seed: int
    replications: int
    target_halfwidth: float | None = None
    target_met: bool | None = None
    #: the tables asked for with ``tables=``: {(scenario, replication): {name: DataFrame}}
    tables: dict[tuple[str, int], dict[str, pd.DataFrame]] = field(default_factory=dict)

    def relative_halfwidth(self, kpis: tuple[str, ...]) -> float:
        """The widest 95% interval of these KPIs over the scenarios, as half-width / |mean|
        (inf when a scenario has no finished replication or a mean is 0)."""
        table = self.table.reset_index()
        rows = table[table["kpi"].isin(kpis)]
        if set(rows["scenario"]) != set(self.scenarios) or rows.empty:
            return np.inf
        half = (rows["high"] - rows["low"]).to_numpy() / 2
        mean = rows["mean"].abs().to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(half == 0, 0.0, half / mean)
        return float(np.nanmax(np.where(np.isnan(ratio), np.inf, ratio)))

    def precise(self, relative_halfwidth: float, kpis: tuple[str, ...]) -> bool:
        """Is every scenario's 95% interval of these KPIs within ± relative_halfwidth · |mean|?"""
        _check_kpis(kpis, "target_kpis")
        return self.relative_halfwidth(kpis) <= relative_halfwidth

    def per_replication(self, kpi: str) -> pd.DataFrame:
        """One KPI's value by replication (index) and scenario (columns): replication k of
        every scenario ran with the same seed, so rows pair up."""
        rows = self.kpis[self.kpis["kpi"] == kpi]
        return rows.pivot(index="replication", columns="scenario", values="value")

    @property
    def table(self) -> pd.DataFrame:
        """KPI mean, sd and 95% t-interval per scenario (index: scenario, kpi)."""
        return summarize(self.kpis, ["scenario"]).set_index(["scenario", "kpi"])

    @property
    def differences(self) -> pd.DataFrame:
        """Paired differences (scenario − first scenario) per KPI, with 95% t-intervals.

        Replication k of both scenarios shares its seed, so the difference is taken
        replication by replication (common random numbers); a replication that failed in
        either scenario is left out of the pair.
        """
        labels = list(self.scenarios)
        reference = labels[0]
        rows = []
        wide = self._wide()
        for label in labels[1:]:
            if label not in wide or reference not in wide:
                continue
            diff = (wide[label] - wide[reference]).dropna().rename("value").reset_index()
            diff["scenario"] = label
            rows.append(diff)
        empty = pd.DataFrame(columns=["scenario", "kpi", "mean", "sd", "n", "low", "high",
                                      "relative"]).set_index(["scenario", "kpi"])
        if not rows:
            return empty
        table = summarize(pd.concat(rows), ["scenario"]).set_index(["scenario", "kpi"])
        if table.empty:
            return empty
        base = self.table["mean"].xs(reference, level="scenario")
        table["relative"] = table["mean"] / base.reindex(table.index.get_level_values("kpi")
                                                         ).to_numpy()
        return table

    def _wide(self) -> pd.DataFrame:
        """value by (replication, kpi) × scenario, for the paired figures."""
        if self.kpis.empty:
            return pd.DataFrame()
        return self.kpis.pivot_table(index=["replication", "kpi"], columns="scenario",
                                     values="value", observed=True, dropna=False)

    def variance_reduction(self) -> pd.DataFrame:
        """What common random numbers bought, per scenario (against the first) and KPI.

        Under CRN the paired difference has variance Var(A − B) = Var(A) + Var(B) − 2 Cov(A, B);
        with independent seeds it would be Var(A) + Var(B). ``reduction`` is
        1 − Var(A − B) / (Var(A) + Var(B)): 0.9 means the same precision with ten times fewer
        replications.
        """
        wide = self._wide()
        labels = list(self.scenarios)
        rows = []
        for label in labels[1:]:
            if label not in wide or labels[0] not in wide:
                continue
            for kpi, group in wide.groupby(level="kpi"):
                pair = group[[labels[0], label]].dropna()
                a, b = pair[labels[0]].to_numpy(), pair[label].to_numpy()
                if len(a) < 2:
                    continue
                independent = np.var(a, ddof=1) + np.var(b, ddof=1)
                paired = np.var(b - a, ddof=1)
                reduction = 1 - paired / independent if independent > 0 else np.nan
                rows.append((label, kpi, paired, independent, reduction))
        return pd.DataFrame(rows, columns=["scenario", "kpi", "paired_variance",
                                           "independent_variance", "reduction"]
                            ).set_index(["scenario", "kpi"])

    def side_by_side(self, kpis: list[str] | None = None) -> pd.DataFrame:
        """A printable table: one column per scenario, 'mean [low, high]' per KPI; a scenario
        whose every replication failed says so, and a last row counts failed replications."""
        table = self.table.reset_index()
        if kpis is not None:
            table = table[table["kpi"].isin(kpis)]
        table["cell"] = [interval_text(m, lo, hi) for m, lo, hi in
                         zip(table["mean"], table["low"], table["high"])]
        order = [k for k in dict.fromkeys(self.kpis["kpi"]) if k in set(table["kpi"])]
        out = (table.pivot(index="kpi", columns="scenario", values="cell") if not table.empty
               else pd.DataFrame())
        out = out.reindex(index=order, columns=list(self.scenarios))
        finished = set(self.kpis["scenario"])
        for label in self.scenarios:
            if label not in finished:
                out[label] = "all failed"
        if not self.failures.empty:
            counts = self.failures.groupby("scenario").size()
            out.loc["failed replications"] = [f"{counts.get(label, 0)} of {self.replications}"
                                              for label in self.scenarios]
        out.columns.name = "scenario"
        return out


def interval_text(mean: float, low: float, high: float, sign: bool = False) -> str:
    """'12,345 [12,001, 12,689]' with readable numbers (see :func:`format_number`)."""
    text = format_number(mean, sign)
    if np.isnan(low):
        return text
    return f"{text} [{format_number(low, sign)}, {format_number(high, sign)}]"


def format_number(value: float, sign: bool = False) -> str:
    """12,345 for large values, 4 significant digits otherwise; NaN as 'nan'."""
    if value != value:
        return "nan"
    plus = "+" if sign else ""
    return f"{value:{plus},.0f}" if abs(value) >= 1000 else f"{value:{plus}.4g}"


def _check_replications(replications: int) -> None:
    if (not isinstance(replications, (int, np.integer)) or isinstance(replications, bool)
            or replications < 1):
        raise ScenarioError(f"replications = {replications!r}: must be an integer >= 1")


def _check_kpis(kpis, what: str) -> None:
    unknown = [k for k in kpis if k not in KPI_DESCRIPTIONS]
    if unknown or not kpis:
        raise ScenarioError(f"{what} = {list(kpis)!r}: no such KPI; available: "
                            f"{', '.join(KPI_DESCRIPTIONS)}")


def compare(scenarios: dict[str, Scenario] | list[Scenario], replications: int = 10,
            seed: int = 0, executor="serial", jobs: int | None = None,
            progress: bool = True, target_halfwidth: float | None = None,
            max_replications: int | None = None,
            target_kpis: tuple[str, ...] = ("profit",), tables=False) -> Comparison:
    """Run every scenario ``replications`` times with common random numbers.

    ``scenarios`` is a dict label → Scenario (or a list, labelled by scenario names). The first
    scenario is the reference for :attr:`Comparison.differences`.

    Sequential replications: with ``target_halfwidth`` (relative, e.g. 0.01 for ±1% of the
    mean), batches of further replications are run until the 95% interval of every
    ``target_kpis`` in every scenario is that narrow, or ``max_replications`` is reached
    (default 100 × ``replications``); ``Comparison.target_met`` says which.

    ``executor``: ``"serial"``, ``"processes"`` (a pool of ``jobs`` workers for this call),
    an executor kept across calls (``with crmsim.executor(jobs=2) as ex: compare(...,
    executor=ex)``) or a ``dask.distributed.Client``. Workers send back the KPIs only;
    ``tables=True`` (or a list of names, e.g. ``["events", "customers"]``) also brings back
    those tables of every replication, in :attr:`Comparison.tables`.
    """
    _check_replications(replications)
    asked = _tables_asked(tables)
    given = list(scenarios.items() if isinstance(scenarios, dict) else enumerate(scenarios))
    for label, sc in given:
        if not isinstance(sc, Scenario):
            raise TypeError(f"compare() needs Scenarios (crmsim.load_scenario(...)); scenario "
                            f"{label!r} is a {type(sc).__name__}")
    if not isinstance(scenarios, dict):
        scenarios = {sc.name: sc for _, sc in given}
    if not scenarios:
        raise ScenarioError("compare() needs at least one scenario")
    if target_halfwidth is not None and not (0 < target_halfwidth < np.inf):
        raise ScenarioError(f"target_halfwidth = {target_halfwidth!r}: must be > 0 (relative, "
                            "e.g. 0.01 for ±1%)")
    if max_replications is not None:
        if target_halfwidth is None:
            raise ScenarioError(f"max_replications = {max_replications!r}: only with "
                                "target_halfwidth (the limit of the sequential replications)")
        _check_replications(max_replications)
    if target_halfwidth is not None:
        _check_kpis(target_kpis, "target_kpis")
    limit = max_replications or (replications if target_halfwidth is None else 100 * replications)
    if limit < replications:
        raise ScenarioError(f"max_replications = {limit}: must be >= replications "
                            f"({replications})")
    if asked and asked != ("*",):  # a wrong table name is refused before anything runs
        for label, sc in scenarios.items():
            message = _no_such_table(asked, table_names(sc), f"in scenario {label!r}")
            if message:
                raise ScenarioError(message)
    with executors.using(executor, jobs) as place:  # one pool for every batch
        return _replicate(scenarios, replications, seed, place, progress, target_halfwidth,
                          limit, target_kpis, asked)


def _replicate(scenarios, replications, seed, place, progress, target_halfwidth, limit,
               target_kpis, asked) -> Comparison:
    tasks: list[Task] = []
    outcomes: list[dict] = []
    done = 0
    batch = replications
    while True:
        new = [Task(label, k, sc, seed, tables=asked) for label, sc in scenarios.items()
               for k in range(done, done + batch)]
        try:
            outcomes += execute(new, place, None, progress)
        except Interrupted as stop:
            if stop.finished is not None:
                stop.finished += len(outcomes)
                stop.total = (stop.total or 0) + len(outcomes)
            raise
        tasks += new
        done += batch
        kpis, failures = _collect(tasks, outcomes)
        _raise_caller_errors(outcomes)
        result = Comparison(kpis, failures, dict(scenarios), seed, done, target_halfwidth,
                            tables={(t.label, t.replication): o["tables"]
                                    for t, o in zip(tasks, outcomes) if "tables" in o})
        if target_halfwidth is None:
            return result
        result.target_met = result.precise(target_halfwidth, target_kpis)
        hopeless = set(kpis["scenario"]) != set(scenarios)  # a scenario that always fails
        if result.target_met or done >= limit or hopeless:
            return result
        batch = min(done, limit - done)  # double, up to the limit


def _raise_caller_errors(outcomes: list[dict]) -> None:
    """A table name that no run has is the caller's mistake, not a failed replication."""
    for outcome in outcomes:
        if "caller_error" in outcome:
            raise ScenarioError(outcome["caller_error"])


def sweep(scenario: Scenario, grid: dict[str, list], replications: int = 10, seed: int = 0,
          executor="serial", jobs: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Run ``scenario`` over every combination of the ``grid`` of dotted keys.

    Returns a tidy DataFrame: one column per swept key, then replication, seed, kpi, value.
    Every grid point uses the same replication seeds (CRN across the sweep). Failed runs are
    listed in ``result.attrs["failures"]`` (records with the grid point as ``scenario``, the
    swept values, replication, seed, the error and the crmsim line ``where``).
    """
    _check_replications(replications)
    if not grid:
        raise ScenarioError("sweep() needs at least one key to vary, e.g. {'service.agents': [3, 4]}")
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ScenarioError(f"grid {key} = {values!r}: a list of at least one value")
    keys = list(grid)
    tasks = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values))
        variant = scenario.with_overrides(point, source="grid")
        label = ", ".join(f"{k}={v}" for k, v in point.items())
        tasks.extend(Task(label, k, variant, seed, point) for k in range(replications))
    with executors.using(executor, jobs) as place:
        kpis, failures = _collect(tasks, execute(tasks, place, None, progress))
    kpis = kpis.drop(columns="scenario")
    kpis.attrs["failures"] = failures.to_dict("records")
    return kpis
