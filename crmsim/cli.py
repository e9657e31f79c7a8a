"""The ``crmsim`` command: the same operations as the Python API.

    crmsim run SCENARIO [--seed N] [--set key=value]... [--out DIR] [--db FILE [--overwrite]]
    crmsim compare SCENARIO... [--replications N] [--jobs N] [--out DIR]
    crmsim sweep SCENARIO --param key=v1,v2,... [--param ...] [--replications N]
    crmsim rerun DIR/manifest.json
    crmsim validate [--only NAME] [--seed N] [--set key=value]...
    crmsim calibrate LOG.csv --calibration-end DATE [--holdout-end DATE] [--time-unit week]
                     [--columns id,date,amount] [--duplicates keep|drop|error] --out DIR
    crmsim scenarios [show FILE | schema]
    crmsim tournament CLASS.yaml SUBMISSIONS/ [--out DIR] | --example DIR
    crmsim dashboard [--port N] [--workers N] [--league DIR]

Bad input (a scenario error, a bad ``--set``) prints one message naming the key, the value and
what is allowed, and exits with code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

from crmsim import manifest
from crmsim.errors import ScenarioError
from crmsim.experiment import format_number, interval_text
from crmsim.scenario import (
    SCENARIO_DIR,
    Scenario,
    list_scenarios,
    load_scenario,
    parse_assignment,
)

USAGE_ERROR = 2


def _scenario_with_sets(path: str, sets: list[str]) -> Scenario:
    scenario = load_scenario(path)
    if sets:
        overrides = dict(parse_assignment(text) for text in sets)
        scenario = scenario.with_overrides(overrides, source="--set")
    return scenario


def _informative(kpis: pd.DataFrame) -> list[str]:
    """KPIs that are not zero or undefined in every row (a tidy kpi/value table)."""
    shown = kpis.groupby("kpi", sort=False)["value"].apply(
        lambda v: bool(((v != 0) & v.notna()).any()))
    return [k for k, keep in shown.items() if keep]


def _hidden_note(total: int, shown: int) -> None:
    if shown < total:
        print(f"({total - shown} KPIs not shown: zero or undefined everywhere; --out writes all)")


def _print_table(frame: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 200, "display.max_columns", 20,
                           "display.width", 140, "display.float_format", format_number):
        print(frame.to_string())


def _write_frame(frame: pd.DataFrame, folder: Path, name: str) -> None:
    frame.to_csv(folder / f"{name}.csv", index=False)
    try:
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    except ImportError:  # parquet needs pyarrow; CSV is always written
        pass


def cmd_run(args) -> int:
    from crmsim.simulation import simulate

    scenario = _scenario_with_sets(args.scenario, args.set)
    if args.db:  # a bad --db path fails before the run, not after it
        from crmsim.database import check_database_path

        check_database_path(args.db, args.overwrite, key="--db")
    result = simulate(scenario, seed=args.seed)
    print(f"{scenario.name} — seed {args.seed}, horizon {scenario.horizon:g} {scenario.time_unit}")
    table = result.kpi_table()
    shown = _informative(pd.DataFrame({"kpi": table.index, "value": table["value"].astype(float)}))
    _print_table(table.loc[shown])
    _hidden_note(len(table), len(shown))
    if args.out:
        from crmsim.plots import save_run_plots

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("events", "customers", "timeseries"):
            _write_frame(getattr(result, name), out, name)
        _write_frame(pd.DataFrame([result.kpis]), out, "kpis")
        (out / "scenario.yaml").write_text(yaml.safe_dump(scenario.to_dict(), sort_keys=False,
                                                          allow_unicode=True))
        manifest.write(manifest.build("run", {scenario.name: scenario}, args.seed), out)
        save_run_plots(result, out)
        print(f"tables and plots written to {out}/")
    if args.db:
        result.to_duckdb(args.db, overwrite=args.overwrite)
        print(f"customer database written to {args.db} (query: crmsim.sql(path, \"SELECT ...\"))")
    return 0


def _executor(args):
    if getattr(args, "scheduler", None):
        from distributed import Client

        return Client(args.scheduler)
    return "processes" if args.jobs and args.jobs > 1 else "serial"


def cmd_compare(args) -> int:
    from crmsim.experiment import compare

    scenarios = {}
    for path in args.scenarios:
        sc = _scenario_with_sets(path, args.set)
        label = sc.name if sc.name not in scenarios else f"{sc.name} ({path})"
        scenarios[label] = sc
    comparison = compare(scenarios, replications=args.replications, seed=args.seed,
                         executor=_executor(args), jobs=args.jobs, progress=not args.quiet,
                         target_halfwidth=args.target_halfwidth,
                         max_replications=args.max_replications)
    print(f"{comparison.replications} replications per scenario, seed {args.seed}, "
          "common random numbers; mean [95% interval]")
    shown = _informative(comparison.kpis)
    _print_table(comparison.side_by_side(shown))
    _hidden_note(comparison.kpis["kpi"].nunique(), len(shown))
    if len(scenarios) > 1:
        print(f"\npaired differences against '{next(iter(scenarios))}' (mean [95% interval]):")
        diff = comparison.differences.reset_index()
        diff["difference"] = [interval_text(m, lo, hi, sign=True) for m, lo, hi in
                              zip(diff["mean"], diff["low"], diff["high"])]
        _print_table(diff.pivot(index="kpi", columns="scenario", values="difference")
                     .loc[[k for k in shown if k in set(diff["kpi"])]])
    if not comparison.failures.empty:
        print(f"\n{len(comparison.failures)} replication(s) failed:", file=sys.stderr)
        _print_table(comparison.failures)
    if args.out:
        from crmsim.plots import save_comparison_plots

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        _write_frame(comparison.kpis, out, "kpis")
        _write_frame(comparison.table.reset_index(), out, "summary")
        if len(scenarios) > 1:
            _write_frame(comparison.differences.reset_index(), out, "differences")
            _write_frame(comparison.variance_reduction().reset_index(), out,
                         "variance_reduction")
        manifest.write(manifest.build("compare", scenarios, args.seed,
                                      comparison.replications), out)
        save_comparison_plots(comparison, out)
        print(f"\ntables and plots written to {out}/")
    return 0 if comparison.failures.empty else 1


def _parse_param(text: str) -> tuple[str, list]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or not raw.strip():
        raise ScenarioError(f"--param {text!r}: expected key=v1,v2,... e.g. --param "
                            "churn.base=0.1,0.2")
    values = []
    for item in raw.split(","):
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            raise ScenarioError(f"--param {key} value {item!r}: not a valid value") from None
    return key.strip(), values


def cmd_sweep(args) -> int:
    from crmsim.experiment import summarize, sweep

    scenario = _scenario_with_sets(args.scenario, args.set)
    grid = dict(_parse_param(text) for text in args.param)
    table = sweep(scenario, grid, replications=args.replications, seed=args.seed,
                  executor=_executor(args), jobs=args.jobs, progress=not args.quiet)
    summary = summarize(table, list(grid))
    shown = summary[summary["kpi"].isin(args.kpi)] if args.kpi else summary
    _print_table(shown.set_index([*grid, "kpi"]))
    if args.out:
        from crmsim.plots import save_sweep_plots

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        _write_frame(table, out, "kpis")
        _write_frame(summary, out, "summary")
        manifest.write(manifest.build("sweep", {scenario.name: scenario}, args.seed,
                                      args.replications, grid), out)
        save_sweep_plots(summary, list(grid), out, args.kpi or ["profit", "churned"])
        print(f"\ntables and plots written to {out}/")
    return 0


def cmd_rerun(args) -> int:
    record = manifest.load(args.manifest)
    folder = Path(args.manifest)
    folder = folder if folder.is_dir() else folder.parent
    print(f"re-running the {record['kind']} recorded on {record['created']} "
          f"(seed {record['seed']}, crmsim {record['versions'].get('crmsim')})")
    repeated = manifest.rerun(record, executor=_executor(args), jobs=args.jobs,
                              progress=not args.quiet)
    recorded_file = folder / "kpis.parquet"
    if not recorded_file.exists():
        print(f"no recorded {recorded_file.name} next to the manifest: nothing to compare")
        return 0
    recorded = pd.read_parquet(recorded_file)
    if record["kind"] == "run":
        recorded = recorded.melt(var_name="kpi", value_name="value")
        recorded.insert(0, "scenario", next(iter(record["scenarios"])))
    differing = manifest.differences(recorded, repeated)
    if differing.empty:
        print(f"identical: all {len(repeated)} KPI values match the recorded ones")
        return 0
    print(f"{len(differing)} KPI values differ from the recorded ones:")
    _print_table(differing.head(30))
    return 1


def cmd_validate(args) -> int:
    from crmsim.validation import run_validation

    overrides = dict(parse_assignment(text) for text in args.set) if args.set else None
    table = run_validation(args.only or None, seed=args.seed, overrides=overrides)
    _print_table(table.set_index(["reduction", "quantity"]))
    passed = int(table["passed"].sum())
    print(f"\n{passed} passed, {len(table) - passed} failed")
    return 0 if passed == len(table) else 1


def cmd_scenarios(args) -> int:
    if args.action == "schema":
        print(json.dumps(Scenario.model_json_schema(), indent=2, ensure_ascii=False))
        return 0
    if args.action == "show":
        if not args.file:
            raise ScenarioError("scenarios show needs a FILE, e.g. crmsim scenarios show "
                                "retail_baseline")
        scenario = load_scenario(args.file)
        print(yaml.safe_dump(scenario.to_dict(), sort_keys=False, allow_unicode=True), end="")
        return 0
    folder = Path(args.folder) if args.folder else SCENARIO_DIR
    rows = list_scenarios(folder)
    width = max((len(name) for name, _ in rows), default=10)
    print(f"scenarios in {folder}:")
    for name, description in rows:
        print(f"  {name:<{width}}  {description}")
    return 0


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


def cmd_calibrate(args) -> int:
    """crmsim calibrate LOG.csv --calibration-end DATE [...] --out DIR: the digital twin."""
    import crmsim
    from crmsim.twin import cached_population

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out = {args.out!r}: a file of that name exists; allowed: a "
                            "folder (new or existing)")
    names = [n.strip() for n in args.columns.split(",")]
    if len(names) != 3 or not all(names):
        raise ScenarioError(f"--columns = {args.columns!r}: expected three column names, the "
                            "customer id, the date (or time) and the amount, e.g. "
                            "--columns id,date,amount")
    calibration_end = _log_time(args.calibration_end)
    calibration = crmsim.calibrate(
        args.log, calibration_end, time_unit=args.time_unit, customer_col=names[0],
        time_col=names[1], amount_col=names[2], duplicates=args.duplicates,
        date_format=args.date_format)
    cached_population(calibration)  # the twin must be buildable before anything is written
    calibration.scenario  # noqa: B018 — validates the twin (e.g. q > 1) before writing
    check = None
    if args.holdout_end is not None:
        check = crmsim.holdout(calibration, args.log, _log_time(args.holdout_end),
                               replications=args.replications, seed=args.seed,
                               progress=not args.quiet)
    # everything is computed: now write
    out.mkdir(parents=True, exist_ok=True)
    yaml_path = calibration.to_yaml(out / "scenario.yaml")
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
    (out / "fit.json").write_text(json.dumps(_json_ready(fit), indent=2, ensure_ascii=False),
                                  encoding="utf-8")
    print(f"calibrated {calibration.report['calibration_customers']} customers of {args.log} "
          f"up to {args.calibration_end} (time unit: {calibration.time_unit})")
    _print_table(calibration.fit)
    _print_table(calibration.report_table())
    if check is not None:
        (out / "holdout.json").write_text(json.dumps(_json_ready(check.summary), indent=2),
                                          encoding="utf-8")
        check.customers.reset_index().to_csv(out / "holdout_customers.csv", index=False)
        check.tracking.to_csv(out / "holdout_tracking.csv", index=False)
        check.by_frequency.reset_index().to_csv(out / "holdout_by_frequency.csv", index=False)
        from crmsim.plots import save_holdout_plots

        save_holdout_plots(check, out)
        h = check.summary
        print(f"\nholdout to {args.holdout_end} ({h['holdout_length']:g} "
              f"{calibration.time_unit}s, {h['replications']} runs of the twin): repeat "
              f"purchases twin {interval_text(h['predicted_repeat'], h['low'], h['high'])}, "
              f"closed form {h['expected_repeat']:.1f}, actual {h['actual_repeat']}")
    print(f"\ntwin written to {yaml_path} (run it: crmsim run {yaml_path})")
    return 0


def _log_time(text: str):
    """A --calibration-end / --holdout-end value: a number for numeric logs, else the text
    (a date)."""
    try:
        return float(text)
    except ValueError:
        return text

def cmd_tournament(args) -> int:
    from crmsim import tournament

    if args.example:
        if args.class_file or args.submissions:
            raise ScenarioError("--example DIR writes an example class; give it alone, e.g. "
                                "crmsim tournament --example class_demo")
        paths = tournament.write_example(args.example)
        folder = Path(args.example)
        written = ", ".join(str(p.relative_to(folder)) for p in paths)
        print(f"example class written to {folder}/: {written}")
        print(f"run it: crmsim tournament {folder / 'class.yaml'} {folder / 'submissions'} "
              f"--out {folder / 'league'}")
        return 0
    if not args.class_file or not args.submissions:
        raise ScenarioError("crmsim tournament needs CLASS.yaml and a SUBMISSIONS folder (or "
                            "--example DIR to write an example class)")
    result = tournament.run_tournament(args.class_file, args.submissions,
                                       executor=_executor(args), jobs=args.jobs,
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
    if args.out:
        result.write(args.out)
        print(f"\nleaderboard written to {args.out}/ (leaderboard.csv, leaderboard.html, "
              "leaderboard.png, invalid.csv)")
    return 0


def cmd_dashboard(args) -> int:
    from crmsim.dashboard import serve
    from crmsim.dashboard.config import Settings

    serve(args.port, args.host, Settings(workers=args.workers,
                                         max_customers=args.max_customers,
                                         league=Path(args.league)))
    return 0  # pragma: no cover - serve() replaces this process


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmsim", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_common(p, seed=True):
        if seed:
            p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a dotted key, e.g. --set service.agents=5 (repeatable)")

    p = sub.add_parser("run", help="run one scenario and print its KPIs")
    p.add_argument("scenario", help="a YAML file or the name of a shipped scenario")
    add_common(p)
    p.add_argument("--out", help="write tables (CSV/Parquet) and PNG plots here")
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
        p.add_argument("--replications", type=int, default=10)
        if name == "compare":
            p.add_argument("--target-halfwidth", type=float, metavar="R",
                           help="add replications until every profit interval is within "
                                "±R·|mean| (e.g. 0.01)")
            p.add_argument("--max-replications", type=int, help="upper limit for that")
        p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
        p.add_argument("--scheduler", help="address of a dask.distributed scheduler")
        p.add_argument("--out", help="write tables and plots here")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.set_defaults(func=cmd_compare if name == "compare" else cmd_sweep)

    p = sub.add_parser("rerun", help="repeat a recorded run, comparison or sweep exactly")
    p.add_argument("manifest", help="DIR/manifest.json written by --out (or DIR)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--scheduler", help="address of a dask.distributed scheduler")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("validate", help="run the validation reductions against closed forms")
    p.add_argument("--only", action="append", help="run only this reduction (repeatable)")
    add_common(p)
    p.set_defaults(func=cmd_validate)

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
    p.add_argument("--replications", type=int, default=20, help="runs of the twin for the "
                   "holdout check (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the holdout runs (default 0)")
    p.add_argument("--out", required=True, help="folder for scenario.yaml, its population, "
                   "fit.json and the holdout report")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("scenarios", help="list scenarios, show one resolved, or print the schema")
    p.add_argument("action", nargs="?", choices=["list", "show", "schema"], default="list")
    p.add_argument("file", nargs="?", help="for 'show': a YAML file or shipped name")
    p.add_argument("--folder", help="for 'list': a folder other than the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("tournament", help="rank teams' submissions under a class's rules "
                       "(common random numbers, leaderboard as CSV, HTML and PNG)")
    p.add_argument("class_file", nargs="?", metavar="CLASS.yaml",
                   help="the instructor's class file")
    p.add_argument("submissions", nargs="?", metavar="SUBMISSIONS",
                   help="folder of the teams' YAML files")
    p.add_argument("--out", help="write the leaderboard here")
    p.add_argument("--example", metavar="DIR",
                   help="write an example class with three submissions into DIR")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--scheduler", help="address of a dask.distributed scheduler")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as err:
        print(f"crmsim: error: {err}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
