"""Project files agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_what_pyproject_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    wanted = {"distributed" if w == "dask" else w for w in wanted} | {"dask"}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed |= {_name(d) for d in dep.get("pip", []) if not d.startswith("-")}
        else:
            listed.add(_name(dep))
    assert wanted <= listed, f"missing from environment.yml: {sorted(wanted - listed)}"
    assert listed - {"python", "pip"} <= wanted, f"only in environment.yml: {sorted(listed - wanted - {'python', 'pip'})}"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme


def test_code_passes_ruff():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "crmsim", "tests", "benchmarks",
                           "notebooks"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_notebook_is_committed_executed_without_errors():
    import nbformat

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks"
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count is not None for c in code), f"{path.name} is not executed"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} has an error output"
        assert any(o.output_type == "display_data" and "image/png" in o.get("data", {})
                   for c in code for o in c.outputs), f"{path.name} has no plot"
        text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "Learning goals" in text and "Course link" in text, path.name
