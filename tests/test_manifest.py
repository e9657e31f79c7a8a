"""Manifests: a recorded run, comparison or sweep is repeated exactly."""

from __future__ import annotations

import json

import pytest

from crmsim import manifest
from crmsim.cli import main
from crmsim.errors import ScenarioError

SMALL = ["--set", "customers.initial=50", "--set", "horizon=45", "--quiet"]


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "retail_baseline", "retail_better_service", "--replications", "2", *SMALL],
        ["sweep", "retail_baseline", "--param", "satisfaction.service_quality=0.6,0.8",
         "--replications", "2", *SMALL],
    ],
    ids=["compare", "sweep"],
)
def test_rerun_reproduces_every_kpi(argv, tmp_path, capsys):
    out = tmp_path / "exp"
    assert main([*argv, "--out", str(out)]) == 0
    record = json.loads((out / "manifest.json").read_text())
    assert record["kind"] == argv[0] and record["seed"] == 0
    assert "extends" not in json.dumps(record["scenarios"])  # fully resolved
    assert {"crmsim", "numpy", "simpy", "python"} <= set(record["versions"])
    capsys.readouterr()
    assert main(["rerun", str(out / "manifest.json"), "--quiet"]) == 0
    assert "identical" in capsys.readouterr().out


def test_rerun_of_a_single_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "telecom_baseline", "--seed", "4", "--set", "customers.initial=40",
                 "--set", "horizon=6", "--out", str(out)]) == 0
    assert main(["rerun", str(out)]) == 0
    assert "identical" in capsys.readouterr().out


def test_rerun_detects_a_changed_record(tmp_path, capsys):
    out = tmp_path / "exp"
    main(["compare", "retail_baseline", "--replications", "2", *SMALL, "--out", str(out)])
    record = json.loads((out / "manifest.json").read_text())
    record["seed"] = 1  # not what produced the recorded KPIs
    (out / "manifest.json").write_text(json.dumps(record))
    assert main(["rerun", str(out), "--quiet"]) == 1
    assert "differ" in capsys.readouterr().out


def test_bad_manifests_are_clear_errors(tmp_path, capsys):
    with pytest.raises(ScenarioError, match="manifest not found"):
        manifest.load(tmp_path / "nothing.json")
    bad = tmp_path / "manifest.json"
    bad.write_text('{"kind": "compare"}')
    with pytest.raises(ScenarioError, match="not a crmsim manifest"):
        manifest.load(bad)
    assert main(["rerun", str(bad)]) == 2


def test_the_manifest_is_last_and_lists_every_file_with_its_digest(tmp_path):
    import hashlib

    out = tmp_path / "run"
    assert main(["run", "retail_baseline", "--set", "customers.initial=30", "--set",
                 "horizon=30", "--out", str(out)]) == 0
    record = json.loads((out / "manifest.json").read_text())
    files = {p.name for p in out.iterdir()} - {"manifest.json"}
    assert set(record["files"]) == files and {"events.csv", "lifecycle.png"} <= files
    for name, digest in record["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    written = (out / "manifest.json").stat().st_mtime_ns
    assert all(p.stat().st_mtime_ns <= written for p in out.iterdir())  # the manifest is last
    assert manifest.load(out)["kind"] == "run"
