"""The ``crmsim`` command: the same operations as the Python API.

    crmsim run SCENARIO [--seed N] [--set key=value]... [--out DIR] [--db FILE [--overwrite]]
    crmsim compare SCENARIO... [--replications N] [--jobs N] [--out DIR]
    crmsim sweep SCENARIO --param key=v1,v2,... [--param ...] [--replications N]
    crmsim rerun DIR/manifest.json
    crmsim validate [--only NAME] [--seed N] [--set key=value]...
    crmsim calibrate LOG.csv --calibration-end DATE [--holdout-end DATE] [--time-unit week]
                     [--columns id,date,amount] [--duplicates keep|drop|error] --out DIR [--force]
    crmsim scenarios [list [--folder DIR] | show FILE | schema]
    crmsim tournament CLASS.yaml SUBMISSIONS/ [--out DIR] | --example DIR
    crmsim dashboard [--port N] [--workers N] [--league DIR]

Exit codes: 0 done; 1 a replication failed, a rerun differs, a validation check failed, or an
internal error (a bug: one line, the traceback saved to a file to attach to a report); 2 bad
input — a scenario, a ``--set``, an option, ``--out``, a manifest — with one line naming the key,
the value and what is allowed, never a traceback; 130 / 143 interrupted by Ctrl-C (SIGINT) /
SIGTERM, with one line saying what had finished. :func:`main` is the one place that maps errors
to these codes.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path

import pandas as pd
import yaml

from crmsim import limits, manifest
from crmsim.errors import (
    RECEIVED_SIGNALS,
    Interrupted,
    ScenarioError,
    WorkerLost,
    crmsim_line,
    raise_if_interrupted,
    signal_name,
)
from crmsim.executors import Executor, check_address, connect
from crmsim.experiment import format_number, interval_text
from crmsim.outputs import OutputFolder
from crmsim.results import KPI_DESCRIPTIONS
from crmsim.scenario import (
    SCENARIO_DIR,
    Scenario,
    _short,
    list_scenarios,
    load_scenario,
    parse_assignment,
    parse_yaml,
)

OK, FAILED, USAGE_ERROR = 0, 1, 2


def _assignments(sets: list[str]) -> dict:
    """The ``--set`` options as dotted key → value; a key given twice is an error (the
    first value would be dropped without a word)."""
    overrides: dict = {}
    for text in sets:
        key, value = parse_assignment(text)
        if key in overrides:
            raise ScenarioError(f"--set {key} is given twice ({_short(overrides[key])} and "
                                f"{_short(value)}); give it once")
        overrides[key] = value
    return overrides


def _scenario_with_sets(path: str, sets: list[str]) -> Scenario:
    scenario = load_scenario(path)
    if sets:
        scenario = scenario.with_overrides(_assignments(sets), source="--set")
    return scenario


def _check_resources(scenarios, workers: int) -> None:
    """Refuse, before anything runs, a scenario that would not fit in memory (``workers``
    runs at once) or has too many reporting periods (see :mod:`crmsim.limits`)."""
    for scenario in scenarios:
        limits.check(scenario, workers)


def _informative(kpis: pd.DataFrame) -> list[str]:
    """KPIs that are not zero or undefined in every row (a tidy kpi/value table)."""
    if kpis.empty:
        return []
    shown = kpis.groupby("kpi", sort=False)["value"].apply(
        lambda v: bool(((v != 0) & v.notna()).any()))
    return [k for k, keep in shown.items() if keep]


def _hidden_note(total: int, shown: int) -> None:
    if shown == 0 and total:
        print(f"(all {total} KPIs are zero or undefined everywhere: nothing happened in this "
              "market; --out writes all)")
    elif shown < total:
        print(f"({total - shown} KPIs not shown: zero or undefined everywhere; --out writes all)")


def _print_table(frame: pd.DataFrame, file=None) -> None:
    with pd.option_context("display.max_rows", 200, "display.max_columns", 20,
                           "display.width", 140, "display.float_format", format_number):
        print(frame.to_string(), file=file)


def _jobs(args) -> int:
    return args.jobs or 1


def _executor(args) -> Executor:
    """The executor of a command: a pool of --jobs worker processes (kept for the whole
    command: sequential batches, several grid points), this process for --jobs 1, or the
    dask cluster at --scheduler (connected first, closed at the end)."""
    address = getattr(args, "scheduler", None)
    if address is not None:
        return Executor("dask", client=connect(address, key="--scheduler"), own_client=True)
    return Executor("processes" if _jobs(args) > 1 else "serial", jobs=_jobs(args))


def _failures_report(failures: pd.DataFrame, attempted: int) -> None:
    """The failed replications as a table on stdout, and one line on stderr."""
    if failures.empty:
        return
    print(f"\n{len(failures)} replication(s) failed:")
    _print_table(failures.reset_index(drop=True))
    print(f"crmsim: {len(failures)} of {attempted} replications failed (listed above; --out "
          "writes them to failures.csv); the summaries use the others", file=sys.stderr)


def cmd_run(args) -> int:
    from crmsim.simulation import simulate

    scenario = _scenario_with_sets(args.scenario, args.set)
    _check_resources([scenario], 1)
    out = OutputFolder(args.out, args.force) if args.out else None
    if args.overwrite and args.db is None:
        raise ScenarioError("--overwrite replaces an existing --db FILE; give --db FILE too, "
                            "or leave --overwrite out")
    if args.db is not None:  # a bad --db path (even '') fails before the run, not after it
        from crmsim.database import check_database_path

        check_database_path(args.db, args.overwrite, key="--db")
    result = simulate(scenario, seed=args.seed)
    print(f"{scenario.name} — seed {args.seed}, horizon {scenario.horizon:g} {scenario.time_unit}")
    table = result.kpi_table()
    shown = _informative(pd.DataFrame({"kpi": table.index, "value": table["value"].astype(float)}))
    if shown:
        _print_table(table.loc[shown])
    _hidden_note(len(table), len(shown))
    if out is not None:
        from crmsim.plots import save_run_plots

        with out.writing():
            for name in ("events", "customers", "timeseries"):
                out.write_frame(getattr(result, name), name)
            out.write_frame(pd.DataFrame([result.kpis]), "kpis")
            out.write_text("scenario.yaml", yaml.safe_dump(scenario.to_dict(), sort_keys=False,
                                                           allow_unicode=True))
            out.adopt(save_run_plots(result, out.path))
            out.finish(manifest.build("run", {scenario.name: scenario}, args.seed))
        print(f"tables and plots written to {out.path}/")
    if args.db is not None:
        result.to_duckdb(args.db, overwrite=args.overwrite)
        print(f"customer database written to {args.db} (query: crmsim.sql(path, \"SELECT ...\"))")
    return OK


def cmd_compare(args) -> int:
    from crmsim.experiment import compare

    if args.max_replications is not None and args.target_halfwidth is None:
        raise ScenarioError(f"--max-replications {args.max_replications}: only with "
                            "--target-halfwidth (it limits the added replications)")
    if args.max_replications is not None and args.max_replications < args.replications:
        raise ScenarioError(f"--max-replications {args.max_replications}: must be >= "
                            f"--replications ({args.replications})")
    scenarios: dict[str, Scenario] = {}
    for path in args.scenarios:
        sc = _scenario_with_sets(path, args.set)
        label, k = sc.name, 1
        while label in scenarios:
            k += 1
            label = f"{sc.name} #{k}"
        scenarios[label] = sc
    _check_resources(scenarios.values(), _jobs(args))
    out = OutputFolder(args.out, args.force) if args.out else None
    with _executor(args) as executor:
        comparison = compare(scenarios, replications=args.replications, seed=args.seed,
                             executor=executor, progress=not args.quiet,
                             target_halfwidth=args.target_halfwidth,
                             max_replications=args.max_replications)
    print(f"{comparison.replications} replications per scenario, seed {args.seed}, "
          "common random numbers; mean [95% interval]")
    shown = _informative(comparison.kpis)
    side_by_side = comparison.side_by_side(shown)
    if not side_by_side.empty:
        _print_table(side_by_side)
    _hidden_note(comparison.kpis["kpi"].nunique(), len(shown))
    differences = comparison.differences
    rows = [k for k in shown if k in set(differences.index.get_level_values("kpi"))]
    if len(scenarios) > 1 and rows:
        print(f"\npaired differences against '{next(iter(scenarios))}' (mean [95% interval]):")
        diff = differences.reset_index()
        diff["difference"] = [interval_text(m, lo, hi, sign=True) for m, lo, hi in
                              zip(diff["mean"], diff["low"], diff["high"])]
        _print_table(diff.pivot(index="kpi", columns="scenario", values="difference").loc[rows])
    _failures_report(comparison.failures, comparison.replications * len(scenarios))
    if args.target_halfwidth is not None and not comparison.target_met:
        widest = comparison.relative_halfwidth(("profit",))
        print(f"crmsim: target not reached: the widest profit interval is ±{widest:.2%} of its "
              f"mean after {comparison.replications} replications (asked: "
              f"±{args.target_halfwidth:.2%}; raise --max-replications)", file=sys.stderr)
    if out is not None:
        from crmsim.plots import save_comparison_plots

        with out.writing():
            out.write_frame(comparison.kpis, "kpis")
            out.write_frame(comparison.table.reset_index(), "summary")
            if len(scenarios) > 1:
                out.write_frame(differences.reset_index(), "differences")
                out.write_frame(comparison.variance_reduction().reset_index(),
                                "variance_reduction")
            if not comparison.failures.empty:
                out.write_frame(comparison.failures, "failures")
            out.adopt(save_comparison_plots(comparison, out.path))
            out.finish(manifest.build(
                "compare", scenarios, args.seed, comparison.replications,
                failed=comparison.failures.to_dict("records"),
                target_halfwidth=args.target_halfwidth, target_met=comparison.target_met))
        print(f"\ntables and plots written to {out.path}/")
    return OK if comparison.failures.empty else FAILED


def _parse_param(text: str) -> tuple[str, list]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise ScenarioError(f"--param {_short(text)}: expected key=v1,v2,... e.g. --param "
                            "churn.base=0.1,0.2")
    values = []
    for item in raw.split(","):
        if not item.strip():
            raise ScenarioError(f"--param {key}={_short(raw)}: an empty value (two commas, or "
                                "one at an end)")
        try:
            value = parse_yaml(item)
        except ScenarioError as err:
            raise ScenarioError(f"--param {key} value {_short(item)}: not a valid value "
                                f"({err.problems[0]})") from None
        if value in values:
            raise ScenarioError(f"--param {key}: the value {_short(value)} is given twice")
        values.append(value)
    return key, values


def _check_kpi_names(names: list[str], option: str) -> None:
    for name in names:
        if name not in KPI_DESCRIPTIONS:
            guess = difflib.get_close_matches(name, list(KPI_DESCRIPTIONS), n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ScenarioError(f"{option} {_short(name)}: no such KPI{hint}; available: "
                                f"{', '.join(KPI_DESCRIPTIONS)}")


def cmd_sweep(args) -> int:
    from crmsim.experiment import summarize, sweep

    scenario = _scenario_with_sets(args.scenario, args.set)
    grid: dict[str, list] = {}
    for text in args.param:
        key, values = _parse_param(text)
        if key in grid:
            raise ScenarioError(f"--param {key} is given twice; give all its values once: "
                                f"--param {key}=v1,v2,...")
        grid[key] = values
    _check_kpi_names(args.kpi or [], "--kpi")
    points = math.prod(len(v) for v in grid.values())
    variants = [scenario.with_overrides({k: v[0] for k, v in grid.items()}, source="--param")]
    if points > 1:  # every value must validate before anything runs
        for key, values in grid.items():
            for value in values[1:]:
                variants.append(scenario.with_overrides(
                    {**{k: v[0] for k, v in grid.items()}, key: value}, source="--param"))
    _check_resources(variants, _jobs(args))
    out = OutputFolder(args.out, args.force) if args.out else None
    with _executor(args) as executor:
        table = sweep(scenario, grid, replications=args.replications, seed=args.seed,
                      executor=executor, progress=not args.quiet)
    failures = pd.DataFrame(table.attrs.get("failures", []))
    summary = summarize(table, list(grid))
    shown = summary[summary["kpi"].isin(args.kpi)] if args.kpi else summary
    if not shown.empty:
        _print_table(shown.set_index([*grid, "kpi"]))
    _failures_report(failures, points * args.replications)
    if out is not None:
        from crmsim.plots import save_sweep_plots

        with out.writing():
            out.write_frame(table, "kpis")
            out.write_frame(summary, "summary")
            if not failures.empty:
                out.write_frame(failures, "failures")
            out.adopt(save_sweep_plots(summary, list(grid), out.path,
                                       args.kpi or ["profit", "churned"]))
            out.finish(manifest.build("sweep", {scenario.name: scenario}, args.seed,
                                      args.replications, grid,
                                      failed=failures.to_dict("records")))
        print(f"\ntables and plots written to {out.path}/")
    return OK if failures.empty else FAILED


def cmd_rerun(args) -> int:
    record = manifest.load(args.manifest)
    folder = Path(args.manifest)
    folder = folder if folder.is_dir() else folder.parent
    problems = manifest.check_files(record, folder)
    if problems:
        for problem in problems:
            print(f"crmsim rerun: {problem}", file=sys.stderr)
        print(f"crmsim: {folder} does not hold exactly the files of one complete run "
              f"({len(problems)} problem(s) above); not re-run", file=sys.stderr)
        return FAILED
    print(f"re-running the {record['kind']} recorded on {record['created']} "
          f"(seed {record['seed']}, crmsim {record['versions'].get('crmsim')})")
    scenarios = manifest.scenarios_of(record)
    _check_resources(scenarios.values(), _jobs(args))
    with _executor(args) as executor:
        repeated, failures = manifest.rerun(record, executor=executor,
                                            progress=not args.quiet)
    changes = manifest.version_changes(record)
    if changes:
        print(f"warning: library versions differ from the record ({'; '.join(changes)}); "
              "a difference below may come from them")
    failure_changes = manifest.failure_changes(record, failures)
    if "kpis.parquet" not in record["files"]:
        print("the record lists no kpis.parquet: nothing to compare")
        return OK
    recorded = pd.read_parquet(folder / "kpis.parquet")
    if record["kind"] == "run":
        recorded = recorded.melt(var_name="kpi", value_name="value")
        recorded.insert(0, "scenario", next(iter(record["scenarios"])))
    differing = manifest.differences(recorded, repeated)
    if differing.empty and not failure_changes:
        failed = f" (and the same {len(record['failed'])} failed)" if record["failed"] else ""
        print(f"identical: all {len(repeated)} KPI values match the recorded ones{failed}")
        return OK
    for line in failure_changes:
        print(f"differs: {line}")
    if not differing.empty:
        print(f"{len(differing)} KPI values differ from the recorded ones:")
        _print_table(differing.head(30))
    return FAILED


def cmd_validate(args) -> int:
    from crmsim.validation import run_validation

    overrides = _assignments(args.set) if args.set else None
    table = run_validation(args.only or None, seed=args.seed, overrides=overrides)
    _print_table(table.set_index(["reduction", "quantity"]))
    passed = int(table["passed"].sum())
    print(f"\n{passed} passed, {len(table) - passed} failed")
    return OK if passed == len(table) else FAILED


def cmd_scenarios(args) -> int:
    if args.action != "show" and args.file:
        raise ScenarioError(f"scenarios {args.action} takes no FILE (got {_short(args.file)}); "
                            "did you mean 'crmsim scenarios show FILE'?")
    if args.action != "list" and args.folder:
        raise ScenarioError(f"--folder is for 'scenarios list', not 'scenarios {args.action}'")
    if args.action == "schema":
        print(json.dumps(Scenario.model_json_schema(), indent=2, ensure_ascii=False))
        return OK
    if args.action == "show":
        if not args.file:
            raise ScenarioError("scenarios show needs a FILE, e.g. crmsim scenarios show "
                                "retail_baseline")
        scenario = load_scenario(args.file)
        print(yaml.safe_dump(scenario.to_dict(), sort_keys=False, allow_unicode=True), end="")
        return OK
    folder = Path(args.folder) if args.folder else SCENARIO_DIR
    rows = list_scenarios(folder)
    width = max((len(name) for name, _ in rows), default=10)
    print(f"scenarios in {folder}:")
    for name, description in rows:
        print(f"  {name:<{width}}  {description}")
    if not rows:
        print("  (no .yaml files)")
    return OK


# --------------------------------------------------------------------------- options


def _json_ready(value):
    """Plain JSON data from numbers, numpy scalars, dicts and lists (NaN → null)."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


#: the largest standard error of a fitted parameter relative to its estimate that crmsim
#: accepts before calling the fit degenerate (the data do not pin the parameter down)
_MAX_RELATIVE_SE = 1e3


def _check_fit(calibration, log: str) -> None:
    """Refuse a fit the data do not support: an optimiser that did not converge, a Hessian
    that is not invertible (standard errors NaN), a non-finite estimate."""
    for model, info in calibration.diagnostics.items():
        names = [k for k in calibration.fit.index if calibration.fit.loc[k, "model"] == model]
        estimates = {k: calibration.params[k] for k in names}
        shown = ", ".join(f"{k} {v:.3g}" for k, v in estimates.items())
        why = None
        if not all(math.isfinite(v) and v > 0 for v in estimates.values()):
            why = "a parameter is not a finite positive number"
        elif not info.get("hessian_ok", True):
            why = ("the Hessian at the optimum is not invertible (no standard errors: the "
                   "data do not pin the parameters down)")
        elif not info.get("converged", True):
            why = "the optimiser did not converge"
        elif any(calibration.standard_errors[k] > _MAX_RELATIVE_SE * v
                 for k, v in estimates.items()):
            why = (f"a standard error is more than {_MAX_RELATIVE_SE:g} times its estimate "
                   "(the data do not pin the parameters down)")
        if why:
            report = calibration.report
            raise ScenarioError(
                f"{log}: the {model} fit is degenerate ({shown}): {why}; "
                f"{report.get('calibration_customers', 0)} customers, "
                f"{report.get('repeat_customers', 0)} with repeat purchases, up to "
                f"--calibration-end — give a longer log or a later --calibration-end")


def _quiet_numpy():
    import numpy as np

    return np.errstate(all="ignore")


def cmd_calibrate(args) -> int:
    """crmsim calibrate LOG.csv --calibration-end DATE [...] --out DIR: the digital twin."""
    import crmsim
    from crmsim.transaction_log import cli_option_names
    from crmsim.twin import cached_population

    names = [n.strip() for n in args.columns.split(",")]
    if len(names) != 3 or not all(names):
        raise ScenarioError(f"--columns = {args.columns!r}: expected three column names, the "
                            "customer id, the date (or time) and the amount, e.g. "
                            "--columns id,date,amount")
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ScenarioError(f"--columns = {args.columns!r}: the column {twice!r} is named "
                            "twice; allowed: three different columns, the customer id, the "
                            "date (or time) and the amount")
    if args.duplicates not in ("error", "keep", "drop"):
        raise ScenarioError(f"--duplicates = {args.duplicates!r}; allowed: error, keep, drop")
    calibration_end = _log_time(args.calibration_end, "--calibration-end")
    holdout_end = (_log_time(args.holdout_end, "--holdout-end")
                   if args.holdout_end is not None else None)
    out = OutputFolder(args.out, args.force, record="fit.json")  # before the (long) fit
    with cli_option_names():
        calibration = crmsim.calibrate(
            args.log, calibration_end, time_unit=args.time_unit, customer_col=names[0],
            time_col=names[1], amount_col=names[2], duplicates=args.duplicates,
            date_format=args.date_format)
        if holdout_end is not None:  # --holdout-end checked against the log before the rest
            from crmsim.holdout_check import closed_form_holdout

            with warnings.catch_warnings(), _quiet_numpy():
                warnings.simplefilter("ignore", RuntimeWarning)
                closed_form_holdout(calibration, args.log, holdout_end)
        _check_fit(calibration, args.log)
        cached_population(calibration)  # the twin must be buildable before anything is written
        calibration.scenario  # noqa: B018 — validates the twin (e.g. q > 1) before writing
        check = None
        if holdout_end is not None:
            check = crmsim.holdout(calibration, args.log, holdout_end,
                                   replications=args.replications, seed=args.seed,
                                   progress=not args.quiet)
    # everything is computed: now write
    fit = {
        "source": calibration.source,
        "time_unit": calibration.time_unit,
        "calibration_end": calibration.calibration_end,
        "calibration_end_date": (str(calibration.calibration_end_date.date())
                                 if calibration.calibration_end_date is not None else None),
        "params": calibration.params,
        "standard_errors": calibration.standard_errors,
        "fit": calibration.fit.reset_index(names="param").to_dict(orient="records"),
        "log_likelihood": calibration.log_likelihood,
        "spend_log_likelihood": calibration.spend_log_likelihood,
        "report": calibration.report,
        "diagnostics": calibration.diagnostics,
        "read_options": calibration.read_options,
    }
    with out.writing():
        yaml_path = calibration.to_yaml(out.path / "scenario.yaml")
        out.adopt(["scenario_population.parquet", "scenario.yaml"])
        if check is not None:
            out.write_text("holdout.json", json.dumps(_json_ready(check.summary), indent=2))
            for name, frame in (("holdout_customers", check.customers.reset_index()),
                                ("holdout_tracking", check.tracking),
                                ("holdout_by_frequency", check.by_frequency.reset_index())):
                with out.file(f"{name}.csv") as handle:
                    frame.to_csv(handle, index=False)
            from crmsim.plots import save_holdout_plots

            out.adopt(save_holdout_plots(check, out.path))
        out.finish_record(_json_ready(fit))  # fit.json last: the folder is complete
    print(f"calibrated {calibration.report['calibration_customers']} customers of {args.log} "
          f"up to {args.calibration_end} (time unit: {calibration.time_unit})")
    _print_table(calibration.fit)
    _print_table(calibration.report_table())
    if check is not None:
        h = check.summary
        print(f"\nholdout to {args.holdout_end} ({h['holdout_length']:g} "
              f"{calibration.time_unit}s, {h['replications']} runs of the twin): repeat "
              f"purchases twin {interval_text(h['predicted_repeat'], h['low'], h['high'])}, "
              f"closed form {h['expected_repeat']:.1f}, actual {h['actual_repeat']}")
    print(f"\ntwin written to {yaml_path} (run it: crmsim run {yaml_path})")
    return 0


def _log_time(text: str, key: str):
    """A --calibration-end / --holdout-end value: a finite number for numeric logs, else the
    text (a date)."""
    try:
        value = float(text)
    except ValueError:
        if not text.strip():
            raise ScenarioError(f"{key} = '': allowed: a date (e.g. 1997-09-30), or a finite "
                                "number for a log of numeric times") from None
        return text
    if not math.isfinite(value):
        raise ScenarioError(f"{key} = {text}: not a finite number; allowed: a date (e.g. "
                            "1997-09-30), or a finite number for a log of numeric times")
    return value


def cmd_tournament(args) -> int:
    from crmsim import tournament

    if args.example:
        if args.class_file or args.submissions:
            raise ScenarioError("--example DIR writes an example class; give it alone, e.g. "
                                "crmsim tournament --example class_demo")
        if args.out or args.jobs is not None or args.scheduler is not None:
            raise ScenarioError("--example DIR only writes an example class; --out, --jobs "
                                "and --scheduler are for running one")
        paths = tournament.write_example(args.example, force=args.force)
        folder = Path(args.example)
        written = ", ".join(str(p.relative_to(folder)) for p in paths)
        print(f"example class written to {folder}/: {written}")
        print(f"run it: crmsim tournament {folder / 'class.yaml'} {folder / 'submissions'} "
              f"--out {folder / 'league'}")
        return 0
    if not args.class_file or not args.submissions:
        raise ScenarioError("crmsim tournament needs CLASS.yaml and a SUBMISSIONS folder (or "
                            "--example DIR to write an example class)")
    out = OutputFolder(args.out, args.force) if args.out else None
    klass = tournament.load_class(args.class_file)  # before connecting or starting workers
    entries, invalid = tournament.read_submissions(klass, args.submissions)
    _check_resources([e.scenario for e in entries], _jobs(args))
    with _executor(args) as executor:
        result = tournament.run_entries(klass, entries, invalid, executor=executor,
                                        progress=not args.quiet)
    spec = result.klass.spec
    if len(result.invalid):
        print(f"{len(result.invalid)} submission(s) left out:", file=sys.stderr)
        for row in result.invalid.itertuples():
            print(f"  {row.error}", file=sys.stderr)
    if not result.entries:
        raise ScenarioError(f"no valid submission in {args.submissions}: nothing to rank")
    print(f"{spec.name}: {len(result.entries)} teams, {spec.replications} replications each "
          f"(common random numbers, seed {spec.seed}); objective {spec.objective} "
          f"({spec.goal})")
    _print_table(tournament.printable(result.leaderboard, spec.objective).set_index("rank"))
    if out is not None:
        result.write(out)
        print(f"\nleaderboard written to {out.path}/ (leaderboard.csv, leaderboard.html, "
              "leaderboard.png, invalid.csv)")
    return 0


def cmd_dashboard(args) -> int:
    from crmsim.dashboard import serve
    from crmsim.dashboard.config import Settings

    serve(args.port, args.host, Settings(workers=args.workers,
                                         max_customers=args.max_customers,
                                         league=Path(args.league)))
    return 0  # pragma: no cover - serve() replaces this process


def _integer(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_short(text)}: must be an integer >= "
                                             f"{minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value}: must be an integer >= {minimum}")
        return value

    parse.__name__ = "integer"
    return parse


#: the most worker processes --jobs may ask for: more than a few per core only costs memory
MAX_JOBS = 4 * (os.cpu_count() or 1)


def _jobs_count(text: str) -> int:
    value = _integer(1)(text)
    if value > MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{value}: must be an integer from 1 to {MAX_JOBS} (4 worker processes per CPU; "
            f"this machine has {os.cpu_count() or 1})")
    return value


_jobs_count.__name__ = "integer"


def _positive_fraction(text: str) -> float:
    try:
        value, shown = float(text), text
    except ValueError:
        value, shown = math.nan, _short(text)
    if not (0 < value < math.inf):
        raise argparse.ArgumentTypeError(f"{shown}: must be a number > 0 (relative: 0.01 for "
                                         "±1%)")
    return value


def _folder(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: 'crmsim run: error: argument --seed: -1: must be an
    integer >= 0 (see crmsim run --help)', exit code 2."""

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="crmsim", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    seed_type, count_type = _integer(0), _integer(1)

    def add_common(p, seed=True):
        if seed:
            p.add_argument("--seed", type=seed_type, default=0,
                           help="run seed, an integer >= 0 (default 0)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a dotted key, e.g. --set service.agents=5 (repeatable)")

    def add_out(p, what):
        p.add_argument("--out", type=_folder, help=f"write {what} here (a new or empty folder)")
        p.add_argument("--force", action="store_true",
                       help="replace the run already in --out (its files are removed)")

    def add_executor(p):
        p.add_argument("--jobs", type=_jobs_count, default=None,
                       help=f"worker processes, an integer from 1 to {MAX_JOBS} (default 1)")
        p.add_argument("--scheduler", help="address of a dask.distributed scheduler, "
                       "e.g. tcp://10.0.0.5:8786")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("run", help="run one scenario and print its KPIs")
    p.add_argument("scenario", help="a YAML file or the name of a shipped scenario")
    add_common(p)
    add_out(p, "tables (CSV/Parquet), PNG plots and manifest.json")
    p.add_argument("--db", metavar="FILE", help="write the firm's customer database (DuckDB) "
                   "to FILE in an existing folder, e.g. out/shop.duckdb")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --db FILE")
    p.set_defaults(func=cmd_run)

    for name, helptext in (("compare", "compare scenarios with replications and paired CIs"),
                           ("sweep", "sweep dotted keys over values")):
        p = sub.add_parser(name, help=helptext)
        if name == "compare":
            p.add_argument("scenarios", nargs="+", help="YAML files or shipped names")
        else:
            p.add_argument("scenario")
            p.add_argument("--param", action="append", required=True, metavar="KEY=V1,V2",
                           help="a key and its values (repeatable: the grid is their product)")
            p.add_argument("--kpi", action="append", help="show only these KPIs")
        add_common(p)
        p.add_argument("--replications", type=count_type, default=10,
                       help="replications per scenario or grid point (default 10)")
        if name == "compare":
            p.add_argument("--target-halfwidth", type=_positive_fraction, metavar="R",
                           help="add replications until every profit interval is within "
                                "±R·|mean| (e.g. 0.01)")
            p.add_argument("--max-replications", type=count_type,
                           help="upper limit for --target-halfwidth (default 100 × "
                                "--replications)")
        add_executor(p)
        add_out(p, "tables, plots and manifest.json")
        p.set_defaults(func=cmd_compare if name == "compare" else cmd_sweep)

    p = sub.add_parser("rerun", help="repeat a recorded run, comparison or sweep exactly")
    p.add_argument("manifest", help="DIR/manifest.json written by --out (or DIR)")
    add_executor(p)
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("validate", help="run the validation reductions against closed forms")
    p.add_argument("--only", action="append", help="run only this reduction (repeatable)")
    add_common(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("scenarios", help="list scenarios, show one resolved, or print the schema")
    p.add_argument("action", nargs="?", choices=["list", "show", "schema"], default="list")
    p.add_argument("file", nargs="?", help="for 'show': a YAML file or shipped name")
    p.add_argument("--folder", help="for 'list': a folder other than the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("calibrate", help="fit BG/NBD and Gamma-Gamma to a transaction log and "
                       "write its digital twin (a scenario of its customers)")
    p.add_argument("log", help="CSV transaction log: one row per purchase (customer, date, amount)")
    p.add_argument("--calibration-end", required=True, metavar="DATE",
                   help="last day of the calibration period (a number for numeric times)")
    p.add_argument("--holdout-end", metavar="DATE", help="check the twin on the purchases up "
                   "to this day (holdout report and plots)")
    p.add_argument("--time-unit", default="week", help="day, week (default), month or year")
    p.add_argument("--columns", default="customer_id,time,amount", metavar="ID,DATE,AMOUNT",
                   help="the log's column names (default customer_id,time,amount)")
    p.add_argument("--duplicates", default="error", help="rows repeating an earlier row "
                   "exactly: error (default), keep (separate purchases) or drop (copies)")
    p.add_argument("--date-format", help="e.g. %%d/%%m/%%Y when the dates are ambiguous")
    p.add_argument("--replications", type=count_type, default=20, help="runs of the twin for "
                   "the holdout check, an integer >= 1 (default 20)")
    p.add_argument("--seed", type=seed_type, default=0, help="seed of the holdout runs, an "
                   "integer >= 0 (default 0)")
    p.add_argument("--out", required=True, type=_folder, help="folder for scenario.yaml, its "
                   "population, fit.json and the holdout report (a new or empty folder)")
    p.add_argument("--force", action="store_true",
                   help="replace the twin already in --out (its files are removed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_calibrate)


    p = sub.add_parser("tournament", help="rank teams' submissions under a class's rules "
                       "(common random numbers, leaderboard as CSV, HTML and PNG)")
    p.add_argument("class_file", nargs="?", metavar="CLASS.yaml",
                   help="the instructor's class file")
    p.add_argument("submissions", nargs="?", metavar="SUBMISSIONS",
                   help="folder of the teams' YAML files")
    add_out(p, "the leaderboard (CSV, HTML, PNG), every replication's KPIs and manifest.json")
    p.add_argument("--example", metavar="DIR",
                   help="write an example class with three submissions into DIR")
    add_executor(p)
    p.set_defaults(func=cmd_tournament)

    p = sub.add_parser("dashboard", help="serve the classroom dashboard in the browser (Solara)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--host", default="localhost",
                   help="address to listen on (0.0.0.0: every network interface, for a class)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="simulation processes shared by all students (default: one per core)")
    p.add_argument("--max-customers", type=int, default=100_000,
                   help="refuse requests that would simulate more customers than this "
                        "(summed over their runs; default 100000)")
    p.add_argument("--league", default="out/league",
                   help="folder of a tournament's leaderboard for the Leaderboard tab")
    p.set_defaults(func=cmd_dashboard)
    return parser


# --------------------------------------------------------------------------- errors, signals


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the one place where errors become messages and exit codes."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a bad option (already printed on one line)
        return done.code if isinstance(done.code, int) else OK if done.code is None else 2
    if getattr(args, "scheduler", None) is not None:
        if args.jobs is not None:
            print(f"crmsim: error: --jobs {args.jobs} has no effect with --scheduler (the "
                  "scheduler's workers run the replications)", file=sys.stderr)
            return USAGE_ERROR
        try:  # the address's form, before any work; the connection comes later
            check_address(args.scheduler, key="--scheduler")
        except ScenarioError as err:
            print(f"crmsim: error: {err}", file=sys.stderr)
            return USAGE_ERROR
    with _signals_interrupt(), _worker_warnings_as_lines():
        try:
            code = args.func(args)
            raise_if_interrupted()  # a signal whose exception was swallowed on the way
            return code
        except ScenarioError as err:
            print(f"crmsim: error: {err}", file=sys.stderr)
            return USAGE_ERROR
        except (Interrupted, KeyboardInterrupt) as stop:
            if not isinstance(stop, Interrupted):
                stop = Interrupted(signal.SIGINT)
            print(f"crmsim: {_interrupted_line(stop, args)}", file=sys.stderr)
            return 128 + stop.signum
        except BrokenPipeError:  # the reader went away (crmsim ... | head): stop quietly
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + signal.SIGPIPE
        except Exception as err:  # noqa: BLE001 — anything else is a bug: say so in one line
            print(f"crmsim: {_internal_error_line(err)}", file=sys.stderr)
            return FAILED


def _interrupted_line(stop: Interrupted, args) -> str:
    if stop.finished is not None:
        done = f"{stop.finished} of {stop.total} replications had finished"
    else:
        done = "the run had not finished"
    out = getattr(args, "out", None)
    kept = (f"; {getattr(stop, 'output_note', None) or f'nothing was written to {out}'}"
            if out else "; nothing is kept")
    return f"interrupted by {signal_name(stop.signum)}: {done}{kept}"


def _internal_error_line(err: BaseException) -> str:
    """'internal error, please report: ValueError: ... at crmsim/x.py:12 (f); traceback
    saved to /tmp/crmsim-error-….txt'."""
    where = crmsim_line(err)
    text = " ".join(f"{type(err).__name__}: {err}".split())
    if len(text) > 300:
        text = text[:297] + "..."
    saved = _save_traceback(err)
    return (f"internal error, please report: {text}" + (f" at {where}" if where else "")
            + (f"; traceback saved to {saved}" if saved else "; the traceback could not be "
               "saved"))


def _save_traceback(err: BaseException) -> str | None:
    """Write the full traceback and the versions to $TMPDIR/crmsim-error-*.txt."""
    try:
        handle, name = tempfile.mkstemp(prefix="crmsim-error-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f"command: {' '.join(sys.argv)}\n")
            file.write("versions: " + ", ".join(f"{k} {v}" for k, v in
                                                manifest.versions().items()) + "\n\n")
            file.write("".join(traceback.format_exception(err)))
        return name
    except OSError:
        return None


@contextlib.contextmanager
def _signals_interrupt():
    """While a command runs, SIGINT and SIGTERM raise :class:`~crmsim.errors.Interrupted`
    (the experiment engine then stops its workers); a second signal during that clean-up is
    ignored. Only in the main thread, where Python delivers signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        RECEIVED_SIGNALS.append(signum)  # kept, should the exception be swallowed (a fork)
        raise Interrupted(signum)

    def unraisable(info):  # an Interrupted swallowed by an at-fork hook: handled, not a bug
        if not isinstance(info.exc_value, Interrupted):
            original(info)

    RECEIVED_SIGNALS.clear()
    original = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.unraisablehook = original


@contextlib.contextmanager
def _worker_warnings_as_lines():
    """A lost worker (see :class:`~crmsim.errors.WorkerLost`) as one line on stderr."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, WorkerLost):
            print(f"crmsim: warning: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always", WorkerLost)
        warnings.showwarning = show
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
