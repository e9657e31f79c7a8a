"""Manifests: everything needed to repeat a run, a comparison or a sweep exactly.

``crmsim run|compare|sweep --out DIR`` writes ``DIR/manifest.json`` next to its tables: the kind
of experiment, the fully resolved scenarios (no ``extends:`` left, so the files may change later
without changing the record), the seed, the number of replications, the grid of a sweep, and the
versions of crmsim, Python and the libraries whose numbers could differ. ``crmsim rerun
DIR/manifest.json`` runs it again and reports whether every KPI is identical.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from crmsim.errors import ScenarioError
from crmsim.scenario import Scenario, from_dict

FORMAT = 1
KINDS = ("run", "compare", "sweep")
_LIBRARIES = ("crmsim", "numpy", "scipy", "pandas", "simpy", "pydantic")


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries that determine the numbers."""
    found = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
            found[name] = "unknown"
    return found


def build(kind: str, scenarios: dict[str, Scenario], seed: int, replications: int = 1,
          grid: dict[str, list] | None = None) -> dict[str, Any]:
    """The manifest of an experiment (plain JSON-able data)."""
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r}: one of {', '.join(KINDS)}")
    return {
        "crmsim_manifest": FORMAT,
        "kind": kind,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": sys.argv,
        "seed": seed,
        "replications": replications,
        "grid": grid,
        "scenarios": {label: sc.to_dict() for label, sc in scenarios.items()},
        "versions": versions(),
    }


def write(manifest: dict[str, Any], folder: Path) -> Path:
    path = Path(folder) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a manifest (a file, or the folder that holds ``manifest.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"manifest not found: {path}") from None
    except json.JSONDecodeError as err:
        raise ScenarioError(f"{path}: not a crmsim manifest ({err.msg} at line {err.lineno})"
                            ) from None
    if not isinstance(manifest, dict) or manifest.get("crmsim_manifest") != FORMAT:
        raise ScenarioError(f"{path}: not a crmsim manifest (format {FORMAT} expected)")
    return manifest


def scenarios_of(manifest: dict[str, Any]) -> dict[str, Scenario]:
    return {label: from_dict(data, source=f"manifest scenario {label!r}")
            for label, data in manifest["scenarios"].items()}


def rerun(manifest: dict[str, Any], executor="serial", jobs: int | None = None,
          progress: bool = True) -> pd.DataFrame:
    """Run a manifest's experiment again; returns its tidy KPI table."""
    from crmsim.experiment import compare, sweep
    from crmsim.simulation import simulate

    scenarios = scenarios_of(manifest)
    seed, replications = manifest["seed"], manifest["replications"]
    if manifest["kind"] == "run":
        (label, scenario), = scenarios.items()
        kpis = simulate(scenario, seed).kpis
        return pd.DataFrame({"scenario": label, "kpi": list(kpis), "value": list(kpis.values())})
    if manifest["kind"] == "compare":
        return compare(scenarios, replications, seed, executor, jobs, progress).kpis
    (scenario,) = scenarios.values()
    return sweep(scenario, manifest["grid"], replications, seed, executor, jobs, progress)


def differences(recorded: pd.DataFrame, repeated: pd.DataFrame) -> pd.DataFrame:
    """Rows whose KPI value differs between a recorded and a repeated KPI table."""
    keys = [c for c in recorded.columns if c != "value"]
    merged = recorded.merge(repeated, on=keys, how="outer", suffixes=("_recorded", "_repeated"),
                            indicator=True)
    same = (merged["value_recorded"] == merged["value_repeated"]) | (
        merged["value_recorded"].isna() & merged["value_repeated"].isna())
    return merged[~same | (merged["_merge"] != "both")].drop(columns="_merge")
