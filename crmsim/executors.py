"""Executors: running tasks serially, in a process pool or on dask, losing nothing that finished.

:func:`run_all` runs pure tasks (a task's result depends only on the task) and returns their
results in task order, whatever the executor:

* ``"serial"`` — one after the other, in this process;
* ``"processes"`` — a ``concurrent.futures`` process pool of ``jobs`` workers;
* a ``dask.distributed.Client`` — the scheduler's workers.

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
import os
import signal
import sys
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

    ``run`` returns a dict and never raises for a task's own failure (it reports it in the
    dict, as :func:`crmsim.experiment.run_task` does); tasks need ``label`` and
    ``replication`` attributes for the messages.
    """
    bar = tqdm(total=len(tasks), desc="replications", disable=not progress, leave=False)
    try:
        if executor == "serial":
            results = []
            try:
                for task in tasks:
                    results.append(run(task))
                    bar.update()
            except Interrupted as stop:
                stop.finished, stop.total = len(results), len(tasks)
                raise
            return results
        if executor == "processes":
            return _in_processes(tasks, jobs or os.cpu_count() or 1, run, bar)
        if hasattr(executor, "submit") and hasattr(executor, "gather"):  # dask.distributed
            return _on_dask(tasks, executor, run, bar)
    finally:
        bar.close()
    raise ScenarioError(
        f"executor = {executor!r}: must be 'serial', 'processes' or a dask.distributed.Client"
    )


def _in_processes(tasks: Sequence, workers: int, run, bar) -> list[dict]:
    """A process pool. A pool broken by a dead worker is replaced and the unfinished tasks run
    again; after :data:`POOL_RESTARTS` lost pools they run one at a time (less memory at
    once), and a task that still kills its worker is reported as failed, alone."""
    results: list[dict | None] = [None] * len(tasks)
    pending = list(range(len(tasks)))
    lost = 0
    while pending:
        alone = lost >= POOL_RESTARTS
        batch = pending[:1] if alone else pending
        pool = ProcessPoolExecutor(max_workers=1 if alone else min(workers, len(batch)),
                                   initializer=_worker_start)
        broken = False
        try:
            with _signals_held():  # the workers are forked here
                futures = {pool.submit(run, tasks[i]): i for i in batch}
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
            if isinstance(stop, Interrupted):
                stop.finished = sum(r is not None for r in results)
                stop.total = len(tasks)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        unfinished = [i for i in batch if results[i] is None]
        if broken and unfinished:
            if alone:
                task = tasks[unfinished[0]]
                results[unfinished[0]] = {
                    "ok": False, "where": None,
                    "error": "WorkerLost: the worker process running this replication died, "
                    "also when it ran alone (killed, e.g. for lack of memory?)"}
                bar.update()
                warnings.warn(f"replication {task.replication} of {task.label!r} killed its "
                              "worker process also when run alone: reported as failed",
                              WorkerLost, stacklevel=3)
            else:
                lost += 1
                how = ("one at a time" if lost >= POOL_RESTARTS else "again in a new pool")
                warnings.warn(f"a worker process died (killed, e.g. for lack of memory?); "
                              f"{len(unfinished)} unfinished replication(s) run {how}",
                              WorkerLost, stacklevel=3)
        pending = [i for i in pending if results[i] is None]
    return results


def _on_dask(tasks: Sequence, client, run, bar) -> list[dict]:
    from distributed import as_completed as dask_completed

    futures = [client.submit(run, task, pure=False) for task in tasks]
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
