"""A real dask cluster: a scheduler and two workers as separate OS processes on 127.0.0.1.

Not ``LocalCluster`` (whose workers a test's own process starts and watches): here the
processes are started the way a user starts them on a cluster (``dask scheduler``, ``dask
worker ADDRESS``), crmsim only gets the address, and the results must equal a serial run's
bit for bit — through the command line's ``--scheduler`` and through the Python API, also when
a worker is killed in the middle of a sweep (the scheduler reruns its replications on the
other worker). Every process is stopped by its PID at the end, pass or fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import crmsim

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.cluster

DASK = str(Path(sys.executable).with_name("dask"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process by its PID, SIGKILL what is still there after 10 s."""
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    """(address, {worker name: Popen}) of a running scheduler with two single-threaded
    workers (no nanny: a killed worker stays dead, as a lost machine would)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    # scheduler and workers import the crmsim under test (a cluster needs the same crmsim
    # everywhere: the scheduler unpickles the tasks, the workers run them)
    source = str(Path(crmsim.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    quiet = {"stdin": subprocess.DEVNULL, "start_new_session": True, "env": env}
    processes: list[subprocess.Popen] = []
    workers: dict[str, subprocess.Popen] = {}
    try:
        processes.append(subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT, **quiet))
        for name in ("w1", "w2"):
            workers[name] = subprocess.Popen(
                [DASK, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60"],
                stdout=open(logs / f"{name}.log", "w"), stderr=subprocess.STDOUT, **quiet)
            processes.append(workers[name])
        deadline = time.monotonic() + 60
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
        yield address, workers
    finally:
        _stop(processes)
        alive = [p.pid for p in processes if psutil.pid_exists(p.pid)
                 and psutil.Process(p.pid).status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"processes left running: {alive}"


@pytest.fixture
def pair():
    base = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 300, "horizon": 120})
    return {"retail_baseline": base,
            "retail_better_service": crmsim.load_scenario("retail_better_service")
            .with_overrides({"customers.initial": 300, "horizon": 120})}


def test_the_command_line_on_a_cluster_gives_the_serial_tables(cluster, pair, tmp_path):
    address, _ = cluster
    out = tmp_path / "cmp"
    done = subprocess.run(
        [sys.executable, "-m", "crmsim.cli", "compare", "retail_baseline",
         "retail_better_service", "--replications", "3", "--seed", "4", "--quiet",
         "--set", "customers.initial=300", "--set", "horizon=120",
         "--scheduler", address, "--out", str(out)],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    on_cluster = pd.read_parquet(out / "kpis.parquet")
    serial = crmsim.compare(pair, replications=3, seed=4, progress=False).kpis
    pd.testing.assert_frame_equal(on_cluster, serial, check_exact=True)


def test_a_worker_killed_mid_sweep_loses_nothing(cluster, pair):
    """SIGKILL one worker while it runs replications: the scheduler reruns them on the other
    and the sweep's table equals the serial one."""
    address, workers = cluster
    grid = {"satisfaction.service_quality": [0.6, 0.8]}
    killed: dict[str, object] = {}

    def kill_when_busy(client: distributed.Client) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            info = client.scheduler_info()["workers"]
            busy = {info[a]["name"]: len(keys) for a, keys in client.processing().items()
                    if a in info}
            if busy.get("w1") and busy.get("w2"):  # both at work: the sweep is under way
                os.kill(workers["w1"].pid, signal.SIGKILL)
                killed["busy"] = busy
                return
            time.sleep(0.02)

    scenario = pair["retail_baseline"].with_overrides({"customers.initial": 600})
    with crmsim.executor(scheduler=address) as ex:
        watcher = threading.Thread(target=kill_when_busy, args=(ex.client,), daemon=True)
        watcher.start()
        on_cluster = crmsim.sweep(scenario, grid, replications=4, seed=2, executor=ex,
                                  progress=False)
        watcher.join(timeout=5)
        survivors = [w["name"] for w in ex.client.scheduler_info()["workers"].values()]
    assert not on_cluster.attrs["failures"], [f.get("error") for f in on_cluster.attrs["failures"]]
    assert killed, "the sweep ended before both workers were busy"
    assert workers["w1"].wait(timeout=10) == -signal.SIGKILL
    assert survivors == ["w2"]
    serial = crmsim.sweep(scenario, grid, replications=4, seed=2, progress=False)
    pd.testing.assert_frame_equal(on_cluster, serial, check_exact=True)


def test_a_bad_scheduler_address_is_one_line_and_exit_code_2(tmp_path):
    port = _free_port()  # nobody listens there
    done = subprocess.run(
        [sys.executable, "-m", "crmsim.cli", "compare", "retail_baseline", "--replications",
         "1", "--scheduler", f"tcp://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"--scheduler tcp://127.0.0.1:{port}: cannot connect" in done.stderr


def test_a_scheduler_without_workers_is_refused_after_a_bounded_wait(tmp_path, monkeypatch,
                                                                     capsys):
    """A real scheduler and no worker: crmsim waits WORKER_WAIT seconds for one (it used to
    wait forever, silently), then says so in one line, exit code 2, nothing written."""
    import crmsim.executors as executors
    from crmsim.cli import main

    monkeypatch.setattr(executors, "WORKER_WAIT", 2)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        monkeypatch.chdir(tmp_path)
        started = time.monotonic()
        code = main(["compare", "retail_baseline", "--replications", "2", "--quiet",
                     "--scheduler", address, "--out", "s14"])
        waited = time.monotonic() - started
    finally:
        _stop([scheduler])
    assert code == 2 and waited < 20
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert f"--scheduler {address}: the scheduler has no workers (waited 2 s for one)" in err
    assert f"dask worker {address}" in err
    assert list(tmp_path.iterdir()) == []
