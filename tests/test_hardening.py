"""Hardening: any input gets a result or one clear line (never a traceback, never silent
nonsense), outputs are atomic, and faults (a failing replication, a dead worker, a signal)
lose nothing that finished."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmsim
import crmsim.experiment as experiment
from crmsim import limits
from crmsim.cli import main
from crmsim.errors import ScenarioError, WorkerLost, crmsim_line
from crmsim.experiment import Task, execute, run_task
from crmsim.outputs import atomic_file
from crmsim.scenario import SCENARIO_DIR, load_scenario, parse_assignment
from crmsim.simulation import as_seed_sequence

SMALL = ["--set", "customers.initial=40", "--set", "horizon=40", "--quiet"]
BASELINE = str(SCENARIO_DIR / "retail_baseline.yaml")


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# --------------------------------------------------------------------------- bad input, table

#: name → (files to create: name → text or bytes, argv, fragments the one-line message names)
BAD_INPUTS = {
    "non-UTF-8 file": ({"s.yaml": b"name: caf\xe9\n"}, ["run", "s.yaml"],
                       ["s.yaml", "not UTF-8", "0xe9"]),
    "deep nesting": ({"s.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n"}, ["run", "s.yaml"],
                     ["nested too deeply"]),
    "nesting beyond the limit": ({"s.yaml": "churn: " + "[" * 30 + "]" * 30 + "\n"},
                                 ["run", "s.yaml"], ["nested more than 20 levels"]),
    "duplicate key": ({"s.yaml": f"extends: {BASELINE}\nchurn:\n  base: 0.1\nhorizon: 30\n"
                                 "churn:\n  base: 0.2\n"}, ["run", "s.yaml"],
                      ["duplicate key 'churn'", "line 5", "first at line 2"]),
    "empty file": ({"s.yaml": ""}, ["run", "s.yaml"], ["s.yaml", "empty"]),
    "only a comment": ({"s.yaml": "# nothing yet\n"}, ["compare", "s.yaml"], ["empty"]),
    "alias bomb": ({"s.yaml": "a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcde", "bcdef"))
        + "service: {schedule: *f}\n"}, ["run", "s.yaml"], ["aliases are expanded"]),
    "recursive alias": ({"s.yaml": "a: &a [*a]\n"}, ["run", "s.yaml"],
                        ["alias refers to a mapping or list that contains it"]),
    "a device": ({}, ["run", "/dev/zero"], ["/dev/zero", "not a regular file"]),
    "too many customers": ({}, ["run", "retail_baseline", "--set",
                                "customers.initial=1000000000000"],
                           ["customers.initial = 1,000,000,000,000", "of memory", "available"]),
    "too many periods": ({}, ["run", "retail_baseline", "--set", "report_every=0.0001"],
                         ["report_every = 0.0001", "3,650,000 reporting periods", "100,000"]),
    "--set out of range": ({}, ["run", "retail_baseline", "--set", "churn.base=2"],
                           ["--set (on ", "churn.base = 2"]),
    "--set duplicate key": ({}, ["run", "retail_baseline", "--set",
                                 "churn={base: 0.1, base: 0.2}"],
                            ["--set churn", "duplicate key 'base'"]),
    "--set twice": ({}, ["run", "retail_baseline", "--set", "churn.base=0.1", "--set",
                         "churn.base=0.2"], ["--set churn.base is given twice"]),
    "--set no key": ({}, ["run", "retail_baseline", "--set", "=3"], ["expected key=value"]),
    "--set below a number": ({}, ["run", "retail_baseline", "--set", "horizon.a=3"],
                             ["horizon.a = 3", "horizon is 365.0, not a mapping"]),
    "run --seed -1": ({}, ["run", "retail_baseline", "--seed", "-1"],
                      ["--seed: -1: must be an integer >= 0"]),
    "compare --seed -1": ({}, ["compare", "retail_baseline", "--seed", "-1"],
                          ["--seed: -1: must be an integer >= 0"]),
    "validate --seed x": ({}, ["validate", "--seed", "x"], ["--seed: 'x'"]),
    "--jobs 0": ({}, ["compare", "retail_baseline", "--jobs", "0"],
                 ["--jobs: 0: must be an integer >= 1"]),
    "--jobs -1": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1", "--jobs", "-1"],
                  ["--jobs: -1: must be an integer >= 1"]),
    "--jobs above the limit": ({}, ["compare", "retail_baseline", "--jobs", "100000"],
                               ["--jobs: 100000: must be an integer from 1 to", "per CPU"]),
    "rerun --jobs above the limit": ({}, ["rerun", "x", "--jobs", "100000"],
                                     ["--jobs: 100000: must be an integer from 1 to"]),
    "--max-replications alone": ({}, ["compare", "retail_baseline", "--max-replications", "5"],
                                 ["--max-replications 5", "only with --target-halfwidth"]),
    "--target-halfwidth 0": ({}, ["compare", "retail_baseline", "--target-halfwidth", "0"],
                             ["--target-halfwidth: 0: must be a number > 0"]),
    "--target-halfwidth nan": ({}, ["compare", "retail_baseline", "--target-halfwidth", "nan"],
                               ["--target-halfwidth: nan: must be"]),
    "repeated --param": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1",
                              "--param", "churn.base=0.2"], ["--param churn.base is given twice"]),
    "empty --param value": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1,,0.2"],
                            ["--param churn.base", "an empty value"]),
    "--param value twice": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1,0.1"],
                            ["the value 0.1 is given twice"]),
    "--param bad value": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1,7"],
                          ["--param (on ", "churn.base = 7"]),
    "unknown --kpi": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1", "--kpi",
                           "proft"], ["--kpi 'proft'", "did you mean 'profit'", "available:"]),
    "scenarios list --folder": ({}, ["scenarios", "list", "--folder", "/nonexistent/crmsim"],
                                ["folder not found", "/nonexistent/crmsim"]),
    "scenarios schema FILE": ({}, ["scenarios", "schema", "retail_baseline"],
                              ["takes no FILE"]),
    "--scheduler not an address": ({}, ["compare", "retail_baseline", "--scheduler", "nonsense"],
                                   ["--scheduler 'nonsense'", "not a scheduler address"]),
    "--scheduler nobody there": ({}, ["compare", "retail_baseline", "--scheduler",
                                      "tcp://127.0.0.1:9"], ["--scheduler tcp://127.0.0.1:9",
                                                             "cannot connect"]),
    "--scheduler empty": ({}, ["compare", "retail_baseline", "--scheduler", ""],
                          ["--scheduler '': an empty address", "tcp://HOST:PORT"]),
    "rerun --scheduler empty": ({}, ["rerun", "x", "--scheduler", ""],
                                ["--scheduler '': an empty address"]),
    "--scheduler port out of range": ({}, ["compare", "retail_baseline", "--scheduler",
                                           "tcp://127.0.0.1:99999"],
                                      ["--scheduler 'tcp://127.0.0.1:99999'",
                                       "port '99999' must be a number from 1 to 65535"]),
    "--scheduler no port": ({}, ["compare", "retail_baseline", "--scheduler", "tcp://127.0.0.1"],
                            ["--scheduler 'tcp://127.0.0.1'", "a port number is required"]),
    "--scheduler other protocol": ({}, ["compare", "retail_baseline", "--scheduler",
                                        "inproc://foo"],
                                   ["--scheduler 'inproc://foo'", "protocol 'inproc' is not "
                                    "supported", "only tcp:// and tls://"]),
    "--scheduler with --jobs": ({}, ["compare", "retail_baseline", "--scheduler",
                                     "tcp://127.0.0.1:9", "--jobs", "2"],
                                ["--jobs 2 has no effect with --scheduler"]),
    "--out is a file": ({"taken": "x"}, ["run", "retail_baseline", "--out", "taken"],
                        ["--out", "taken: is a file, not a folder"]),
    "--out below a file": ({"taken": "x"}, ["compare", "retail_baseline", "--out", "taken/sub"],
                           ["taken/sub: taken is a file"]),
    "--out cannot be written": ({}, ["sweep", "retail_baseline", "--param", "churn.base=0.1",
                                     "--out", "/proc/crmsim-out"],
                                ["/proc/crmsim-out: cannot write there"]),
    "--out holds a run": ({"old/manifest.json": "{}"}, ["run", "retail_baseline", "--out", "old"],
                          ["old: already holds a run", "--force"]),
    "--out not empty": ({"mine/notes.txt": "x"}, ["run", "retail_baseline", "--out", "mine"],
                        ["mine: is not empty", "--force"]),
    "--db empty": ({}, ["run", "retail_baseline", "--db", ""],
                   ["--db = ''", "an empty file name"]),
    "--db ends in /": ({}, ["run", "retail_baseline", "--db", "newdir/"],
                       ["--db = 'newdir/' ends in '/'", "give a file name"]),
    "--db cannot be written": ({}, ["run", "retail_baseline", "--db", "/proc/shop.duckdb"],
                               ["--db = '/proc/shop.duckdb'", "cannot write in folder '/proc'"]),
    "--db is a folder": ({"dbdir/x": "x"}, ["run", "retail_baseline", "--db", "dbdir"],
                         ["--db = 'dbdir' is a folder"]),
    "--overwrite without --db": ({}, ["run", "retail_baseline", "--overwrite"],
                                 ["--overwrite", "give --db FILE too"]),
    "calibrate log is a folder": ({"logs/x": "x"}, ["calibrate", "logs", "--calibration-end",
                                                    "1997-09-30", "--out", "twin"],
                                  ["'logs' is a folder, not a file"]),
    "calibrate --out holds a twin": ({"log.csv": "customer_id,time,amount\n1,1,2\n",
                                      "twin/fit.json": "{}"},
                                     ["calibrate", "log.csv", "--calibration-end", "1",
                                      "--out", "twin"],
                                     ["twin: already holds a run (fit.json)", "--force"]),
    "calibrate --out not empty": ({"log.csv": "customer_id,time,amount\n1,1,2\n",
                                   "twin/notes.txt": "x"},
                                  ["calibrate", "log.csv", "--calibration-end", "1",
                                   "--out", "twin"], ["twin: is not empty", "--force"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    files, argv, fragments = BAD_INPUTS[case]
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.chdir(tmp_path)

    def must_not_run(*args, **kwargs):
        raise AssertionError("bad input must be refused before anything is simulated")

    monkeypatch.setattr(experiment, "simulate", must_not_run)
    monkeypatch.setattr(crmsim.simulation, "simulate", must_not_run)
    before = _files(tmp_path)
    assert main([*argv, *SMALL[-1:]] if argv[0] in ("compare", "sweep") else argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert _files(tmp_path) == before  # no output files, no folders


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _refused_before_work(argv, monkeypatch, capsys, tmp_path) -> str:
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 30
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert _files(tmp_path) == before
    return lines[0]


def test_a_web_server_at_the_scheduler_address_is_refused_in_bounded_time(
        tmp_path, monkeypatch, capsys):
    """A web server listens but never speaks first (the dask handshake used to wait forever)."""
    import socket

    import crmsim.executors as executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 2)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        line = _refused_before_work(["compare", "retail_baseline", "--replications", "2",
                                     "--quiet", "--scheduler", f"tcp://127.0.0.1:{port}",
                                     "--out", "s9"], monkeypatch, capsys, tmp_path)
    finally:
        server.kill()
        server.wait(timeout=10)
    assert f"--scheduler tcp://127.0.0.1:{port}: cannot connect to a dask scheduler" in line
    assert "not a dask scheduler" in line


def test_a_server_answering_garbage_at_the_scheduler_address_is_refused(
        tmp_path, monkeypatch, capsys):
    """Something that answers at once with text (read as frame lengths, it used to ask for
    exabytes of memory: MemoryError, an internal error)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]

    def answer():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    try:
        line = _refused_before_work(["compare", "retail_baseline", "--quiet", "--scheduler",
                                     f"tcp://127.0.0.1:{port}"], monkeypatch, capsys, tmp_path)
    finally:
        listener.close()
    assert f"--scheduler tcp://127.0.0.1:{port}: cannot connect to a dask scheduler" in line
    assert "not a dask scheduler (it said 'HTTP/1.1')" in line


def _manifest_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recorded") / "sweep"
    assert main(["sweep", "retail_baseline", "--param", "satisfaction.service_quality=0.6,0.8",
                 "--replications", "2", *SMALL, "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def recorded_sweep(tmp_path_factory):
    return _manifest_folder(tmp_path_factory)


#: name → (change to the manifest, fragments of the one-line message)
BAD_MANIFESTS = {
    "a key removed": (lambda m: m.pop("seed"), ["missing key 'seed'"]),
    "unknown kind": (lambda m: m.update(kind="tournament"), ["kind = 'tournament'", "'sweep'"]),
    "negative seed": (lambda m: m.update(seed=-1), ["seed = -1", "greater than or equal to 0"]),
    "boolean seed": (lambda m: m.update(seed=True), ["seed = True"]),
    "no scenarios": (lambda m: m.update(scenarios={}), ["scenarios = {}", "at least 1"]),
    "empty grid": (lambda m: m.update(grid={}), ["grid: a sweep records at least one key"]),
    "a key without values": (lambda m: m.update(grid={"churn.base": []}),
                             ["grid.churn.base = []"]),
    "an unknown key": (lambda m: m.update(notes="x"), ["unknown key 'notes'"]),
    "an older format": (lambda m: m.update(crmsim_manifest=1),
                        ["crmsim_manifest = 1", "older crmsim"]),
    "a bad digest": (lambda m: m["files"].update({"kpis.csv": "abc"}),
                     ["files.kpis.csv = 'abc'", "SHA-256"]),
    "an invalid scenario": (lambda m: m["scenarios"]["retail_baseline"]["churn"].update(base=3),
                            ["scenario 'retail_baseline'", "churn.base = 3"]),
    "not a mapping": (lambda m: [1, 2], ["not a crmsim manifest"]),
}


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_bad_manifest_is_one_line_exit_2(case, recorded_sweep, tmp_path, capsys):
    change, fragments = BAD_MANIFESTS[case]
    folder = tmp_path / "copy"
    shutil.copytree(recorded_sweep, folder)
    record = json.loads((folder / "manifest.json").read_text())
    result = change(record)
    (folder / "manifest.json").write_text(json.dumps(result if isinstance(result, list)
                                                     else record))
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert main(["rerun", str(folder), "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


# --------------------------------------------------------------------------- fuzzing the loader


def _dotted(data: dict, prefix: tuple = ()):
    for key, value in data.items():
        yield ".".join((*prefix, key))
        if isinstance(value, dict):
            yield from _dotted(value, (*prefix, key))


_BASE = load_scenario("retail_baseline")
KEYS = sorted(_dotted(_BASE.to_dict()))
_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
            | st.text(max_size=12))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4), max_leaves=10)
_yaml_text = st.text(alphabet=st.sampled_from(list("abc:-[]{},&*!|>'\"#\n .019e")), max_size=60)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS) | st.text(max_size=10), value=_values, text=_yaml_text,
       raw=st.binary(max_size=40), mode=st.sampled_from(["value", "text", "bytes", "set"]))
def test_the_loader_loads_or_raises_a_scenario_error(key, value, text, raw, mode):
    """Random YAML documents and --set values either load or raise ScenarioError."""
    folder = Path(tempfile.mkdtemp(prefix="crmsim-fuzz-"))
    try:
        file = folder / "s.yaml"
        if mode == "value":  # a valid scenario with one key set to anything
            data = _BASE.to_dict()
            node = data
            for part in key.split(".")[:-1]:
                node = node.setdefault(part, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict):
                node[key.split(".")[-1]] = value
            file.write_text(yaml.safe_dump(data, allow_unicode=True))
        elif mode == "text":  # anything after a valid first line
            file.write_text(f"extends: {BASELINE}\n{text}")
        else:
            file.write_bytes(raw)
        try:
            if mode == "set":
                name, parsed = parse_assignment(f"{key}={text}")
                result = _BASE.with_overrides({name: parsed}, source="--set")
            else:
                result = load_scenario(file)
        except ScenarioError as err:
            assert str(err) and "Traceback" not in str(err)
        else:
            assert isinstance(result, crmsim.Scenario)
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- signals


def _compare_command(out: Path, replications: int) -> list[str]:
    return [sys.executable, "-m", "crmsim.cli", "compare", "retail_baseline",
            "retail_better_service", "--replications", str(replications), "--jobs", "2",
            "--quiet", "--set", "customers.initial=400", "--out", str(out)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_compare_and_its_workers_and_leaves_no_files(signum, tmp_path):
    """The signal comes the instant the first pool worker exists (before it has set up its own
    signal handling: a worker with the parent's handler would print a traceback, and could
    hang the pool), then no worker is left, nothing is written, and the command runs again."""
    out = tmp_path / "cmp"
    proc = subprocess.Popen(_compare_command(out, 60), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        parent = psutil.Process(proc.pid)
        workers: list[psutil.Process] = []
        while not workers and proc.poll() is None:
            workers = parent.children()
            time.sleep(0.001)
        assert workers, f"the pool's workers never started: {proc.poll()}"
        if signum == signal.SIGINT:  # Ctrl-C reaches the whole process group
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        workers = workers + [w for w in _children(parent) if w not in workers]
        # orphaned workers would hold the pipes open and this would time out
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert f"interrupted by {signal.Signals(signum).name}" in last
    assert "replications had finished" in last and "nothing was written" in last
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"workers left running: {alive}"
    assert not out.exists()  # nothing half-written, no folder
    done = subprocess.run(_compare_command(out, 2), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / "manifest.json").exists()


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children()
    except psutil.NoSuchProcess:
        return []


# --------------------------------------------------------------------------- failures


def test_the_crmsim_line_is_found_behind_simpy():
    """SimPy re-raises a process's error as a new exception caused by the original; the
    reported line is the crmsim one inside the process, not SimPy's."""
    import simpy

    env = simpy.Environment()

    def process(env):
        yield env.timeout(1)
        as_seed_sequence(-1)  # raises inside crmsim

    env.process(process(env))
    with pytest.raises(ValueError) as info:
        env.run()
    where = crmsim_line(info.value)
    assert where.startswith("crmsim/simulation.py:") and where.endswith("(as_seed_sequence)")


@pytest.fixture
def one_scenario_always_fails(monkeypatch):
    """Every replication of the scenario named 'broken' raises inside crmsim."""
    real = experiment.simulate

    def simulate(scenario, seed):
        if scenario.name == "broken":
            as_seed_sequence(-1)
        return real(scenario, seed)

    monkeypatch.setattr(experiment, "simulate", simulate)


def test_compare_keeps_the_healthy_scenario_when_another_always_fails(
        one_scenario_always_fails, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"extends: {BASELINE}\nname: broken\n")
    out = tmp_path / "cmp"
    code = main(["compare", "retail_baseline", str(broken), "--replications", "3", *SMALL,
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "all failed" in captured.out and "3 of 3" in captured.out
    assert "3 of 6 replications failed" in captured.err
    kpis = pd.read_csv(out / "kpis.csv")
    assert set(kpis["scenario"]) == {"retail_baseline"} and set(kpis["replication"]) == {0, 1, 2}
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures["replication"]) == [0, 1, 2]
    assert (failures["scenario"] == "broken").all()
    assert failures["error"].str.startswith("ValueError: seed = -1").all()
    assert failures["where"].str.startswith("crmsim/simulation.py:").all()
    record = json.loads((out / "manifest.json").read_text())
    assert [f["replication"] for f in record["failed"]] == [0, 1, 2]
    assert main(["rerun", str(out), "--quiet"]) == 0
    assert "identical" in capsys.readouterr().out


def test_sweep_writes_its_failures_and_exits_1(monkeypatch, tmp_path, capsys):
    real = experiment.simulate

    def simulate(scenario, seed):
        if scenario.satisfaction.service_quality == 0.8:
            as_seed_sequence(-1)
        return real(scenario, seed)

    monkeypatch.setattr(experiment, "simulate", simulate)
    out = tmp_path / "sw"
    code = main(["sweep", "retail_baseline", "--param", "satisfaction.service_quality=0.6,0.8",
                 "--replications", "2", *SMALL, "--out", str(out)])
    assert code == 1
    assert "2 of 4 replications failed" in capsys.readouterr().err
    failures = pd.read_csv(out / "failures.csv")
    assert (failures["satisfaction.service_quality"] == 0.8).all() and len(failures) == 2


def test_an_unreached_target_is_said(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "retail_baseline", "--replications", "2", "--target-halfwidth",
                 "1e-6", "--max-replications", "4", *SMALL, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "target not reached" in err and "after 4 replications" in err
    record = json.loads((out / "manifest.json").read_text())
    assert record["target_met"] is False and record["replications"] == 4


def test_an_internal_error_is_one_line_with_the_traceback_saved(monkeypatch, tmp_path, capsys):
    import crmsim.simulation

    def broken(scenario, seed=0):
        raise RuntimeError(f"model bug {as_seed_sequence(7).entropy}")

    monkeypatch.setattr(crmsim.simulation, "simulate", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["run", "retail_baseline", "--set", "customers.initial=20"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("crmsim: internal error, please report: RuntimeError: model bug 7")
    saved = Path(err[0].split("traceback saved to ")[1])
    assert saved.parent == tmp_path and "Traceback" in saved.read_text()


# --------------------------------------------------------------------------- dead workers


def _die_once(marker: str, task: Task) -> dict:
    """Kill the worker the first time replication 1 of scenario 'a' runs (an OOM kill)."""
    flag = Path(marker) / f"{task.label}-{task.replication}"
    if (task.label, task.replication) == ("a", 1) and not flag.exists():
        flag.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task)


def _always_die(task: Task) -> dict:
    if task.replication == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task)


@pytest.fixture
def tasks(retail_small):
    sc = retail_small.with_overrides({"customers.initial": 80, "horizon": 60})
    return [Task(label, k, sc, 4) for label in ("a", "b") for k in range(4)]


def _tables(tasks, outcomes) -> tuple[pd.DataFrame, pd.DataFrame]:
    return experiment._collect(tasks, outcomes)


def test_a_dead_worker_is_replaced_and_its_replications_rerun(tasks, tmp_path):
    serial, _ = _tables(tasks, execute(tasks, progress=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcomes = execute(tasks, "processes", jobs=2, progress=False,
                           run=functools.partial(_die_once, str(tmp_path)))
    lost = [str(w.message) for w in caught if issubclass(w.category, WorkerLost)]
    assert len(lost) == 1 and "run again in a new pool" in lost[0]
    assert (tmp_path / "a-1").exists()  # the worker did die
    pooled, failures = _tables(tasks, outcomes)
    assert failures.empty
    pd.testing.assert_frame_equal(pooled, serial)  # same seeds, same numbers


def test_a_replication_that_always_kills_its_worker_fails_alone(tasks):
    serial, _ = _tables(tasks, execute(tasks, progress=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pooled, failures = _tables(tasks, execute(tasks, "processes", jobs=2, progress=False,
                                                  run=_always_die))
    messages = [str(w.message) for w in caught if issubclass(w.category, WorkerLost)]
    assert any("one at a time" in m for m in messages)
    assert sum("also when run alone" in m for m in messages) == 2
    assert sorted(zip(failures["scenario"], failures["replication"])) == [("a", 1), ("b", 1)]
    assert failures["error"].str.startswith("WorkerLost").all()
    pd.testing.assert_frame_equal(pooled, serial[serial["replication"] != 1]
                                  .reset_index(drop=True))


# --------------------------------------------------------------------------- atomic outputs


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "events.csv"
    target.write_text("old complete content\n")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as handle:
        handle.write(b"new, half")
        raise KeyboardInterrupt
    assert target.read_text() == "old complete content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["events.csv"]


def test_a_signal_while_writing_removes_what_was_written(monkeypatch, tmp_path, capsys):
    import crmsim.plots
    from crmsim.errors import Interrupted

    def killed(result, folder):  # SIGTERM arrives after the tables, during the plots
        assert (Path(folder) / "events.csv").exists()
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(crmsim.plots, "save_run_plots", killed)
    out = tmp_path / "run"
    run = ["run", "retail_baseline", "--set", "customers.initial=30", "--out", str(out)]
    assert main(run) == 143
    assert "nothing was written" in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.undo()
    assert main(run) == 0
    monkeypatch.setattr(crmsim.plots, "save_run_plots", killed)
    assert main([*run, "--force"]) == 143
    assert "no longer holds a complete run" in capsys.readouterr().err
    assert not (out / "manifest.json").exists()


def test_a_dangling_db_link_is_refused_without_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.duckdb").symlink_to(tmp_path / "nowhere")
    assert main(["run", "retail_baseline", *SMALL[:4], "--db", "shop.duckdb"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--db = 'shop.duckdb' is a link" in err, err
    assert "--overwrite" in err and (tmp_path / "shop.duckdb").is_symlink()
    assert _files(tmp_path) == {"shop.duckdb"}


def test_force_replaces_a_run_and_removes_its_stale_files(tmp_path, capsys):
    out = tmp_path / "cmp"
    two = ["compare", "retail_baseline", "retail_better_service", "--replications", "2", *SMALL]
    assert main([*two, "--out", str(out)]) == 0
    assert (out / "differences.csv").exists()
    one = ["compare", "retail_baseline", "--replications", "2", *SMALL, "--out", str(out)]
    assert main(one) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*one, "--force"]) == 0
    record = json.loads((out / "manifest.json").read_text())
    assert not (out / "differences.csv").exists()  # the old run's file is gone
    assert _files(out) == set(record["files"]) | {"manifest.json"}
    assert main(["rerun", str(out), "--quiet"]) == 0


def test_rerun_reports_a_folder_mixing_two_runs_and_version_changes(recorded_sweep, tmp_path,
                                                                    capsys):
    other = tmp_path / "other"
    assert main(["sweep", "retail_baseline", "--param", "satisfaction.service_quality=0.5,0.9",
                 "--replications", "2", *SMALL, "--out", str(other)]) == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(recorded_sweep, mixed)
    shutil.copy(other / "kpis.csv", mixed / "kpis.csv")
    (mixed / "events.csv").write_text("time\n")
    capsys.readouterr()
    assert main(["rerun", str(mixed), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "kpis.csv: changed since the run" in err and "events.csv: not written by this run" in err
    same = tmp_path / "same"
    shutil.copytree(recorded_sweep, same)
    record = json.loads((same / "manifest.json").read_text())
    record["versions"]["numpy"] = "1.0.0"
    (same / "manifest.json").write_text(json.dumps(record))
    assert main(["rerun", str(same), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"numpy 1.0.0 → {np.__version__}" in printed and "identical" in printed


# --------------------------------------------------------------------------- resource limits


@pytest.mark.parametrize("name", ["retail_baseline", "telecom_baseline", "complaints_recovery"])
def test_the_memory_estimate_is_near_the_measured_peak(name):
    """limits.estimate against tracemalloc's peak of a whole run with its tables: within
    0.6–2.5× (a factor 10 wrong in bytes per customer or per event would fail)."""
    sc = load_scenario(name).with_overrides({"customers.initial": 1500})
    estimate = limits.estimate(sc)
    tracemalloc.start()
    try:
        result = crmsim.simulate(sc, seed=2)
        _ = result.events, result.customers, result.timeseries
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.6 <= estimate.bytes / peak <= 2.5, (estimate, peak)
    customers = result.kpis["initial"] + result.kpis["acquired"]
    assert 0.8 <= estimate.customers / customers <= 1.25


def test_a_run_that_cannot_fit_is_refused_before_it_starts(retail_small):
    huge = retail_small.with_overrides({"customers.initial": 10**12})
    with pytest.raises(ScenarioError, match=r"customers.initial = 1,000,000,000,000: .* about "
                                            r"\d.* of memory .* available"):
        crmsim.simulate(huge, seed=0)
    endless = retail_small.with_overrides({"horizon": 1e12, "report_every": 1e9,
                                           "churn.base": 0.0})
    with pytest.raises(ScenarioError, match="horizon = 1e\\+12"):
        crmsim.simulate(endless, seed=0)
    assert limits.check(retail_small).customers < 1000  # a normal run passes


def test_expected_occasions_is_the_sbg_sum():
    from scipy import special

    a, b, n = 1.5, 6.0, 40
    exact = sum(np.exp(special.betaln(a, b + t) - special.betaln(a, b)) for t in range(n))
    assert limits.expected_occasions(n, crmsim.distributions.BetaDist(a=a, b=b)) == (
        pytest.approx(exact))
    assert limits.expected_occasions(n, 0.1) == pytest.approx((1 - 0.9**n) / 0.1)
    assert limits.expected_occasions(n, 0.0) == n
