"""Plots with one consistent, readable style (used by the CLI, the notebooks and the docs).

Every function takes tables (a :class:`~crmsim.results.RunResult`, a comparison table) and an
optional matplotlib ``ax``, and returns the ``ax``; nothing here runs the model. Importing this
module applies :func:`use_style` (axes take their fonts when they are created, so the style
must be in place before the first figure).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim.model import lifecycle

#: one colour per lifecycle stage, in course order
STAGE_COLORS = {
    lifecycle.EXPLORATION: "#9ecae1",
    lifecycle.FORMATION: "#4292c6",
    lifecycle.STABILITY: "#08519c",
    lifecycle.DECLINE: "#fd8d3c",
    lifecycle.WON_BACK: "#74c476",
}


_STYLE_READY = False


def use_style() -> None:
    """crmsim's plot style: readable sizes and a font fallback with Chinese glyphs.

    Chinese course terms need a CJK font; the ``mplfonts`` package ships Noto Sans CJK SC, which
    is registered as a fallback after DejaVu Sans (matplotlib picks a font per glyph).
    """
    global _STYLE_READY
    if _STYLE_READY:
        return
    import matplotlib as mpl
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    try:
        from importlib.resources import files

        font = files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"
        font_manager.fontManager.addfont(str(font))
        families.append(font_manager.FontProperties(fname=str(font)).get_name())
    except (ImportError, FileNotFoundError, OSError):  # plots still work, without CJK glyphs
        pass
    mpl.rcParams.update({"font.family": families, "axes.titlesize": 11, "axes.labelsize": 10,
                         "axes.spines.top": False, "axes.spines.right": False})
    _STYLE_READY = True


def _axes(ax):
    import matplotlib.pyplot as plt

    use_style()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.grid(True, alpha=0.3)
    return ax


def bilingual(stage: str) -> str:
    """'formation (形成期)'."""
    return f"{stage} ({lifecycle.CHINESE[stage]})" if stage in lifecycle.CHINESE else stage


def lifecycle_area(result, ax=None):
    """Active customers by lifecycle stage over time (stacked areas)."""
    ax = _axes(ax)
    counts = result.stage_counts()
    counts = counts.loc[:, (counts > 0).any()]
    if counts.shape[1]:
        ax.stackplot(counts.index, counts.T.to_numpy(),
                     labels=[bilingual(s) for s in counts.columns],
                     colors=[STAGE_COLORS[s] for s in counts.columns], alpha=0.9)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    else:  # an empty market: an empty plot that says so
        ax.text(0.5, 0.5, "no active customers", transform=ax.transAxes, ha="center")
    ax.set_xlabel(f"time ({result.scenario.time_unit})")
    ax.set_ylabel("active customers")
    ax.set_title("Customers by lifecycle stage (生命周期)")
    return ax


def money_over_time(result, ax=None):
    """Revenue, costs and profit per reporting period."""
    ax = _axes(ax)
    ts = result.timeseries
    for column, style in (("revenue", "-"), ("costs", ":"), ("profit", "--")):
        ax.plot(ts["time"], ts[column], style, marker="o", ms=3, label=column)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(f"time ({result.scenario.time_unit})")
    ax.set_ylabel("per period")
    ax.set_title("Revenue, costs and profit (利润)")
    ax.legend(fontsize=8)
    return ax


def survival_curve(result, ax=None, closed_form=None, label: str = "simulated"):
    """Share of customers still active against tenure (a Kaplan–Meier-style step curve).

    ``closed_form`` is an optional callable t → S(t) drawn for comparison (e.g. the sBG curve).
    """
    ax = _axes(ax)
    customers = result.customers
    horizon = result.scenario.horizon
    tenure_end = customers["churned_at"].fillna(horizon) - customers["acquired_at"]
    churned = customers["churned_at"].notna().to_numpy()
    order = np.argsort(tenure_end.to_numpy(), kind="stable")
    times = tenure_end.to_numpy()[order]
    events = churned[order]
    at_risk = len(times) - np.arange(len(times))
    factors = np.where(events, 1 - 1 / at_risk, 1.0)
    survival = np.cumprod(factors)
    ax.step(np.r_[0, times], np.r_[1, survival], where="post", label=label)
    if closed_form is not None:
        grid = np.linspace(0, times.max() if len(times) else horizon, 200)
        ax.plot(grid, closed_form(grid), "k--", lw=1, label="closed form")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"tenure ({result.scenario.time_unit})")
    ax.set_ylabel("share still active")
    ax.set_title("Customer survival (留存)")
    ax.legend(fontsize=8)
    return ax


def desk_over_time(result, ax=None):
    """The service desk per period: contacts offered (bars), service level and abandonment
    (lines, right axis) — where understaffing shows."""
    ax = _axes(ax)
    table = result.timeseries
    if "desk_contacts" not in table:
        ax.set_title("no service desk in this scenario")
        return ax
    times = table["time"].to_numpy()
    ts = table.iloc[1:]  # each row holds the period (previous time, its time]
    starts, widths = times[:-1], np.diff(times)
    middles = starts + widths / 2
    ax.bar(starts, ts["desk_contacts"], width=0.9 * widths, color="#c6dbef", align="edge",
           label="contacts offered")
    ax.set_xlabel(f"time ({result.scenario.time_unit})")
    ax.set_ylabel("contacts per period")
    right = ax.twinx()
    right.plot(middles, ts["desk_service_level"], "o-", color="#08519c", label="service level")
    right.plot(middles, ts["desk_abandon_rate"], "s--", color="#e6550d", label="abandon rate")
    right.set_ylim(0, 1.02)
    right.set_ylabel("share of contacts")
    right.legend(fontsize=8, loc="center right")
    ax.set_title("Service desk (呼叫中心) per period")
    return ax


def kpi_intervals(table: pd.DataFrame, kpi: str, ax=None):
    """Mean and 95% interval of one KPI per scenario (a :attr:`Comparison.table`)."""
    ax = _axes(ax)
    rows = table.xs(kpi, level="kpi")
    y = np.arange(len(rows))
    ax.errorbar(rows["mean"], y, xerr=[rows["mean"] - rows["low"], rows["high"] - rows["mean"]],
                fmt="o", capsize=4)
    ax.set_yticks(y, rows.index)
    ax.set_xlabel(kpi)
    ax.set_title(f"{kpi}: mean and 95% interval")
    return ax


def sweep_lines(summary: pd.DataFrame, key: str, kpi: str, ax=None, by: str | None = None):
    """A KPI's mean and 95% band against a swept key (one line per value of ``by``)."""
    ax = _axes(ax)
    rows = summary[summary["kpi"] == kpi]
    groups = rows.groupby(by, sort=True) if by else [(None, rows)]
    for label, group in groups:
        group = group.sort_values(key)
        x = group[key].to_numpy(dtype=float)
        line, = ax.plot(x, group["mean"], marker="o", label=f"{by}={label}" if by else kpi)
        ax.fill_between(x, group["low"], group["high"], color=line.get_color(), alpha=0.2)
    ax.set_xlabel(key)
    ax.set_ylabel(kpi)
    ax.set_title(f"{kpi} (mean, 95% band)")
    if by:
        ax.legend(fontsize=8)
    return ax


def pareto_curve(values, ax=None, cuts=(0.8, 0.95), label: str = "customers"):
    """The Pareto (concentration) curve: share of value against share of customers, largest
    first, with the ABC cuts (二八法则) marked."""
    ax = _axes(ax)
    x = np.sort(np.clip(np.asarray(values, dtype=float), 0, None))[::-1]
    share_value = np.r_[0, np.cumsum(x) / x.sum()] if x.sum() > 0 else np.zeros(len(x) + 1)
    share_customers = np.arange(len(x) + 1) / max(len(x), 1)
    ax.plot(share_customers, share_value, label=label)
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":", label="equal value")
    for cut, name in zip(cuts, "AB", strict=True):
        k = int(np.searchsorted(share_value[1:], cut))
        ax.axhline(cut, color="0.4", lw=0.6, ls="--")
        ax.annotate(f"{name}: {share_customers[k + 1]:.0%} of customers → {cut:.0%} of value",
                    (share_customers[k + 1], cut), textcoords="offset points", xytext=(-4, 4),
                    ha="right", fontsize=8)
    ax.set_xlabel("share of customers, most valuable first")
    ax.set_ylabel("share of value")
    ax.set_title("Pareto curve (ABC 分类)")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def adoption_curve(result, ax=None, closed_form=None):
    """Cumulative share of the market acquired against time (Bass diffusion), by source, with
    an optional closed form t → F(t)."""
    ax = _axes(ax)
    size = result.scenario.acquisition.market_size
    acquired = result.events[result.events["kind"] == "acquired"]
    horizon = result.scenario.horizon
    for label, group in [("all", acquired)] + list(acquired.groupby(
            acquired["details"].fillna("initial / paid"), sort=True)):
        times = np.sort(group["time"].to_numpy())
        ax.step(np.r_[0, times, horizon], np.r_[0, np.arange(1, len(times) + 1), len(times)]
                / size, where="post", label=label, lw=2 if label == "all" else 1)
    if closed_form is not None:
        grid = np.linspace(0, horizon, 200)
        ax.plot(grid, closed_form(grid), "k--", lw=1, label="closed form F(t)")
    ax.set_xlabel(f"time ({result.scenario.time_unit})")
    ax.set_ylabel("share of the market acquired")
    ax.set_title("Adoption (客户开发): word of mouth from a finite market")
    ax.legend(fontsize=8)
    return ax


LOYALTY_COLORS = {"true": "#31a354", "latent": "#9ecae1", "spurious": "#fd8d3c",
                  "none": "#bdbdbd"}


def loyalty_quadrant(result, ax=None):
    """Dick & Basu's quadrant: satisfaction (attitude) against repeat purchases (behaviour),
    active customers coloured by loyalty type."""
    ax = _axes(ax)
    customers = result.customers[result.customers["churned_at"].isna()]
    threshold = result.scenario.lifecycle.formation_after
    for kind, group in customers.groupby("loyalty_type", observed=True):
        ax.scatter(group["purchases"] - 1, group["satisfaction"], s=8, alpha=0.6,
                   color=LOYALTY_COLORS[kind], label=f"{kind} ({len(group)})")
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(threshold - 0.5, color="k", lw=0.8)
    ax.set_xlabel("repeat purchases (behaviour, 重复购买)")
    ax.set_ylabel("satisfaction (attitude, 态度)")
    ax.set_title("Loyalty types (忠诚类型): attitude × behaviour")
    ax.legend(fontsize=8, markerscale=2)
    return ax


def _save_figures(folder, figures) -> list:
    """Draw and save PNG files: ``figures`` yields (file stem, figsize, draw(fig)). Each file is
    written atomically (:func:`crmsim.outputs.atomic_file`): never half a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # files only: no window, works without a display
    from pathlib import Path

    import matplotlib.pyplot as plt

    from crmsim.outputs import atomic_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, figsize, draw in figures:
        fig = plt.figure(figsize=figsize)
        draw(fig)
        fig.tight_layout()
        path = folder / f"{stem}.png"
        try:
            with atomic_file(path) as handle:
                fig.savefig(handle, format="png", dpi=110)
        finally:
            plt.close(fig)
        paths.append(path)
    return paths


def save_sweep_plots(summary: pd.DataFrame, keys: list[str], folder, kpis) -> list:
    """One PNG per KPI: lines against the first swept key, one line per value of the second."""
    by = keys[1] if len(keys) > 1 else None
    return _save_figures(folder, [
        (f"sweep_{kpi}", (7, 4),
         lambda fig, kpi=kpi: sweep_lines(summary, keys[0], kpi, ax=fig.add_subplot(), by=by))
        for kpi in kpis if kpi in set(summary["kpi"])
    ])


def save_run_plots(result, folder) -> list:
    """The standard plots of one run as PNG files in ``folder`` (the desk's when there is one,
    the adoption curve in a finite market); returns the paths."""
    plots = [("lifecycle", lifecycle_area), ("money", money_over_time),
             ("survival", survival_curve)]
    if "desk_contacts" in result.timeseries:
        plots.append(("desk", desk_over_time))
    if result.scenario.acquisition.market_size is not None:
        plots.append(("adoption", adoption_curve))
    return _save_figures(folder, [
        (name, (7, 4), lambda fig, draw=draw: draw(result, ax=fig.add_subplot()))
        for name, draw in plots
    ])


def save_comparison_plots(comparison, folder, kpis=("profit", "npv_profit", "churned",
                                                   "mean_satisfaction")) -> list:
    """KPI interval plots of a comparison as one PNG file in ``folder``."""
    table = comparison.table
    available = [k for k in kpis if k in table.index.get_level_values("kpi")]

    def draw(fig):
        for row, kpi in enumerate(available):
            kpi_intervals(table, kpi, ax=fig.add_subplot(len(available), 1, row + 1))

    return _save_figures(folder, [("kpi_intervals", (7, 2.2 * len(available)), draw)])


use_style()
