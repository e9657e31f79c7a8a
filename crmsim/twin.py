"""The digital twin (数字孪生) of a calibrated shop: a scenario whose customers are the shop's.

A :class:`~crmsim.calibration.Calibration` knows, for each customer of the log, its history —
first purchase, repeat purchases x, last purchase t_x, age T, money spent — and the posterior
of its hidden traits given that history (Fader, Hardie & Lee 2005): P(alive), the purchase rate
λ ~ Gamma(r + x, α + T) and drop-out probability p ~ Beta(a, b + x) if it is still active
(Gamma(r + x, α + t_x) and Beta(a + 1, b + x − 1) if it has gone), and its spend rate
ν ~ Gamma(p x + q, γ + x z̄) (the prior Gamma(q, γ) without repeat purchases). This module
writes them as a population file (:mod:`crmsim.model.population`) and builds the scenario around
it:

* the time unit is the calibration's; t = 0 is the calibration end, so a customer's acquisition
  time is −T and its last purchase t_x − T;
* new customers get the fitted population distributions: ``purchase.rate`` Gamma(r, α),
  ``churn.base`` Beta(a, b), ``purchase.spend`` Gamma–Gamma(p, q, γ), and arrive at the rate of
  first purchases observed in the last quarter of the calibration period (none for a cohort such
  as the CDNOW sample), as paid acquisition at an unknown cost (0: set yours);
* every churn coefficient β is 0 and every policy is off: the run *is* the fitted BG/NBD and
  Gamma–Gamma model, conditioned on each customer's history (what :func:`crmsim.holdout`
  checks). A policy added to it acts through its own response parameters, which a transaction
  log cannot tell: they are assumptions of whoever adds the policy.

:meth:`Calibration.to_yaml <crmsim.calibration.Calibration.to_yaml>` writes the scenario as a
readable YAML file with the fitted values and their origin in comments, and the population as
a Parquet file beside it; :attr:`Calibration.scenario <crmsim.calibration.Calibration.scenario>`
is the same scenario in memory (its population file is kept in a cache folder, named by its
content).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from crmsim.errors import ScenarioError
from crmsim.transaction_log import TIME_UNITS

if TYPE_CHECKING:
    from crmsim.calibration import Calibration
    from crmsim.scenario import Scenario

#: one year and one reporting period in each time unit of a calibration
HORIZON = {"day": 365.0, "week": 52.0, "month": 12.0, "year": 1.0}
REPORT_EVERY = {"day": 7.0, "week": 1.0, "month": 1.0, "year": 1.0 / 12}
#: the share of the calibration period (its end) whose first purchases give the acquisition rate
ACQUISITION_WINDOW = 0.25
#: the margin rate written into a twin: an assumption (a transaction log has revenue only)
ASSUMED_MARGIN_RATE = 0.3


def population_table(calibration: Calibration) -> pd.DataFrame:
    """The calibration's customers as a population table (:mod:`crmsim.model.population`),
    one row per customer in the order of ``calibration.summary`` (twin customer k is row k),
    with the shop's ``customer_id`` and the summary the fit saw kept for readers."""
    s = calibration.summary
    x, t_x, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return pd.DataFrame({
        "customer_id": s.index.to_numpy(),
        "acquired_at": -T,
        "purchases": (x + 1).astype(np.int64),
        "last_purchase": t_x - T,
        "revenue": s["revenue"].to_numpy(float),
        "p_alive": s["p_alive"].to_numpy(float),
        "purchase_rate_shape": s["rate_shape"].to_numpy(float),
        "purchase_rate_rate": s["rate_rate_alive"].to_numpy(float),
        "purchase_rate_rate_dead": s["rate_rate_dead"].to_numpy(float),
        "churn_propensity_a": s["dropout_a_alive"].to_numpy(float),
        "churn_propensity_b": s["dropout_b_alive"].to_numpy(float),
        "churn_propensity_a_dead": s["dropout_a_dead"].to_numpy(float),
        "churn_propensity_b_dead": s["dropout_b_dead"].to_numpy(float),
        "spend_rate_shape": s["spend_shape"].to_numpy(float),
        "spend_rate_rate": s["spend_rate"].to_numpy(float),
        "frequency": s["frequency"].to_numpy(),
        "recency": t_x,
        "T": T,
        "monetary_value": s["monetary_value"].to_numpy(float),
    })


def acquisition_rate(calibration: Calibration) -> tuple[float, int, float, float]:
    """(rate, first purchases, window start, window length): first purchases per time unit in
    the last :data:`ACQUISITION_WINDOW` of the calibration period."""
    end, start = calibration.calibration_end, calibration.start
    length = (end - start) * ACQUISITION_WINDOW
    since = end - length
    first = calibration.summary["first_purchase"].to_numpy(float)
    count = int((first > since).sum())
    return (count / length if length > 0 else 0.0), count, since, length


def scenario_data(calibration: Calibration, population: str) -> dict[str, Any]:
    """The twin scenario as plain data, its population file at ``population``."""
    params = calibration.params
    rate, _, _, _ = acquisition_rate(calibration)
    unit = calibration.time_unit
    if not params["q"] > 1:
        raise ScenarioError(f"Gamma-Gamma q = {params['q']:.4g}: a twin needs q > 1 (mean spend "
                            "finite); the spend fit of this log is not usable", calibration.source)
    return {
        "name": "twin",
        "description": f"Digital twin (数字孪生) of {Path(calibration.source).name}: its "
                       f"{len(calibration.summary)} customers at {_when(calibration)}, "
                       "BG/NBD and Gamma-Gamma fitted to its log",
        "time_unit": unit,
        "horizon": HORIZON[unit],
        "report_every": REPORT_EVERY[unit],
        "market": {"setting": "noncontractual"},
        "customers": {"population": population, "initial": len(calibration.summary)},
        "purchase": {
            "rate": {"dist": "gamma", "shape": params["r"], "rate": params["alpha"]},
            "spend": {"dist": "gamma_gamma", "p": params["p"], "q": params["q"],
                      "gamma": params["gamma"]},
        },
        "churn": {"base": {"dist": "beta", "a": params["a"], "b": params["b"]}},
        "acquisition": {"rate": rate, "cost_per_acquisition": 0.0},
        "economics": {"margin_rate": ASSUMED_MARGIN_RATE},
    }


def _when(calibration: Calibration) -> str:
    date = calibration.calibration_end_date
    return (str(date.date()) if date is not None
            else f"t = {calibration.calibration_end:g} {calibration.time_unit}s")


def _parquet_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def cache_folder() -> Path:
    """Where in-memory twins keep their population files: ``$CRMSIM_CACHE`` or
    ``<temp>/crmsim-populations``."""
    return Path(os.environ.get("CRMSIM_CACHE") or Path(tempfile.gettempdir())
                / "crmsim-populations")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def cached_population(calibration: Calibration) -> str:
    """The calibration's population file in the cache folder (written once, named by the
    SHA-256 of its content); its path."""
    data = _parquet_bytes(population_table(calibration))
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"population-{hashlib.sha256(data).hexdigest()[:20]}.parquet"
    if not path.exists():
        _write_atomically(path, data)
    return str(path)


def twin_scenario(calibration: Calibration) -> Scenario:
    """The twin scenario in memory (see the module docstring)."""
    from crmsim.scenario import from_dict

    return from_dict(scenario_data(calibration, cached_population(calibration)),
                     source=f"twin of {calibration.source}")


# ------------------------------------------------------------------------------ the YAML file


def _scalar(value) -> str:
    """A value as YAML that reads back exactly (floats in full precision)."""
    if isinstance(value, str):
        simple = value.replace("_", "").replace(".", "").replace("-", "").isalnum()
        if simple and value.isascii() and yaml.safe_load(value) == value:
            return value  # reads back as this string: no quotes needed
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return yaml.safe_dump(value).splitlines()[0]
    return str(value)


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _fit_line(calibration: Calibration, names) -> str:
    parts = []
    for name in names:
        row = calibration.fit.loc[name]
        parts.append(f"{name} = {row['estimate']:.4g} (SE {row['se']:.2g}, 95% "
                     f"{row['low']:.3g}–{row['high']:.3g})")
    return ", ".join(parts)


def yaml_text(calibration: Calibration, population: str) -> str:
    """The twin scenario as a commented YAML file whose population file is ``population``
    (relative to the YAML file)."""
    from crmsim import __version__

    data = scenario_data(calibration, population)
    report = calibration.report
    unit = calibration.time_unit
    rate, first_buyers, since, window = acquisition_rate(calibration)

    def describe(t: float) -> str:
        if calibration.origin is None:
            return f"{t:g}"
        return str((calibration.origin + pd.Timedelta(days=t * TIME_UNITS[unit])).date())

    s = calibration.summary
    spend = calibration.diagnostics.get("Gamma-Gamma", {})
    lines = [
        "# crmsim digital twin (数字孪生): a shop's customers, calibrated on its transaction log.",
        f"# Written by crmsim {__version__} on {_dt.date.today().isoformat()} "
        "(crmsim.calibrate + Calibration.to_yaml).",
        "#",
        f"# Log: {calibration.source}",
        f"#   {report.get('rows_read', 0)} rows read, {report.get('transactions', 0)} purchases "
        f"after combining a customer's rows of one day ({report.get('same_day_rows_combined', 0)} "
        f"rows combined, {report.get('duplicate_rows_kept', 0)} exact duplicates kept, "
        f"{report.get('duplicate_rows_dropped', 0)} dropped)",
        f"#   calibration period {describe(calibration.start)} – {describe(calibration.calibration_end)}"
        f" ({calibration.calibration_end - calibration.start:.4g} {unit}s); t = 0 of the twin is "
        "its end",
        f"#   {len(s)} customers, {int(s['frequency'].sum())} repeat purchases, "
        f"{report.get('repeat_customers', 0)} customers bought again; customers first "
        f"seen after the end (not in the twin): {report.get('customers_after_calibration_end', 0)}",
        "#",
        "# Fitted by maximum likelihood (standard errors from the Hessian):",
        "#   BG/NBD (Fader, Hardie & Lee 2005, Marketing Science), all customers, log-likelihood "
        f"{calibration.log_likelihood:.2f}:",
        f"#     {_fit_line(calibration, ('r', 'alpha'))},",
        f"#     {_fit_line(calibration, ('a', 'b'))}",
        "#   Gamma-Gamma spend (Fader, Hardie & Lee 2005, JMR), on the "
        f"{report.get('spend_fit_customers', 0)} repeat customers, log-likelihood "
        f"{calibration.spend_log_likelihood:.2f}:",
        f"#     {_fit_line(calibration, ('p', 'q', 'gamma'))}",
        f"#   (optimiser: {spend.get('agreeing_starts', '?')} of {spend.get('starts', '?')} starts "
        "agreed on the spend fit; see Calibration.diagnostics)",
        "#",
        "# Fitted: purchase.rate, churn.base, purchase.spend, acquisition.rate and the population.",
        "# Assumed (a transaction log cannot tell them): economics, satisfaction, the customers'",
        "# price sensitivity and complaint propensity, and every response parameter of a policy",
        "# added to this twin. Every churn coefficient is 0 and every policy off: as written, the",
        "# twin is the fitted model conditioned on each customer's history.",
        "",
        f"name: {_scalar(data['name'])}",
        f"description: {_scalar(data['description'])}",
        f"time_unit: {unit}",
        f"horizon: {_scalar(data['horizon'])}            # one year; holdout checks set their own",
        f"report_every: {_scalar(data['report_every'])}",
        "market:",
        "  setting: noncontractual",
        "customers:",
        "  # one row per customer of the log (twin customer k = row k): its history (acquired_at,",
        "  # purchases, last_purchase, revenue before t = 0) and the posterior of its hidden",
        "  # traits given that history: p_alive; λ ~ Gamma(r + x, α + T) and p ~ Beta(a, b + x)",
        "  # if active, Gamma(r + x, α + t_x) and Beta(a + 1, b + x − 1) if gone; ν ~ Gamma(p x + q,",
        "  # γ + x z̄). Each run draws them from each customer's own random numbers.",
        f"  population: {_scalar(population)}",
        f"  initial: {len(s)}",
        "  # mean P(alive) at the calibration end: "
        f"{s['p_alive'].mean():.4f} (expected active customers {s['p_alive'].sum():.1f})",
        "purchase:",
        "  # new customers' purchase rate λ ~ Gamma(r, α) per " + unit,
        f"  rate: {_flow(data['purchase']['rate'])}",
        "  # spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, γ); population mean p γ / (q − 1) = "
        f"{calibration.params['p'] * calibration.params['gamma'] / (calibration.params['q'] - 1):.4g}",
        f"  spend: {_flow(data['purchase']['spend'])}",
        "churn:",
        "  # new customers' drop-out probability after each repeat purchase, p ~ Beta(a, b)",
        f"  base: {_flow(data['churn']['base'])}",
        "acquisition:",
        f"  # first purchases in the last quarter of the calibration period ({describe(since)} – "
        f"{describe(calibration.calibration_end)}): {first_buyers} in {window:.4g} {unit}s",
        f"  rate: {_scalar(float(rate))}",
        "  cost_per_acquisition: 0.0   # unknown from a transaction log: set yours",
        "economics:",
        f"  margin_rate: {_scalar(ASSUMED_MARGIN_RATE)}   # assumed: set your shop's margin",
        "",
    ]
    return "\n".join(lines)


def write_twin(calibration: Calibration, path, population: str | None = None) -> Path:
    """Write the twin: ``path`` (YAML) and its population file beside it (default
    ``<stem>_population.parquet``). Checks the scenario first, so a problem writes nothing;
    returns the YAML path."""
    from crmsim.scenario import from_dict

    path = Path(path)
    name = population or f"{path.stem}_population.parquet"
    if Path(name).name != name:
        raise ScenarioError(f"population = {name!r}: a file name (it is written beside "
                            f"{path.name})")
    if not path.parent.is_dir():
        raise ScenarioError(f"{path}: the folder {path.parent} does not exist")
    data = _parquet_bytes(population_table(calibration))
    text = yaml_text(calibration, name)
    # validate what will be written (the population from a cached copy of the same bytes)
    from_dict(scenario_data(calibration, cached_population(calibration)),
              source=f"twin of {calibration.source}")
    _write_atomically(path.with_name(name), data)
    _write_atomically(path, text.encode("utf-8"))
    return path
