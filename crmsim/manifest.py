"""Manifests: everything needed to repeat a run, a comparison or a sweep exactly.

``crmsim run|compare|sweep --out DIR`` writes ``DIR/manifest.json`` after its tables (the last
file: a folder with a manifest is complete): the kind of experiment, the fully resolved
scenarios (no ``extends:`` left, so the files may change later without changing the record), the
seed, the number of replications, the grid of a sweep, the replications that failed, the
versions of crmsim, Python and the libraries whose numbers could differ, and the SHA-256 digest
of every file the run wrote.

``crmsim rerun DIR`` checks the folder first — every file listed is there with its digest, so a
folder holding files of two runs is reported, not certified — then runs the experiment again
and reports whether every KPI (and every failure) is identical; a library version that differs
from the recorded one is reported beside the result.

A manifest is validated on load (:class:`Manifest`, pydantic): each problem is one line naming
the key, the value and what is allowed.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crmsim.errors import ScenarioError
from crmsim.scenario import Scenario, _short, from_dict

FORMAT = 2
KINDS = ("run", "compare", "sweep")
_LIBRARIES = ("crmsim", "numpy", "scipy", "pandas", "simpy", "pydantic")


class Manifest(BaseModel):
    """The schema of ``manifest.json`` (format 2)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    crmsim_manifest: Literal[2] = Field(description="format of the manifest")
    kind: Literal["run", "compare", "sweep"] = Field(description="what was run")
    created: str = Field(description="when, ISO 8601 UTC")
    command: list[str] = Field(description="the command line")
    seed: int = Field(ge=0, description="the run or experiment seed")
    replications: int = Field(ge=1, description="replications per scenario (1 for a run)")
    grid: dict[str, list[Any]] | None = Field(description="a sweep's keys and their values")
    scenarios: dict[str, dict[str, Any]] = Field(min_length=1,
                                                 description="label → resolved scenario")
    versions: dict[str, str] = Field(description="Python and library versions")
    files: dict[str, str] = Field(description="file name → SHA-256 of its content")
    failed: list[dict[str, Any]] = Field(default_factory=list,
                                         description="replications that raised an error")
    target_halfwidth: float | None = Field(None, description="compare: the precision asked for")
    target_met: bool | None = Field(None, description="compare: whether it was reached")

    @model_validator(mode="after")
    def _consistent(self):
        if self.kind in ("run", "sweep") and len(self.scenarios) != 1:
            raise ValueError(f"scenarios: a {self.kind} records exactly one scenario, found "
                             f"{len(self.scenarios)}")
        if self.kind == "sweep":
            if not self.grid:
                raise ValueError("grid: a sweep records at least one key and its values")
            empty = [key for key, values in self.grid.items() if not values]
            if empty:
                raise ValueError(f"grid.{empty[0]} = []: a swept key needs at least one value")
        elif self.grid is not None:
            raise ValueError(f"grid: only a sweep has a grid, this is a {self.kind}")
        for name, value in self.files.items():
            if Path(name).name != name or name in ("", ".", ".."):
                raise ValueError(f"files: {_short(name)} is not a file name in the folder")
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise ValueError(f"files.{name} = {_short(value)}: not a SHA-256 digest "
                                 "(64 hex digits)")
        return self


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
          grid: dict[str, list] | None = None, failed: list[dict] | None = None,
          target_halfwidth: float | None = None, target_met: bool | None = None
          ) -> dict[str, Any]:
    """The manifest of an experiment (plain JSON-able data; ``files`` are added by
    :meth:`crmsim.outputs.OutputFolder.finish`)."""
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r}: one of {', '.join(KINDS)}")
    return {
        "crmsim_manifest": FORMAT,
        "kind": kind,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": list(sys.argv),
        "seed": int(seed),
        "replications": int(replications),
        "grid": grid,
        "scenarios": {label: sc.to_dict() for label, sc in scenarios.items()},
        "versions": versions(),
        "files": {},
        "failed": [_plain_record(r) for r in failed or []],
        "target_halfwidth": target_halfwidth,
        "target_met": target_met,
    }


def _plain_record(record: dict) -> dict:
    """A failure record with plain JSON values (numpy integers become ints)."""
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in record.items()}


def write(manifest: dict[str, Any], folder: Path) -> Path:
    """Write ``manifest.json`` atomically (see :mod:`crmsim.outputs`)."""
    from crmsim.outputs import MANIFEST, atomic_file

    path = Path(folder) / MANIFEST
    with atomic_file(path) as handle:
        handle.write(json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a manifest (a file, or the folder that holds ``manifest.json``);
    every problem is a :class:`~crmsim.errors.ScenarioError` line naming the key."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"manifest not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read the manifest ({getattr(err, 'strerror', None) or err})",
                            str(path)) from None
    except json.JSONDecodeError as err:
        raise ScenarioError(f"not a crmsim manifest ({err.msg} at line {err.lineno})",
                            str(path)) from None
    except RecursionError:
        raise ScenarioError("not a crmsim manifest (nested too deeply)", str(path)) from None
    if not isinstance(manifest, dict) or "crmsim_manifest" not in manifest:
        raise ScenarioError(f"not a crmsim manifest (no crmsim_manifest key; format {FORMAT} "
                            "expected)", str(path))
    found = manifest["crmsim_manifest"]
    if found != FORMAT or isinstance(found, bool):
        older = isinstance(found, int) and not isinstance(found, bool) and found < FORMAT
        hint = ("written by an older crmsim: run its command again" if older
                else f"this crmsim reads format {FORMAT}")
        raise ScenarioError(f"crmsim_manifest = {_short(found)}: {hint}", str(path))
    try:
        record = Manifest.model_validate(manifest).model_dump()
    except ValidationError as err:
        raise ScenarioError(_explain(err), str(path)) from None
    scenarios_of(record, str(path))  # every recorded scenario must still validate
    return record


def _explain(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors(include_url=False):
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"][0].lower() + e["msg"][1:]
        msg = msg.removeprefix("value error, ")
        if e["type"] == "missing":
            problems.append(f"missing key '{key}' (required)")
        elif e["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}'; allowed: {', '.join(Manifest.model_fields)}")
        elif not key:
            problems.append(msg)
        else:
            problems.append(f"{key} = {_short(e.get('input'))}: {msg}")
    return problems


def scenarios_of(manifest: dict[str, Any], source: str = "manifest") -> dict[str, Scenario]:
    """The recorded scenarios, validated (errors name the manifest and the label)."""
    return {label: from_dict(data, source=f"{source}: scenario {label!r}")
            for label, data in manifest["scenarios"].items()}


def check_files(manifest: dict[str, Any], folder: str | Path) -> list[str]:
    """Problems with the files next to a manifest: a listed file missing or changed (its
    digest differs), or a file like crmsim's outputs that the run did not write."""
    from crmsim.outputs import MANIFEST, OUTPUT_SUFFIXES, TEMP_MARK, digest

    folder = Path(folder)
    problems = []
    for name, recorded in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing")
        elif digest(path) != recorded:
            problems.append(f"{name}: changed since the run (its SHA-256 differs from the "
                            "manifest's); the folder mixes runs or was edited")
    for path in sorted(folder.iterdir()):
        if (path.is_file() and path.name not in manifest["files"] and path.name != MANIFEST
                and (path.suffix in OUTPUT_SUFFIXES or TEMP_MARK in path.name)):
            problems.append(f"{path.name}: not written by this run")
    return problems


def version_changes(manifest: dict[str, Any]) -> list[str]:
    """'numpy 1.26.4 → 2.0.1' for every library whose version differs from the recorded one."""
    now = versions()
    return [f"{name} {recorded} → {now.get(name, 'missing')}"
            for name, recorded in manifest["versions"].items() if now.get(name) != recorded]


def rerun(manifest: dict[str, Any], executor="serial", jobs: int | None = None,
          progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run a manifest's experiment again; returns its tidy KPI table and its failures."""
    from crmsim.experiment import compare, sweep
    from crmsim.simulation import simulate

    scenarios = scenarios_of(manifest)
    seed, replications = manifest["seed"], manifest["replications"]
    if manifest["kind"] == "run":
        (label, scenario), = scenarios.items()
        kpis = simulate(scenario, seed).kpis
        table = pd.DataFrame({"scenario": label, "kpi": list(kpis), "value": list(kpis.values())})
        return table, pd.DataFrame(columns=["scenario", "replication", "seed", "error"])
    if manifest["kind"] == "compare":
        comparison = compare(scenarios, replications, seed, executor, jobs, progress)
        return comparison.kpis, comparison.failures
    (scenario,) = scenarios.values()
    table = sweep(scenario, manifest["grid"], replications, seed, executor, jobs, progress)
    return table, pd.DataFrame(table.attrs.get("failures", []))


def differences(recorded: pd.DataFrame, repeated: pd.DataFrame) -> pd.DataFrame:
    """Rows whose KPI value differs between a recorded and a repeated KPI table."""
    keys = [c for c in recorded.columns if c != "value"]
    merged = recorded.merge(repeated, on=keys, how="outer", suffixes=("_recorded", "_repeated"),
                            indicator=True)
    same = (merged["value_recorded"] == merged["value_repeated"]) | (
        merged["value_recorded"].isna() & merged["value_repeated"].isna())
    return merged[~same | (merged["_merge"] != "both")].drop(columns="_merge")


def failure_changes(manifest: dict[str, Any], repeated: pd.DataFrame) -> list[str]:
    """Replications that failed in the record but not in the rerun, or the other way round."""
    def keys(records) -> set[tuple]:
        return {(str(r.get("scenario", "")), int(r["replication"])) for r in records
                if "replication" in r}

    before = keys(manifest["failed"])
    after = keys(repeated.to_dict("records")) if not repeated.empty else set()
    lines = [f"{s or 'sweep'} replication {k}: failed in the record, not now"
             for s, k in sorted(before - after)]
    lines += [f"{s or 'sweep'} replication {k}: failed now, not in the record"
              for s, k in sorted(after - before)]
    return lines
