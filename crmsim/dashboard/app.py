"""The classroom dashboard: a Solara page students open in a browser, no Jupyter needed.

Left, the scenario (a shipped one, or a YAML file uploaded and validated like ``crmsim run``)
and its key levers — the controls of :mod:`crmsim.controls`, the same definitions the notebooks'
ScenarioExplorer uses — with Run and "Compare with baseline". Right, three tabs: the results of
a run (profit, the KPI table, customers by lifecycle stage, money per period, survival, churn by
loyalty type, the service desk when there is one, CSV and YAML downloads), the comparison (both
scenarios under common random numbers, each KPI's paired difference with its 95% interval) and
the class leaderboard written by ``crmsim tournament``. English / 中文 switches every label.

Simulations never run here: they go to the server's process pool
(:mod:`crmsim.dashboard.pool`) and the page awaits them, so the event loop that serves every
student stays free. Requests above the server's size limit are refused with a message.

Start it with ``crmsim dashboard`` (or ``solara run crmsim.dashboard.app``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time

import pandas as pd
import solara
import solara.lab

from crmsim.controls import GROUPS, Control, levers
from crmsim.dashboard import jobs
from crmsim.dashboard.config import Settings
from crmsim.dashboard.pool import shared_pool
from crmsim.dashboard.text import LANGUAGES, kpi_name, word
from crmsim.dashboard.uploads import MAX_BYTES, load_uploaded
from crmsim.errors import ScenarioError
from crmsim.experiment import format_number, interval_text
from crmsim.scenario import SCENARIO_DIR, Scenario, load_scenario

DEFAULT_SCENARIO = "retail_baseline"
SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))

# one value per browser session (Solara keeps reactive variables per virtual kernel)
language = solara.reactive("en")
scenario_name = solara.reactive(DEFAULT_SCENARIO)
uploaded = solara.reactive(None)  # a Scenario from an uploaded file, or None
upload_error = solara.reactive("")
overrides = solara.reactive({})  # dotted key -> value set with the levers
seed = solara.reactive(1)
replications = solara.reactive(5)
tab = solara.reactive(0)
run_state = solara.reactive(None)  # ("queued", runs ahead) or ("running", seconds)
compare_state = solara.reactive(None)
run_refusal = solara.reactive("")
compare_refusal = solara.reactive("")
league_version = solara.reactive(0)


@functools.cache
def _shipped(name: str) -> Scenario:
    return load_scenario(name)


def base_scenario() -> Scenario:
    return uploaded.value if uploaded.value is not None else _shipped(scenario_name.value)


def current_scenario() -> tuple[Scenario | None, str]:
    """The base scenario with the levers' values, or the error that prevents it."""
    try:
        return base_scenario().with_overrides(overrides.value, source="levers"), ""
    except ScenarioError as err:
        return None, f"crmsim: error: {err}"


def _console() -> logging.Logger:
    """One line per finished request on the server's console (whatever Solara's log level)."""
    log = logging.getLogger("crmsim.dashboard")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s crmsim dashboard: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


async def _awaited(future, state, what: str):
    """Wait for a pool job without blocking the event loop, showing the queue and the time."""
    pool = shared_pool()
    submitted = started = time.monotonic()
    waiting = asyncio.wrap_future(future)
    try:
        while not (await asyncio.wait({waiting}, timeout=0.5))[0]:
            ahead = pool.ahead_of(future)
            if ahead:
                started = time.monotonic()
            shown = ("queued", ahead) if ahead else ("running", int(time.monotonic() - started))
            if shown != state.value:  # redraw once a second, not on every check
                state.value = shown
        result = waiting.result()
        _console().info("%s: %.1f s queued, %.1f s to the result (worker %d)", what,
                        started - submitted, time.monotonic() - submitted, result.worker)
        return result
    except asyncio.CancelledError:
        future.cancel()  # a newer request from this page replaces a queued one
        raise
    finally:
        state.value = None


@solara.lab.task(prefer_threaded=False)
async def run_task(scenario: Scenario, run_seed: int) -> jobs.RunView:
    future = shared_pool().submit(jobs.run_job, scenario, run_seed)
    return await _awaited(future, run_state, f"run of {scenario.name}")


@solara.lab.task(prefer_threaded=False)
async def compare_task(baseline: Scenario, variant: Scenario, count: int,
                       run_seed: int) -> jobs.ComparisonView:
    future = shared_pool().submit(jobs.compare_job, baseline, variant, count, run_seed)
    return await _awaited(future, compare_state,
                          f"comparison of {variant.name} ({count} replications)")


def start_run() -> None:
    scenario, _ = current_scenario()  # an invalid combination is shown under the levers
    if scenario is None:
        return
    problem = jobs.size_problem(scenario, 1, Settings.from_env().max_customers)
    run_refusal.value = problem or ""
    tab.value = 0
    if not problem:
        run_task(scenario, seed.value)


def start_compare() -> None:
    scenario, _ = current_scenario()
    if scenario is None:
        return
    count = max(2, int(replications.value or 2))
    problem = jobs.size_problem(scenario, 2 * count, Settings.from_env().max_customers)
    compare_refusal.value = problem or ""
    tab.value = 1
    if not problem:
        compare_task(base_scenario(), scenario, count, seed.value)


def choose_scenario(name: str) -> None:
    scenario_name.value = name
    uploaded.value = None
    upload_error.value = ""
    overrides.value = {}


def receive_upload(data: dict) -> None:
    try:
        scenario = load_uploaded(data.get("name", ""), data.get("text"), data.get("size", 0))
    except ScenarioError as err:
        upload_error.value = f"crmsim: error: {err}"
        return
    upload_error.value = ""
    uploaded.value = scenario
    overrides.value = {}


def _slug(key: str) -> str:
    return "lever-" + key.replace(".", "-")


# --------------------------------------------------------------------------- components


@solara.component_vue("upload.vue")
def Upload(label: str, max_bytes: int, event_received=None):
    pass


@solara.component
def LeverControl(control: Control, lang: str):
    value = overrides.value.get(control.key, control.value)

    def set_value(new):
        overrides.value = {**overrides.value, control.key: control.coerce(new)}

    label = control.label_in(lang)
    with solara.Div(classes=["crmsim-lever", _slug(control.key)]):
        if control.kind == "float":
            solara.SliderFloat(f"{label}: {value:g}", value=float(value), min=control.low,
                               max=control.high, step=control.step, on_value=set_value)
        elif control.kind == "int":
            solara.SliderInt(f"{label}: {value}", value=int(value), min=int(control.low),
                             max=int(control.high), step=int(control.step), on_value=set_value)
        elif control.kind == "bool":
            solara.Switch(label=label, value=bool(value), on_value=set_value)
        else:
            solara.Select(label, values=list(control.choices), value=value,
                          on_value=set_value)


@solara.component
def Controls(lang: str):
    base = base_scenario()
    scenario, error = current_scenario()
    solara.Select(word("scenario", lang), values=SHIPPED, value=scenario_name.value,
                  on_value=choose_scenario, classes=["crmsim-scenario"])
    Upload(label=word("upload", lang), max_bytes=MAX_BYTES, event_received=receive_upload)
    if uploaded.value is not None:
        with solara.Row(style={"align-items": "center"}):
            solara.Text(f"{word('uploaded', lang)}: {uploaded.value.source}",
                        classes=["crmsim-uploaded"])
            solara.Button(word("forget_upload", lang), text=True,
                          on_click=lambda: choose_scenario(scenario_name.value))
    if upload_error.value:
        solara.Error(upload_error.value, classes=["crmsim-upload-error"])
    if base.description:
        solara.Text(base.description.strip(), style={"font-size": "0.85em", "color": "#555"})
    controls = levers(base)
    for group, names in GROUPS.items():
        members = [c for c in controls if c.group == group]
        if not members:
            continue
        solara.Text(names[1] if lang == "zh" else names[0],
                    style={"font-weight": "bold", "margin-top": "8px"})
        for control in members:
            LeverControl(control, lang)
    if error:
        solara.Error(error, classes=["crmsim-lever-error"])
    with solara.Row():
        solara.InputInt(word("seed", lang), value=seed, classes=["crmsim-seed"])
        solara.InputInt(word("replications", lang), value=replications)
    with solara.Row():
        solara.Button(word("run", lang), icon_name="mdi-play", color="primary",
                      on_click=start_run, disabled=scenario is None, classes=["crmsim-run"])
        solara.Button(word("compare", lang), icon_name="mdi-scale-balance", outlined=True,
                      color="primary", on_click=start_compare, disabled=scenario is None,
                      classes=["crmsim-compare"])
    solara.Button(word("reset", lang), text=True, on_click=lambda: overrides.set({}))


def _status_text(state, lang: str) -> str:
    if state is None:
        return ""
    kind, number = state
    if kind == "queued":
        return word("queued", lang, ahead=number)
    return word("running", lang, seconds=number)


@solara.component
def Progress(task, state, lang: str):
    if task.pending:
        solara.ProgressLinear(True, classes=["crmsim-progress"])
        solara.Text(_status_text(state.value, lang), classes=["crmsim-status"])
    if task.error:
        solara.Error(f"{word('error', lang)}: {task.exception}", classes=["crmsim-run-error"])


def _latest(refusal, task, state, hint: str, lang: str):
    """The top of a results panel (a run's or a comparison's): the refusal of the last request,
    its progress or error, and the latest result — or, before the first one, the hint to press
    the button (then None)."""
    if refusal.value:
        solara.Warning(f"{word('refused', lang)}: {refusal.value}", classes=["crmsim-refusal"])
    Progress(task, state, lang)
    if task.latest is None:
        solara.Info(word(hint, lang))
    return task.latest


def _table_html(frame: pd.DataFrame, css_class: str) -> str:
    return frame.to_html(index=False, border=0, escape=True, classes=["crmsim-table", css_class])


TABLE_STYLE = """
.crmsim-table { border-collapse: collapse; font-size: 0.9em; }
.crmsim-table th, .crmsim-table td { padding: 3px 10px; border-bottom: 1px solid #e0e0e0;
                                     text-align: left; }
.crmsim-table th { background: #f0f4f8; }
.crmsim-profit { font-size: 1.5em; font-weight: bold; }
"""


@solara.component
def Results(lang: str):
    view: jobs.RunView | None = _latest(run_refusal, run_task, run_state, "press_run", lang)
    if view is None:
        return
    kpis = view.kpis
    solara.Text(f"{word('profit', lang)}: {format_number(kpis['profit'])}",
                classes=["crmsim-profit"])
    solara.Text(" · ".join(f"{kpi_name(k, lang)}: {format_number(kpis[k])}"
                           for k in ("npv_profit", "revenue", "churned", "active_end")),
                classes=["crmsim-headline"])
    solara.Text(word("finished", lang, scenario=view.scenario.name, seed=view.seed,
                     seconds=view.seconds, worker=view.worker),
                style={"color": "#666", "font-size": "0.85em"}, classes=["crmsim-finished"])
    with solara.ColumnsResponsive(default=12, large=6):
        for name, png in view.images.items():
            with solara.Div(classes=[f"crmsim-plot-{name}"]):
                solara.Image(png, width="100%")
    solara.Markdown(f"### {word('kpis', lang)}")
    table = view.kpi_table()
    shown = pd.DataFrame({
        word("kpi", lang): [kpi_name(k, lang) for k in table["kpi"]],
        word("value", lang): [format_number(v) for v in table["value"]],
        word("meaning", lang): table["meaning"]})
    solara.HTML(tag="div", unsafe_innerHTML=_table_html(shown, "crmsim-kpis"))
    solara.Markdown(f"### {word('downloads', lang)}")
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.FileDownload(lambda: table.to_csv(index=False), filename="kpis.csv",
                            label="kpis.csv", mime_type="text/csv")
        solara.FileDownload(lambda: view.timeseries.to_csv(index=False),
                            filename="timeseries.csv", label="timeseries.csv",
                            mime_type="text/csv")
        solara.FileDownload(lambda: view.customers.to_csv(index=False),
                            filename="customers.csv", label="customers.csv",
                            mime_type="text/csv")
        solara.FileDownload(lambda: jobs.scenario_yaml(view.scenario),
                            filename=f"{view.scenario.name}.yaml",
                            label=f"{view.scenario.name}.yaml", mime_type="text/yaml")


def _verdict(low: float, high: float, lang: str) -> str:
    if low > 0:
        return word("higher", lang)
    if high < 0:
        return word("lower", lang)
    return word("unclear", lang)


@solara.component
def ComparisonPanel(lang: str):
    view: jobs.ComparisonView | None = _latest(compare_refusal, compare_task, compare_state,
                                               "press_compare", lang)
    if view is None:
        return
    solara.Text(word("compare_note", lang, replications=view.replications, seed=view.seed,
                     worker=view.worker), style={"color": "#555"}, classes=["crmsim-compare-note"])
    diff = view.differences
    table = pd.DataFrame({
        word("kpi", lang): [kpi_name(k, lang) for k in diff.index],
        jobs.BASELINE: view.side_by_side.loc[diff.index, jobs.BASELINE].to_numpy(),
        jobs.VARIANT: view.side_by_side.loc[diff.index, jobs.VARIANT].to_numpy(),
        word("difference", lang): [interval_text(m, lo, hi, sign=True) for m, lo, hi in
                                   zip(diff["mean"], diff["low"], diff["high"])],
        word("verdict", lang): [_verdict(lo, hi, lang) for lo, hi in
                                zip(diff["low"], diff["high"])]})
    solara.Image(view.image, width="min(100%, 760px)")
    solara.HTML(tag="div", unsafe_innerHTML=_table_html(table, "crmsim-differences"))
    with solara.Row():
        solara.FileDownload(lambda: diff.reset_index().to_csv(index=False),
                            filename="differences.csv", label="differences.csv",
                            mime_type="text/csv")
        solara.FileDownload(lambda: view.kpis.to_csv(index=False), filename="kpis.csv",
                            label="kpis.csv (all replications)", mime_type="text/csv")


@solara.component
def LeaderboardPanel(lang: str):
    from crmsim.tournament import STATUS_CHINESE, printable

    league_version.value  # noqa: B018 — re-read the files when Reload is pressed
    folder = Settings.from_env().league
    board_file = folder / "leaderboard.csv"
    solara.Button(word("reload", lang), icon_name="mdi-refresh", text=True,
                  on_click=lambda: league_version.set(league_version.value + 1))
    if not board_file.exists():
        solara.Info(word("no_league", lang, folder=folder))
        return
    board = pd.read_csv(board_file, dtype={"rank": "Int64"})
    summary = json.loads((folder / "league.json").read_text(encoding="utf-8"))
    shown = printable(board, summary["objective"])
    if lang == "zh":
        shown["status"] = [f"{STATUS_CHINESE.get(s.split(':', 1)[0], '')} {s}"
                           for s in shown["status"]]
    solara.Markdown(f"## {summary['name']}")
    solara.Text(summary.get("description", ""))
    goal = "max" if summary["goal"] == "max" else "min"
    constraints = ", ".join(summary["constraints"]) or "–"
    solara.Text(f"{word('objective', lang)}: {summary['objective']} ({goal}) · "
                f"{word('constraints', lang)}: {constraints} · "
                f"{summary['replications']} × seed {summary['seed']}")
    solara.HTML(tag="div", unsafe_innerHTML=_table_html(shown, "crmsim-leaderboard"))
    png = folder / "leaderboard.png"
    if png.exists():
        solara.Image(png.read_bytes(), width="min(100%, 820px)")
    invalid_file = folder / "invalid.csv"
    if invalid_file.exists():
        invalid = pd.read_csv(invalid_file)
        if len(invalid):
            solara.Markdown(f"### {word('left_out', lang)}")
            solara.HTML(tag="div", unsafe_innerHTML=_table_html(invalid, "crmsim-invalid"))


@solara.component
def Page():
    lang = language.value
    # start the workers when the first page opens: warm by the time anyone presses Run
    solara.use_effect(lambda: shared_pool() and None, [])
    solara.Title("crmsim classroom")
    solara.Style(TABLE_STYLE)
    with solara.AppBarTitle():
        solara.Text(word("title", lang))
    with solara.AppBar():
        with solara.ToggleButtonsSingle(value=language, classes=["crmsim-language"]):
            for code, name in LANGUAGES.items():
                solara.Button(name, value=code, classes=[f"crmsim-lang-{code}"])
    with solara.Sidebar():
        with solara.Column(gap="4px"):
            Controls(lang)
    with solara.lab.Tabs(value=tab):
        with solara.lab.Tab(word("results", lang), classes=["crmsim-tab-results"]):
            with solara.Column(classes=["crmsim-results"]):
                Results(lang)
        with solara.lab.Tab(word("comparison", lang), classes=["crmsim-tab-comparison"]):
            with solara.Column(classes=["crmsim-comparison"]):
                ComparisonPanel(lang)
        with solara.lab.Tab(word("leaderboard", lang), classes=["crmsim-tab-leaderboard"]):
            with solara.Column(classes=["crmsim-league"]):
                LeaderboardPanel(lang)
