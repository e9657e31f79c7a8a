"""The dashboard's simulation workers: one process pool shared by every student's page.

A Solara server serves all pages from one Python process and one event loop; a simulation run
inside it would freeze every page until it ends. So runs go to a
:class:`concurrent.futures.ProcessPoolExecutor` owned by the server (a few workers, by default
one per core) and the page *awaits* the future: the event loop stays free, pages keep
answering, and runs from different students proceed side by side, the rest waiting in
submission order. A page has at most one run and one comparison in flight — a new Run replaces
a queued one (see :mod:`crmsim.dashboard.app`) — so one student cannot fill the queue.

Workers are started through a fork server that has imported crmsim once (``forkserver``
preload): a new worker is a fork of a clean process, never of the multi-threaded web server.
Each worker ends when the server process ends, however it ends
(:func:`~crmsim.dashboard.jobs.end_with_server`).
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor

from crmsim.dashboard import jobs
from crmsim.dashboard.config import Settings


class RunPool:
    """A process pool that also knows how many submitted jobs are ahead of a given one."""

    def __init__(self, workers: int):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crmsim.dashboard.jobs"])
        self.workers = workers
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                             initializer=jobs.end_with_server)
        self._lock = threading.Lock()
        self._submitted: list[Future] = []

    def submit(self, fn, *args) -> Future:
        future = self._executor.submit(fn, *args)
        with self._lock:
            self._submitted = [f for f in self._submitted if not f.done()] + [future]
        return future

    def ahead_of(self, future: Future) -> int:
        """Jobs submitted earlier that have not finished (0: this one runs now or next)."""
        with self._lock:
            earlier = []
            for f in self._submitted:
                if f is future:
                    break
                earlier.append(f)
        waiting = sum(not f.done() for f in earlier)
        return max(0, waiting - self.workers + 1)

    def warm_up(self) -> None:
        """Start every worker now (a first Run would otherwise wait for the start-up)."""
        for _ in range(self.workers):
            self._executor.submit(jobs.warm_up)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_pool: RunPool | None = None
_pool_lock = threading.Lock()


def shared_pool() -> RunPool:
    """The server's one pool, created on first use with the workers from the settings."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = RunPool(Settings.from_env().workers)
            _pool.warm_up()
        return _pool
