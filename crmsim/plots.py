"""Plots with one consistent, readable style (used by the CLI, the notebooks and the docs).

Every function takes tables (a :class:`~crmsim.results.RunResult`, a comparison table) and an
optional matplotlib ``ax``, and returns the ``ax``; nothing here runs the model. Importing this
module applies :func:`use_style` (axes take their fonts when they are created, so the style
must be in place before the first figure).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim.experiment import format_number
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


def per_period_rates(result, columns) -> pd.DataFrame:
    """Flows of the timeseries as amounts per full reporting period, each drawn at the end of
    its period: a shorter last period (a horizon that is not a multiple of ``report_every``) is
    scaled up to a full one — or left out when it is shorter than half a period, too short to
    say much — instead of showing a fake crash; the opening row (what happened at t = 0, e.g.
    the initial customers' first purchases) is left out."""
    ts = result.timeseries
    length = ts["time"].diff()
    every = result.scenario.report_every
    keep = length >= every / 2
    rates = ts.loc[keep, columns].div(length[keep], axis=0) * every
    rates.insert(0, "time", ts.loc[keep, "time"])
    return rates


def money_over_time(result, ax=None):
    """Revenue, costs and profit per reporting period (a partial last period scaled to a full
    one, see :func:`per_period_rates`)."""
    ax = _axes(ax)
    rates = per_period_rates(result, ["revenue", "costs", "profit"])
    for column, style in (("revenue", "-"), ("costs", ":"), ("profit", "--")):
        ax.plot(rates["time"], rates[column], style, marker="o", ms=3, label=column)
    ax.axhline(0, color="black", lw=0.8)
    sc = result.scenario
    ax.set_xlabel(f"time ({sc.time_unit})")
    ax.set_ylabel(f"per {sc.report_every:g} {sc.time_unit}")
    ax.set_title("Revenue, costs and profit (收入、成本与利润)")
    ax.legend(fontsize=8)
    return ax


#: Reichheld & Sasser's profit components (:func:`crmsim.analysis.profit_by_tenure`), in the
#: order of their figure, with Chinese names and colours
TENURE_COMPONENTS = {
    "acquisition_cost": ("acquisition cost (获客成本)", "#969696"),
    "base_profit": ("base profit (基本利润)", "#08519c"),
    "increased_purchases": ("increased purchases (购买增加)", "#4292c6"),
    "reduced_operating_cost": ("reduced operating cost (服务成本降低)", "#9ecae1"),
    "referrals": ("referrals (推荐)", "#31a354"),
    "price_premium": ("price premium (溢价)", "#fdae6b"),
}


def profit_by_tenure(table: pd.DataFrame, ax=None, low=None, high=None, time_unit: str = "year"):
    """Reichheld & Sasser's figure: profit per customer in each year of tenure, stacked by
    where it comes from (a :func:`crmsim.analysis.profit_by_tenure` table, or its mean over
    replications), with the total's 95% interval when ``low`` / ``high`` are given."""
    ax = _axes(ax)
    years = table.index.to_numpy()
    up = np.zeros(len(table))
    down = np.zeros(len(table))
    for column, (label, color) in TENURE_COMPONENTS.items():
        values = table[column].to_numpy(dtype=float)
        if not np.any(values):
            continue
        bottom = np.where(values >= 0, up, down)
        ax.bar(years, values, bottom=bottom, color=color, label=label, width=0.8)
        up += np.clip(values, 0, None)
        down += np.clip(values, None, 0)
    total = table["profit"].to_numpy(dtype=float)
    if low is not None and high is not None:
        low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
        ax.errorbar(years, total, yerr=[total - low, high - total], fmt="o", color="black",
                    ms=3, capsize=3, label="profit (95% interval)")
    else:
        ax.plot(years, total, "o", color="black", ms=3, label="profit")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(f"{time_unit} of tenure (0 = the first {time_unit})")
    ax.set_ylabel(f"profit per customer in that {time_unit}")
    ax.set_title("Profit per customer by tenure (客户保持的利润效应, Reichheld & Sasser)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


#: KPIs that are scores centred on 0, not amounts: mean satisfaction is the experience against
#: the market norm (0 = as good as the market), so a percentage of it means nothing
SCORE_KPIS = frozenset({"mean_satisfaction"})


def paired_differences(comparison, kpis, ax=None, scenario: str | None = None,
                       relative: bool = True):
    """Paired differences against the reference scenario (common random numbers) with their
    95% intervals: what a policy changed, and whether the change is sure (an interval that does
    not cross 0).

    ``comparison`` is a :class:`~crmsim.experiment.Comparison`; ``scenario`` picks one
    alternative (default: every one). On a given ``ax`` every KPI is one row of one axis, as a
    percentage of the reference's mean when ``relative`` (so KPIs of different sizes share the
    axis; choose KPIs whose reference mean is not near zero) — unless a KPI is 0 in the
    reference (e.g. the offers of a policy the reference does not run), which has no
    percentage: then every difference is drawn as it is. A score centred on 0
    (:data:`SCORE_KPIS`: mean satisfaction) has no percentage either: it is left out of a
    relative axis and named under it (its difference is in the comparison's tables). Without
    ``ax`` each KPI gets an axis of its own in its own units (a new figure); the axes are
    returned (one Axes for one KPI, an array of them for several).
    """
    if ax is None:
        import matplotlib.pyplot as plt

        use_style()
        kpis = [k for k in kpis if k in set(comparison.differences.index.get_level_values("kpi"))]
        fig, axes = plt.subplots(len(kpis), 1, figsize=(7, 1.1 + 1.0 * len(kpis)),
                                 squeeze=False)
        for row, kpi in enumerate(kpis):
            paired_differences(comparison, [kpi], ax=axes[row, 0], scenario=scenario,
                               relative=False)
            axes[row, 0].set_title(kpi if row else f"Paired differences (配对差异): {kpi}",
                                   fontsize=10)
            axes[row, 0].set_xlabel("")
        axes[-1, 0].set_xlabel(f"difference against '{next(iter(comparison.scenarios))}' "
                               "(mean and 95% interval, in each KPI's units)")
        fig.tight_layout()
        return axes[0, 0] if len(kpis) == 1 else axes[:, 0]
    ax = _axes(ax)
    diff = comparison.differences.reset_index()
    diff = diff[diff["kpi"].isin(list(kpis))]
    if scenario is not None:
        diff = diff[diff["scenario"] == scenario]
    reference = next(iter(comparison.scenarios))
    scale = np.ones(len(diff))
    scores = diff["kpi"].isin(SCORE_KPIS).to_numpy()
    left_out = list(dict.fromkeys(diff["kpi"][scores])) if relative and not scores.all() else []
    if left_out:
        diff = diff[~scores]
        scale = np.ones(len(diff))
    relative = relative and not scores.all()
    if relative:
        base = comparison.table["mean"].xs(reference, level="scenario")
        base = base.reindex(diff["kpi"]).abs().to_numpy()
        relative = bool(np.all(base > 0))
        if relative:
            scale = 100 / base
    mean, low, high = (diff[c].to_numpy() * scale for c in ("mean", "low", "high"))
    several = scenario is None and diff["scenario"].nunique() > 1
    labels = [f"{k} — {s}" if several else (s if len(kpis) == 1 and several else k)
              for s, k in zip(diff["scenario"], diff["kpi"])]
    if len(set(diff["kpi"])) == 1 and diff["scenario"].nunique() > 1:
        labels = list(diff["scenario"])
    y = np.arange(len(diff))
    ax.errorbar(mean, y, xerr=[mean - low, high - mean], fmt="o", capsize=4)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    unit = "% of" if relative else "against"
    note = (f"\n(no percentage of a score around 0: {', '.join(left_out)})" if left_out
            else "")
    ax.set_xlabel(f"difference, {unit} '{reference}' (mean and 95% interval){note}")
    ax.set_title("Paired differences (配对差异)")
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
    (lines, right axis) — where understaffing shows. Contacts are counted per full reporting
    period: a short last period is scaled up to a full one, or left out when shorter than half
    a period (see :func:`per_period_rates`), so the bars do not end in a fake drop."""
    ax = _axes(ax)
    table = result.timeseries
    if "desk_contacts" not in table:
        ax.set_title("no service desk in this scenario")
        return ax
    contacts = per_period_rates(result, ["desk_contacts"])
    rows = table.loc[contacts.index]  # each row holds the period (previous time, its time]
    ends = rows["time"].to_numpy()
    widths = ends - table["time"].shift().loc[contacts.index].to_numpy()
    starts = ends - widths
    middles = starts + widths / 2
    ax.bar(starts, contacts["desk_contacts"], width=0.9 * widths, color="#c6dbef",
           align="edge", label="contacts offered")
    sc = result.scenario
    ax.set_xlabel(f"time ({sc.time_unit})")
    ax.set_ylabel(f"contacts per {sc.report_every:g} {sc.time_unit}")
    right = ax.twinx()
    right.plot(middles, rows["desk_service_level"], "o-", color="#08519c", label="service level")
    right.plot(middles, rows["desk_abandon_rate"], "s--", color="#e6550d", label="abandon rate")
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
    ax.set_title(f"{kpi}: mean and 95% interval (均值与95%置信区间)")
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


#: the hidden campaign response types, with their Chinese names, in the order of their scale
RESPONSE_TYPES = {"lost_cause": ("无动于衷", "#bdbdbd"), "persuadable": ("可说服", "#31a354"),
                  "do_not_disturb": ("勿扰", "#e6550d"), "sure_thing": ("必然购买", "#fdae6b")}


def campaign_profits(table: pd.DataFrame, ax=None,
                     measured: str = "campaign_incremental_profit_measured",
                     true: str = "campaign_incremental_profit_true"):
    """Measured (treated vs control) and true (against the counterfactual) incremental profit
    of each scenario: mean and 95% interval over replications (a :attr:`Comparison.table`)."""
    ax = _axes(ax)
    for offset, kpi, style, label in ((0.15, true, "o", "true 真实"),
                                      (-0.15, measured, "s", "measured 测量 (vs control)")):
        rows = table.xs(kpi, level="kpi")
        y = np.arange(len(rows)) + offset
        ax.errorbar(rows["mean"], y, xerr=[rows["mean"] - rows["low"],
                                           rows["high"] - rows["mean"]],
                    fmt=style, capsize=3, label=label,
                    mfc="white" if kpi == measured else None)
    ax.set_yticks(np.arange(len(rows)), rows.index)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("incremental profit (mean and 95% interval over replications)")
    ax.set_title("增量利润: 测量 vs 真实 — Incremental profit, measured vs true")
    ax.legend(fontsize=8)
    return ax


def measured_vs_true(waves: pd.DataFrame, ax=None):
    """One campaign wave per row (e.g. one per replication): the measured incremental revenue
    with its 95% interval (treated vs control) and the true one (against the counterfactual);
    intervals that miss the truth in red."""
    ax = _axes(ax)
    y = np.arange(len(waves))
    low, high = waves["measured_low"].to_numpy(), waves["measured_high"].to_numpy()
    true = waves["true"].to_numpy()
    missed = (true < low) | (true > high)
    for miss, color in ((False, "#4292c6"), (True, "#e6550d")):
        rows = missed == miss
        ax.errorbar(waves["measured"].to_numpy()[rows], y[rows],
                    xerr=[(waves["measured"] - low).to_numpy()[rows],
                          (high - waves["measured"]).to_numpy()[rows]],
                    fmt="s", mfc="white", color=color, capsize=3,
                    label="measured 测量, 95% interval" + (" (misses the truth)" if miss else ""))
    ax.scatter(true, y, marker="o", color="black", zorder=3, label="true 真实")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [str(i) for i in waves.index])
    ax.set_xlabel("incremental revenue of the campaign")
    ax.set_title(f"测量区间与真实值 — {int((~missed).sum())} of {len(waves)} intervals cover "
                 "the truth")
    ax.legend(fontsize=8)
    return ax


def response_mix(counts: pd.DataFrame, ax=None):
    """Who a target group holds: stacked shares of the hidden response types per group
    (``counts``: one row per group, one column per type)."""
    ax = _axes(ax)
    shares = counts.div(counts.sum(axis=1), axis=0)
    left = np.zeros(len(shares))
    for kind, (chinese, color) in RESPONSE_TYPES.items():
        if kind not in shares:
            continue
        ax.barh(np.arange(len(shares)), shares[kind], left=left, color=color,
                label=f"{kind} ({chinese})")
        left += shares[kind].to_numpy()
    ax.set_yticks(np.arange(len(shares)), shares.index)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the customers contacted")
    ax.set_title("目标客户的隐藏类型 — Who was contacted (hidden response types)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
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


def holdout_tracking(check, ax=None):
    """The tracking plot (Fader, Hardie & Lee 2005, Fig. 2): cumulative repeat transactions
    period by period, actual against the digital twin (mean and the 95% range of its runs) and
    the closed forms, with the calibration end marked. ``check`` is a
    :class:`crmsim.holdout_check.Holdout` (or a closed-form ``HoldoutCheck``)."""
    ax = _axes(ax)
    t = check.tracking
    x = t["date"] if "date" in t else t["time"]
    ax.plot(x, t["actual"], color="black", lw=1.8, label="actual 实际")
    ax.plot(x, t["expected"], ":", color="grey", lw=1.2,
            label="BG/NBD, unconditional 无条件期望")
    if "twin" in t:
        ax.fill_between(x, t["twin_low"], t["twin_high"], color="#4292c6", alpha=0.25, lw=0,
                        label="twin, 95% of runs")
        ax.plot(x, t["twin"], color="#08519c", lw=1.5, label="digital twin 数字孪生 (mean)")
    ax.plot(x, t["expected_conditional"], "--", color="#fd8d3c", lw=1.2,
            label="BG/NBD, conditional 条件期望")
    end = x[t["expected_conditional"].notna()].iloc[0]
    ax.axvline(end, color="black", lw=0.8, ls="-.")
    ax.annotate(" calibration end 校准期结束", (end, 0), xycoords=("data", "axes fraction"),
                va="bottom", fontsize=8)
    unit = getattr(check, "time_unit", "time unit")
    ax.set_xlabel("date" if "date" in t else f"time ({unit})")
    ax.set_ylabel("cumulative repeat transactions")
    ax.set_title("Tracking plot: cumulative repeat purchases (累计重复购买)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def holdout_by_frequency(check, ax=None):
    """Mean holdout purchases by calibration-period frequency (FHL 2005, Fig. 4): actual, the
    digital twin and the closed-form conditional expectation."""
    ax = _axes(ax)
    table = check.by_frequency
    x = np.arange(len(table))
    ax.plot(x, table["actual"], "o-", color="black", label="actual 实际")
    if "twin" in table:
        ax.plot(x, table["twin"], "s-", color="#08519c", ms=5, label="digital twin 数字孪生")
    ax.plot(x, table["expected"], "--", color="#fd8d3c", label="BG/NBD, conditional 条件期望")
    ax.set_xticks(x, table.index)
    ax.set_xlabel("repeat purchases in the calibration period (校准期重复购买次数)")
    ax.set_ylabel("mean purchases in the holdout period")
    ax.set_title("Holdout purchases by calibration frequency (留出期检验)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def save_holdout_plots(check, folder) -> list:
    """The two holdout plots (tracking, by frequency) as PNG files in ``folder``."""
    return _save_figures(folder, [
        ("holdout_tracking", (8, 4.5), lambda fig: holdout_tracking(check, ax=fig.add_subplot())),
        ("holdout_by_frequency", (7, 4),
         lambda fig: holdout_by_frequency(check, ax=fig.add_subplot())),
    ])

#: Dick & Basu's loyalty types with the course's Chinese names
LOYALTY_NAMES = {"true": "true loyalty (真正忠诚)", "latent": "latent (潜在忠诚)",
                 "spurious": "spurious (虚假忠诚)", "none": "no loyalty (无忠诚)"}


def churn_by_loyalty(result, ax=None):
    """Churn after the loyalty reference time by Dick & Basu type (the ``churn_rate_*`` KPIs):
    spurious loyalty (repeat buying without satisfaction) is the one that leaves when a barrier
    falls."""
    ax = _axes(ax)
    kinds = [k for k in LOYALTY_NAMES if f"churn_rate_{k}" in result.kpis]
    rates = [result.kpis[f"churn_rate_{k}"] for k in kinds]
    bars = ax.bar(range(len(kinds)), np.nan_to_num(rates),
                  color=[LOYALTY_COLORS[k] for k in kinds])
    for bar, rate in zip(bars, rates):
        ax.annotate("n/a" if rate != rate else f"{rate:.0%}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize=9)
    ax.set_xticks(range(len(kinds)), [LOYALTY_NAMES[k] for k in kinds], fontsize=8)
    ax.set_ylabel("share who churned")
    ax.set_title("Churn by loyalty type (忠诚类型与流失)")
    return ax


def difference_intervals(comparison, kpis, scenario: str, ax=None):
    """Paired differences of ``scenario`` against the first scenario of a
    :class:`~crmsim.experiment.Comparison`, with their 95% intervals, one row per KPI, each as a
    share of the baseline's mean so that money and counts share one axis. Green: reliably
    higher, orange: reliably lower, grey: the interval covers 0 (no evidence of a difference)."""
    ax = _axes(ax)
    reference = next(iter(comparison.scenarios))
    table = comparison.differences.xs(scenario, level="scenario")
    rows = table.loc[[k for k in kpis if k in table.index]]
    base = comparison.table["mean"].xs(reference, level="scenario").reindex(rows.index).abs()
    base = base.where(base > 0)
    y = np.arange(len(rows))[::-1]
    mean, low, high = rows["mean"] / base, rows["low"] / base, rows["high"] / base
    colors = ["#31a354" if lo > 0 else "#e6550d" if hi < 0 else "0.5"
              for lo, hi in zip(low, high)]
    for yi, m, lo, hi, color in zip(y, mean, low, high, colors):
        ax.errorbar([m], [yi], xerr=[[m - lo], [hi - m]], fmt="o", color=color, capsize=4)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, rows.index)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.1%}")
    ax.set_xlabel(f"{scenario} − {reference}, share of the baseline mean (paired, 95% interval)")
    ax.set_title("Difference to the baseline (与基准的差异)")
    return ax


def leaderboard_chart(board: pd.DataFrame, objective: str, ax=None):
    """A class leaderboard (:func:`crmsim.tournament.leaderboard`): each team's objective mean
    with its 95% interval, best first; the leader green, teams tied with it light green,
    disqualified teams grey."""
    ax = _axes(ax)
    y = np.arange(len(board))[::-1]
    status = board["status"].astype(str)
    colors = ["#31a354" if s == "leader" else "#a1d99b" if s == "tied with leader"
              else "#bdbdbd" if s.startswith("disqualified") else "#4292c6" for s in status]
    mean = board["objective_mean"].to_numpy(float)
    low = board["objective_low"].to_numpy(float)
    high = board["objective_high"].to_numpy(float)
    ax.barh(y, mean, color=colors, height=0.6)
    ax.errorbar(mean, y, xerr=[mean - low, high - mean], fmt="none", ecolor="black", capsize=4)
    labels = [f"{int(r)}. {t}" if pd.notna(r) else f"DQ  {t}"
              for r, t in zip(board["rank"], board["team"])]
    ax.set_yticks(y, labels)
    for yi, s, d, lo, hi, top in zip(y, status, board["difference"], board["difference_low"],
                                     board["difference_high"], high):
        if s == "leader":
            note = "leader (领先)"
        elif s.startswith("disqualified"):
            note = "disqualified (取消资格)"
        else:
            note = f"{format_number(d, sign=True)} [{format_number(lo, sign=True)}, " \
                   f"{format_number(hi, sign=True)}]" + (" tied (持平)" if s == "tied with leader"
                                                        else "")
        ax.annotate(note, (top, yi), textcoords="offset points", xytext=(6, 0), va="center",
                    fontsize=8)
    ax.margins(x=0.25)
    ax.set_xlabel(f"{objective}: mean and 95% interval; right: paired difference to the leader")
    ax.set_title("Leaderboard (排行榜)")
    return ax


def save_leaderboard_plot(board: pd.DataFrame, summary: dict, folder):
    """The leaderboard chart as ``leaderboard.png`` in ``folder``; returns its path."""
    height = 1.2 + 0.55 * max(len(board), 1)
    (path,) = _save_figures(folder, [(
        "leaderboard", (8, height),
        lambda fig: leaderboard_chart(board, summary["objective"], ax=fig.add_subplot()))])
    return path


def _save_figures(folder, figures) -> list:
    """Draw and save PNG files: ``figures`` yields (file stem, figsize, draw(fig)). Each file is
    written atomically (:func:`crmsim.outputs.atomic_file`): never half a PNG.

    The figures are drawn without pyplot (a bare :class:`matplotlib.figure.Figure` renders to
    PNG by itself): no window, no display needed, and the backend of the caller — a notebook's
    inline plots — is left alone."""
    from pathlib import Path

    from matplotlib.figure import Figure

    from crmsim.outputs import atomic_file

    use_style()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, figsize, draw in figures:
        fig = Figure(figsize=figsize)
        draw(fig)
        fig.tight_layout()
        path = folder / f"{stem}.png"
        with atomic_file(path) as handle:
            fig.savefig(handle, format="png", dpi=110)
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
    """A comparison's plots in ``folder``: each scenario's KPI intervals (kpi_intervals.png)
    and, with more than one scenario, the paired differences against the first
    (differences.png) — the figure that says whether a policy changed something, since
    overlapping intervals of two scenarios can still hide a sure paired difference."""
    table = comparison.table
    available = [k for k in kpis if k in table.index.get_level_values("kpi")]

    def draw(fig):
        for row, kpi in enumerate(available):
            kpi_intervals(table, kpi, ax=fig.add_subplot(len(available), 1, row + 1))

    def differences(fig):
        for row, kpi in enumerate(available):
            ax = fig.add_subplot(len(available), 1, row + 1)
            paired_differences(comparison, [kpi], ax=ax, relative=False)
            ax.set_title(f"{kpi}: paired difference (配对差异) and 95% interval", fontsize=10)
            ax.set_xlabel(f"against '{next(iter(comparison.scenarios))}'")

    figures = [("kpi_intervals", (7, 2.2 * len(available)), draw)]
    if len(comparison.scenarios) > 1 and available:
        others = len(comparison.scenarios) - 1
        figures.append(("differences", (7, (1.0 + 0.4 * others) * len(available) + 0.6),
                        differences))
    return _save_figures(folder, figures)


use_style()
