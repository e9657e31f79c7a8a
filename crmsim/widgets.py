"""A scenario explorer for the notebooks: sliders built from the schema, a Run button, plots.

    from crmsim.widgets import ScenarioExplorer
    explorer = ScenarioExplorer(crmsim.load_scenario("retail_baseline"),
                                ["satisfaction.service_quality", "churn.coefficients.satisfaction"])
    explorer            # shows the control panel; press Run (运行)

Each key gets a control chosen from its schema type (:mod:`crmsim.controls`, shared with the
browser dashboard): a slider for numbers (its range from the schema's bounds, or from
``(min, max, step)`` given with the key), a checkbox for switches, a drop-down for choices,
labelled in English and Chinese. Run simulates the scenario with the chosen values against the
unchanged scenario (the baseline), with common random numbers and replications, and shows both
side by side, the paired differences with their 95% intervals (a table and a plot), and the
plots of the changed scenario; ``compare=False`` runs the changed scenario alone. ``start``
opens the panel with a change already made (the lesson's change), so a student sees a
difference at the first Run. ``explorer.run()`` does the same from code (it returns the
result).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import ipywidgets as w
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from crmsim import plots
from crmsim.controls import Control, define
from crmsim.errors import ScenarioError
from crmsim.experiment import compare
from crmsim.scenario import Scenario
from crmsim.simulation import simulate

DEFAULT_KPIS = ("active_end", "churned", "revenue", "profit", "npv_profit", "mean_satisfaction")


def widget_for(control: Control) -> w.Widget:
    """The ipywidget of a :class:`~crmsim.controls.Control` (bilingual label, schema tooltip)."""
    style = {"description_width": "initial"}
    common = dict(value=control.value, description=control.label_in("both"),
                  tooltip=control.description, style=style)
    if control.kind == "choice":
        return w.Dropdown(options=list(control.choices), **common)
    if control.kind == "bool":
        return w.Checkbox(**common)
    layout = w.Layout(width="420px")
    if control.kind == "int":
        return w.IntSlider(min=control.low, max=control.high, step=control.step, layout=layout,
                           **common)
    return w.FloatSlider(min=control.low, max=control.high, step=control.step, layout=layout,
                         readout_format=".3g", **{**common, "value": float(control.value)})


def control_for(scenario: Scenario, key: str, spec=None) -> w.Widget:
    """The widget for one dotted key; ``spec`` is ``(min, max, step)`` or a list of choices
    (see :func:`crmsim.controls.define`, the one place where controls are defined)."""
    return widget_for(define(scenario, key, spec))


class ScenarioExplorer:
    """A control panel over a scenario: change keys, run, see KPIs and plots (see module doc)."""

    def __init__(self, scenario: Scenario, keys: Iterable[str] | dict, seed: int = 0,
                 compare: bool = True, replications: int = 3,
                 kpis: Iterable[str] = DEFAULT_KPIS,
                 plots_to_draw: Iterable[Callable] = (plots.lifecycle_area,
                                                      plots.money_over_time),
                 start: dict | None = None):
        specs = keys if isinstance(keys, dict) else dict.fromkeys(keys)
        self.scenario = scenario
        self.controls = {key: control_for(scenario, key, spec) for key, spec in specs.items()}
        for key, value in (start or {}).items():
            if key not in self.controls:
                raise ScenarioError(f"start {key!r}: not one of the panel's keys "
                                    f"({', '.join(self.controls)})")
            self.controls[key].value = value
        self.compare = compare
        self.replications = replications
        self.kpis = list(kpis)
        self.plots = list(plots_to_draw)
        self.seed = w.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed",
                                     layout=w.Layout(width="160px"))
        self.button = w.Button(description="Run 运行", button_style="primary", icon="play")
        self.output = w.Output()
        self.button.on_click(lambda _: self.run(in_panel=True))
        self.widget = w.VBox([*self.controls.values(), w.HBox([self.seed, self.button]),
                              self.output])
        self.result = None

    def current(self) -> Scenario:
        """The scenario with the values now set in the controls."""
        return self.scenario.with_overrides({k: c.value for k, c in self.controls.items()})

    def run(self, in_panel: bool = False):
        """Simulate with the current values and show the KPIs and plots; returns the RunResult
        (or the Comparison with ``compare=True``).

        The Run button draws into the panel; called from code, the results go to the cell's own
        output, so they stay visible in a saved notebook.
        """
        if in_panel:
            with self.output:
                self.output.clear_output()
                return self._run_and_show()
        return self._run_and_show()

    def _run_and_show(self):
        """Run the current scenario (and the baseline, with compare) and display the results."""
        try:
            variant = self.current()
        except ScenarioError as err:
            print(f"⚠ {err}")
            return None
        seed = self.seed.value
        if self.compare:
            result = compare({"baseline": self.scenario, "your policy": variant},
                             replications=self.replications, seed=seed, progress=False)
            display(result.side_by_side(self.kpis))
            diff = result.differences.xs("your policy", level="scenario")
            display(diff.loc[[k for k in self.kpis if k in diff.index],
                             ["mean", "low", "high"]].rename(columns={
                                 "mean": "difference", "low": "95% low",
                                 "high": "95% high"}))
            self.result = result
            run = simulate(variant, seed) if self.plots else None  # only the plots need it
        else:
            run = self.result = simulate(variant, seed)
            display(pd.Series({k: run.kpis[k] for k in self.kpis}, name="value").to_frame())
        draws = list(self.plots)
        if self.compare and plots.has_percentages(self.result, self.kpis):
            draws.insert(0, lambda _, ax: plots.paired_differences(
                self.result, self.kpis, ax=ax, scenario="your policy"))
        elif self.compare:  # no common % axis: each KPI on an axis of its own, in its units
            plots.paired_differences(self.result, self.kpis, scenario="your policy")
            plt.show()
        if draws:
            fig, axes = plt.subplots(1, len(draws), figsize=(5.5 * len(draws), 3.6),
                                     squeeze=False)
            for ax, draw in zip(axes[0], draws):
                draw(run, ax=ax)
            fig.tight_layout()
            plt.show()
        return self.result


    def _ipython_display_(self):
        display(self.widget)
