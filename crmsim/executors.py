"""Executors: running tasks serially, in a process pool or on dask, losing nothing that finished.

:func:`run_all` runs pure tasks (a task's result depends only on the task) and returns their
results in task order, whatever the executor:

* ``"serial"`` — one after the other, in this process;
* ``"processes"`` — a ``concurrent.futures`` process pool of ``jobs`` workers, for one call;
* an :class:`Executor` from :func:`executor` — a pool (or a dask connection) that the caller
  keeps across calls: a notebook or a sweep starts its workers once;
* a ``dask.distributed.Client`` — the scheduler's workers.

What travels: a task's scenario is pickled once per call (processes: each worker unpickles it
once and keeps it) or sent once as a dask task whose result the workers share (dask); each replication then sends only
its label, replication number and seed, and brings back what ``run`` returns (the KPIs, unless
tables were asked for).

Faults, and what survives them:

* **A dead worker.** A pool worker killed from outside (the kernel's out-of-memory killer, a
  stray ``kill -9``) breaks a process pool: every unfinished task fails with
  ``BrokenProcessPool``. The pool is replaced and the unfinished tasks run again — tasks are
  pure, so the results are the same. After :data:`POOL_RESTARTS` lost pools the unfinished
  tasks run one at a time, each in its own worker (less memory at once), and a task that still
  kills its worker gets a failure result of its own. A :class:`~crmsim.errors.WorkerLost`
  warning says what happened.
* **An interrupt.** Ctrl-C (``KeyboardInterrupt``, or :class:`~crmsim.errors.Interrupted` from
  the CLI's signal handlers) stops the pool's workers at once — queued tasks cancelled, running
  workers terminated — so none is left running and holding the caller's output pipes. An
  ``Interrupted`` leaves with how many tasks had finished. Workers ignore SIGINT (Ctrl-C reaches
  the whole process group; the parent decides), the signals are held while workers are forked,
  and on Linux a worker dies with its parent even when the parent is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import os
import pickle
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tqdm.auto import tqdm

from crmsim.errors import Interrupted, ScenarioError, WorkerLost, raise_if_interrupted

#: lost process pools (a worker died) after which the unfinished tasks run one at a time,
#: each in its own worker, so that one that kills its worker fails alone
POOL_RESTARTS = 2


def run_all(tasks: Sequence, run: Callable[[Any], dict], executor="serial",
            jobs: int | None = None, progress: bool = True) -> list[dict]:
    """``[run(task) for task in tasks]`` on ``executor``, with a progress bar (tqdm).

    ``executor`` is ``"serial"``, ``"processes"`` (a pool of ``jobs`` workers for this call
    only), an :class:`Executor` kept by the caller (:func:`executor`) or a
    ``dask.distributed.Client``. ``run`` returns a dict and never raises for a task's own
    failure (it reports it in the dict, as :func:`crmsim.experiment.run_task` does); tasks need
    ``label`` and ``replication`` attributes for the messages, and a task's ``scenario`` (if it
    has one) is sent to the workers once, not with every task (:class:`Executor`).
    """
    with using(executor, jobs) as place:
        return place.run_all(tasks, run, progress)


@contextlib.contextmanager
def using(executor="serial", jobs: int | None = None):
    """The :class:`Executor` for an ``executor`` argument: the caller's own one as it is, a
    ``dask.distributed.Client`` wrapped (and left open), ``"serial"`` or ``"processes"`` as a
    new executor closed at the end of the ``with`` block (a pool for one call)."""
    if isinstance(executor, Executor):
        if jobs is not None and jobs != executor.jobs:
            raise ScenarioError(f"jobs = {jobs!r}: this executor has {executor.jobs} "
                                "worker(s); give jobs= to crmsim.executor(...), not here")
        yield executor
        return
    if isinstance(executor, str) and executor in ("serial", "processes"):
        with Executor(executor, jobs=jobs) as own:
            yield own
        return
    if hasattr(executor, "submit") and hasattr(executor, "gather"):  # dask.distributed
        yield Executor("dask", client=executor)
        return
    raise ScenarioError(
        f"executor = {executor!r}: must be 'serial', 'processes', crmsim.executor(...) or a "
        "dask.distributed.Client"
    )


def executor(kind: str | None = None, *, jobs: int | None = None,
             scheduler: str | None = None) -> Executor:
    """An executor to keep across calls — open it once, run many comparisons and sweeps on it::

        with crmsim.executor(jobs=2) as ex:           # one pool of 2 worker processes
            a = crmsim.compare(pair, replications=20, executor=ex)
            b = crmsim.sweep(sc, {"service.agents": [3, 4, 5]}, executor=ex)

        with crmsim.executor(scheduler="tcp://10.0.0.5:8786") as ex:   # a dask cluster
            c = crmsim.compare(pair, replications=100, executor=ex)

    ``kind``: ``"processes"`` (the default; ``jobs`` workers, default one per CPU),
    ``"serial"`` (this process) or ``"dask"`` (needs ``scheduler``, the address of a running
    ``dask scheduler``; giving ``scheduler`` alone is enough). The connection is made at once
    (a bad address fails here, with one line); the pool's workers start with the first call
    and stay until the ``with`` block ends (or :meth:`Executor.close`). The same seed gives the same numbers on every executor.
    """
    if scheduler is not None:
        if kind not in (None, "dask"):
            raise ScenarioError(f"kind = {kind!r}: a scheduler address means kind 'dask'")
        if jobs is not None:
            raise ScenarioError(f"jobs = {jobs!r}: has no effect with a scheduler (the cluster "
                                "has the workers it has)")
        return Executor("dask", client=connect(scheduler), own_client=True)
    if kind == "dask":
        raise ScenarioError("kind = 'dask': give scheduler='tcp://HOST:PORT' (the address "
                            "'dask scheduler' prints), or pass a dask.distributed.Client "
                            "as executor=")
    if kind not in (None, "processes", "serial"):
        raise ScenarioError(f"kind = {kind!r}: must be 'processes', 'serial' or 'dask'")
    made = Executor(kind or "processes", jobs=jobs)
    made.start()
    return made


#: seconds to wait for a scheduler's first reply, for the client's handshake, and for a worker
CONNECT_TIMEOUT = 10
WORKER_WAIT = 20


def _probe(host: str, port: int, shown: str, key: str) -> None:
    """Refuse, within seconds, an address where nothing listens or where something that is
    not a dask scheduler answers. A dask scheduler speaks first: on a new connection it sends
    its handshake, a frame count (8 bytes, little-endian) and the frames' lengths."""
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise ScenarioError(f"{key} {shown}: cannot connect to a dask scheduler there "
                            f"({reason}); is one running? (start one with 'dask scheduler')"
                            ) from None
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        first = b""
        while len(first) < 8:
            chunk = sock.recv(8 - len(first))
            if not chunk:
                break
            first += chunk
    except OSError as err:
        reason = f"no reply within {CONNECT_TIMEOUT} s" if isinstance(err, TimeoutError) else (
            getattr(err, "strerror", None) or str(err) or type(err).__name__)
        raise ScenarioError(f"{key} {shown}: cannot connect to a dask scheduler there: "
                            f"something listens but it is not a dask scheduler ({reason})"
                            ) from None
    finally:
        sock.close()
    if len(first) < 8 or not 0 < int.from_bytes(first, "little") < 1000:
        said = first.decode("ascii", "replace").strip() or "nothing"
        raise ScenarioError(f"{key} {shown}: cannot connect to a dask scheduler there: "
                            f"something listens but it is not a dask scheduler (it said "
                            f"{said[:20]!r})")


def check_address(address: Any, key: str = "scheduler") -> tuple[str, str, int]:
    """(protocol, host, port) of a scheduler address ``tcp://HOST:PORT`` (or ``tls://``), or a
    :class:`ScenarioError` naming ``key``, the address and what is allowed."""
    from crmsim.scenario import _short

    shown = _short(address)
    example = "e.g. tcp://10.0.0.5:8786 (the address 'dask scheduler' prints)"
    if not isinstance(address, str) or not address.strip():
        raise ScenarioError(f"{key} {shown}: an empty address; give tcp://HOST:PORT, {example}")
    scheme, sep, location = address.partition("://")
    if not sep:
        raise ScenarioError(f"{key} {shown}: not a scheduler address; give tcp://HOST:PORT, "
                            f"{example}")
    if scheme not in ("tcp", "tls"):
        raise ScenarioError(f"{key} {shown}: protocol {_short(scheme)} is not supported; "
                            f"only tcp:// and tls:// addresses are, {example}")
    host, colon, port_text = location.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or "/" in location:
        raise ScenarioError(f"{key} {shown}: not HOST:PORT after {scheme}:// (a port number "
                            f"is required), {example}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ScenarioError(f"{key} {shown}: port {_short(port_text)} must be a number from "
                            f"1 to 65535, {example}")
    return scheme, host, int(port_text)


def connect(address: str, key: str = "scheduler", worker_wait: float | None = None):
    """A ``dask.distributed.Client`` connected to the scheduler at ``address`` with at least one
    worker, failing within seconds with one line (a :class:`ScenarioError` naming ``key``) when
    the address is malformed, nobody answers, what answers is not a dask scheduler, or no
    worker joins within ``worker_wait`` seconds (default :data:`WORKER_WAIT`)."""
    scheme, host, port = check_address(address, key)
    try:
        from distributed import Client
    except ImportError:
        raise ScenarioError(f"{key} needs dask.distributed: pip install "
                            "'crmsim[distributed]'") from None
    from crmsim.scenario import _short

    shown = address if len(address) <= 100 else _short(address)
    if scheme == "tcp":
        _probe(host, port, shown, key)
    made: dict[str, Any] = {}

    def handshake():
        try:
            made["client"] = Client(address, timeout=CONNECT_TIMEOUT)
        except BaseException as err:  # noqa: BLE001 — any failure is "cannot connect"
            made["error"] = err

    thread = threading.Thread(target=handshake, name="crmsim-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5)
    if thread.is_alive() or "error" in made or "client" not in made:
        err = made.get("error")
        reason = f"no handshake within {CONNECT_TIMEOUT + 5} s" if err is None else " ".join(
            f"{type(err).__name__}: {err}".split())[:200]
        raise ScenarioError(f"{key} {shown}: cannot connect to a dask scheduler there "
                            f"({reason})")
    client = made["client"]
    wait = WORKER_WAIT if worker_wait is None else worker_wait
    try:
        client.wait_for_workers(1, timeout=wait)
    except BaseException as err:  # noqa: BLE001 — closed below, then reported in one line
        with contextlib.suppress(Exception):
            client.close(timeout=5)
        if isinstance(err, (KeyboardInterrupt, Interrupted)):
            raise
        reason = "" if isinstance(err, TimeoutError) else f" ({type(err).__name__}: {err})"
        raise ScenarioError(f"{key} {shown}: the scheduler has no workers (waited {wait:g} s "
                            f"for one){reason}; start one with 'dask worker {address}'"
                            ) from None
    return client


class Executor:
    """Where replications run, kept across calls (see :func:`executor`).

    * ``"serial"``: in this process, one after the other.
    * ``"processes"``: one ``concurrent.futures`` pool of ``jobs`` worker processes, started
      once and reused by every call until :meth:`close` — a notebook or a sweep pays for the
      workers once, not at every ``compare``. A pool broken by a dead worker is replaced (see
      the module docstring); after an interrupt the workers are stopped and the next call
      starts new ones.
    * ``"dask"``: a ``dask.distributed.Client``'s workers; the scheduler reschedules the
      tasks of a worker that dies.

    **What travels.** A task is small — a label, a replication number, a seed — plus its
    ``scenario``, which is sent once: pickled once per call into bytes (processes; each
    worker unpickles a scenario once and keeps it for later calls) or sent once as a dask task
    that unpickles it (its result moves to the workers that need it, and is redone if lost). A worker runs the scenario with replication k's child seed and sends back
    what ``run`` returns: the KPIs only, unless tables were asked for
    (:func:`crmsim.compare`'s ``tables=``).
    """

    def __init__(self, kind: str = "processes", jobs: int | None = None, client=None,
                 own_client: bool = False):
        if kind not in ("serial", "processes", "dask"):
            raise ScenarioError(f"kind = {kind!r}: must be 'serial', 'processes' or 'dask'")
        if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool)
                                 or jobs < 1):
            raise ScenarioError(f"jobs = {jobs!r}: must be an integer >= 1")
        if kind == "dask" and client is None:
            raise ScenarioError("a dask executor needs a dask.distributed.Client")
        self.kind = kind
        self.jobs = (jobs or os.cpu_count() or 1) if kind == "processes" else jobs
        self.client = client
        self._own_client = own_client
        self._pool: ProcessPoolExecutor | None = None
        self.closed = False

    def __repr__(self) -> str:
        if self.kind == "dask":
            scheduler = getattr(self.client, "scheduler", None)
            where = f"dask scheduler {getattr(scheduler, 'address', '?')}"
        else:
            where = "this process" if self.kind == "serial" else f"{self.jobs} worker processes"
        return f"<crmsim executor: {where}{', closed' if self.closed else ''}>"

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> Executor:
        """Make the pool (its workers start with the first call and stay)."""
        if self.kind == "processes":
            self._live_pool()
        return self

    def close(self) -> None:
        """Stop the pool's workers (waiting for none: nothing is running between calls), or
        close the dask client this executor opened. A closed executor runs nothing more."""
        self.closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)
        if self._own_client and self.client is not None:
            self.client.close()

    @property
    def pids(self) -> list[int]:
        """The process ids of the pool's live workers (processes; empty otherwise)."""
        processes = (getattr(self._pool, "_processes", None) or {}) if self._pool else {}
        return sorted(pid for pid, p in processes.items() if p.is_alive())

    def run_all(self, tasks: Sequence, run: Callable[[Any], dict],
                progress: bool = True) -> list[dict]:
        """``[run(task) for task in tasks]`` here, with a progress bar (see :func:`run_all`)."""
        if self.closed:
            raise ScenarioError(f"{self!r}: closed (its with block has ended); open a new one "
                                "with crmsim.executor(...)")
        bar = tqdm(total=len(tasks), desc="replications", disable=not progress, leave=False)
        try:
            if self.kind == "serial":
                return _serially(tasks, run, bar)
            if self.kind == "processes":
                return self._in_processes(tasks, run, bar)
            return _on_dask(tasks, self.client, run, bar)
        finally:
            bar.close()

    def _live_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_worker_start)
        return self._pool

    def _in_processes(self, tasks: Sequence, run, bar) -> list[dict]:
        """The pool. A pool broken by a dead worker is replaced and the unfinished tasks run
        again; after :data:`POOL_RESTARTS` lost pools they run one at a time (less memory at
        once), and a task that still kills its worker is reported as failed, alone."""
        shipped = _ship(tasks)
        results: list[dict | None] = [None] * len(tasks)
        pending = list(range(len(tasks)))
        lost = 0
        while pending:
            alone = lost >= POOL_RESTARTS
            batch = pending[:1] if alone else pending
            with _signals_held():  # the workers are forked here (a new pool: at first submit)
                pool = (ProcessPoolExecutor(max_workers=1, initializer=_worker_start) if alone
                        else self._live_pool())
            broken = False
            try:
                with _signals_held():
                    futures = {pool.submit(_run_shipped, run, *shipped[i]): i for i in batch}
                raise_if_interrupted()
                for future in as_completed(futures):
                    raise_if_interrupted()
                    try:
                        results[futures[future]] = future.result()
                    except BrokenProcessPool:
                        broken = True
                        break
                    bar.update()
                for future, i in futures.items():  # what finished before the pool broke
                    if results[i] is None and future.done() and not future.cancelled() and (
                            future.exception() is None):
                        results[i] = future.result()
                        bar.update()
            except BaseException as stop:
                _stop_workers(pool)
                if pool is self._pool:
                    self._pool = None  # the next call starts new workers
                if isinstance(stop, Interrupted):
                    stop.finished = sum(r is not None for r in results)
                    stop.total = len(tasks)
                raise
            finally:
                if alone or broken:
                    pool.shutdown(wait=True, cancel_futures=True)
                    if pool is self._pool:
                        self._pool = None
            unfinished = [i for i in batch if results[i] is None]
            if broken and unfinished:
                if alone:
                    task = tasks[unfinished[0]]
                    results[unfinished[0]] = {
                        "ok": False, "where": None,
                        "error": "WorkerLost: the worker process running this replication "
                        "died, also when it ran alone (killed, e.g. for lack of memory?)"}
                    bar.update()
                    warnings.warn(f"replication {task.replication} of {task.label!r} killed "
                                  "its worker process also when run alone: reported as failed",
                                  WorkerLost, stacklevel=4)
                else:
                    lost += 1
                    how = ("one at a time" if lost >= POOL_RESTARTS else "again in a new pool")
                    warnings.warn(f"a worker process died (killed, e.g. for lack of memory?); "
                                  f"{len(unfinished)} unfinished replication(s) run {how}",
                                  WorkerLost, stacklevel=4)
            pending = [i for i in pending if results[i] is None]
        return results


def _serially(tasks: Sequence, run, bar) -> list[dict]:
    results = []
    try:
        for task in tasks:
            results.append(run(task))
            bar.update()
    except Interrupted as stop:
        stop.finished, stop.total = len(results), len(tasks)
        raise
    return results


# --------------------------------------------------------------------------- what travels

#: scenarios a worker process keeps, unpickled, for the tasks of this and later calls
_WORKER_SCENARIOS: dict[str, Any] = {}
_WORKER_KEEPS = 16


def _shell(task):
    """The task without its scenario (``None`` in its place), and the scenario."""
    scenario = getattr(task, "scenario", None)
    if scenario is None or not dataclasses.is_dataclass(task):
        return task, None
    return dataclasses.replace(task, scenario=None), scenario


def _ship(tasks: Sequence) -> list[tuple]:
    """(shell, key, pickled scenario) per task: each distinct scenario pickled once, keyed by
    the digest of its bytes (a worker that has unpickled it before reuses its copy)."""
    packed: dict[int, tuple[str, bytes]] = {}
    shipped = []
    for task in tasks:
        shell, scenario = _shell(task)
        if scenario is None:
            shipped.append((task, None, None))
            continue
        if id(scenario) not in packed:
            blob = pickle.dumps(scenario, protocol=pickle.HIGHEST_PROTOCOL)
            packed[id(scenario)] = (hashlib.sha256(blob).hexdigest(), blob)
        shipped.append((shell, *packed[id(scenario)]))
    return shipped


def _run_shipped(run, shell, key: str | None, blob: bytes | None) -> dict:
    """In a worker: put the task's scenario back (unpickled once per worker) and run it."""
    if key is None:
        return run(shell)
    scenario = _WORKER_SCENARIOS.get(key)
    if scenario is None:
        scenario = pickle.loads(blob)
        if len(_WORKER_SCENARIOS) >= _WORKER_KEEPS:
            _WORKER_SCENARIOS.pop(next(iter(_WORKER_SCENARIOS)))
        _WORKER_SCENARIOS[key] = scenario
    return run(dataclasses.replace(shell, scenario=scenario))


def _run_on_dask(run, shell, scenario) -> dict:
    """On a dask worker: the scenario arrives unpickled, from the task that holds it."""
    if scenario is None:
        return run(shell)
    return run(dataclasses.replace(shell, scenario=scenario))


def _on_dask(tasks: Sequence, client, run, bar) -> list[dict]:
    """Each distinct scenario sent once, as a small task that unpickles it (so a worker that
    dies with the only copy loses nothing: the scheduler redoes it from its bytes, as it
    reruns the dead worker's replications), then one small task per replication."""
    from distributed import as_completed as dask_completed

    shipped = _ship(tasks)
    scenarios: dict[str, Any] = {}
    futures = []
    for shell, key, blob in shipped:
        if key is not None and key not in scenarios:
            scenarios[key] = client.submit(pickle.loads, blob, key=f"crmsim-scenario-{key}",
                                           pure=False)
        futures.append(client.submit(_run_on_dask, run, shell, scenarios.get(key),
                                     pure=False))
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[dict | None] = [None] * len(tasks)
    try:
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            bar.update()
    except BaseException as stop:
        client.cancel(futures)
        if isinstance(stop, Interrupted):
            stop.finished = sum(r is not None for r in results)
            stop.total = len(tasks)
        raise
    finally:
        del scenarios  # released with the replications' futures
    return results


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM while pool workers are forked: a worker inherits the mask and
    releases it once it has its own signal handling (:func:`_worker_start`), so a signal in
    that instant never finds a worker with the parent's handler; the parent gets it after."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _worker_start() -> None:
    """Set up a pool worker: signals are the parent's business (Ctrl-C reaches the whole
    process group; the parent stops its workers itself), and on Linux a worker dies with its
    parent (PR_SET_PDEATHSIG), so even a parent killed with SIGKILL leaves no worker behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if sys.platform == "linux":
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - an unusual libc
            pass


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now: cancel what is queued and terminate the running ones."""
    if hasattr(pool, "terminate_workers"):  # Python 3.14
        pool.terminate_workers()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():  # pragma: no cover - a worker ignoring SIGTERM
            process.kill()
            process.join()
