"""The run's clock: SimPy's environment, with the far future filed by time window.

SimPy keeps every pending event in one binary heap and pops the earliest at each step. A market
has one pending event per active customer (its next wake-up, :mod:`crmsim.model.customer`), so
with a million customers the heap holds a million entries, each pop compares its way down
twenty levels of entries scattered over a hundred megabytes, and most of a large run is spent
waiting for memory (a third of the CPU time at 500,000 customers, benchmarks/RESULTS.md).

:class:`Clock` is a :class:`simpy.Environment` that keeps in the heap only the events of the
current *window* of time; an event scheduled later is filed in the bucket of its window, as the
same entry SimPy would have pushed — ``(time, priority, number, event)``, numbered when it was
scheduled. When the clock reaches a window with a bucket, a *sweep* (an event of priority −1:
before any other event at that time) moves the bucket into the heap. SimPy processes events in
the order of those entries whatever the heap's size, so a run on this clock processes exactly
the events it would process on ``simpy.Environment``, in the same order, at the same times
(tests/test_clock.py checks it, and the digest test checks every table); only the heap is
smaller — a window's events instead of everyone's — and stays in the processor's caches.

Nothing else changes: ``env.timeout``, processes, resources and ``run(until=...)`` are
SimPy's own; :meth:`schedule` only decides where an entry waits. One thing shows: a sweep is an
event of its own, so a single ``step()`` may process a sweep (moving ``now`` to a window's
start) instead of a model event; :meth:`peek` looks past sweeps to the next real event, as
SimPy's does.

One thing is added: a *wake-up* (:meth:`call`), what a customer's life is made of. Its entry is
``(time, priority, number, step, subject, value)`` — numbered from the same count as every
event, so it is ordered exactly as an event scheduled at that moment would be — and
:meth:`step` calls ``step(subject, value)`` for it; every other entry is processed by SimPy's
own ``step``. Code that reads the queue's entries must not assume they have four items.
"""

from __future__ import annotations

import math
from heapq import heapify, heappop, heappush

import simpy
from simpy.core import NORMAL

#: the length of a wake-up's entry (an event's has 4 items)
_CALL = 6

#: the priority of a sweep: below every SimPy priority (URGENT is 0, NORMAL 1); the events at
#: a window's start are all in its bucket, so this is for clarity, not for order
_SWEEP = -1


class _Sweep:
    """A sweep's event (born triggered, as a Timeout): its one callback moves a bucket."""

    __slots__ = ("callbacks",)
    _ok = True


class Clock(simpy.Environment):
    """A SimPy environment whose heap holds only the current window of time.

    ``window`` is the width of a window in the scenario's time unit; it is rounded down to a
    power of two so that an event's window, ``time // window``, and a window's start,
    ``index * window``, are exact in floating point. Any width gives the same run.
    """

    def __init__(self, window: float):
        super().__init__()
        if not (window > 0 and math.isfinite(window)):
            raise ValueError(f"window = {window!r}; allowed: a finite number > 0")
        self.window = 2.0 ** math.floor(math.log2(window))
        #: the end of the current window: events before it wait in the heap, later ones in
        #: their window's bucket
        self._heap_until = self.window
        #: window index → its events; a sweep is pending exactly when a bucket exists
        self._buckets: dict[int, list[tuple]] = {}

    def schedule(self, event, priority=NORMAL, delay=0) -> None:
        """Schedule ``event`` as SimPy does (same time, priority and number), filing it in its
        window's bucket if it lies beyond the current window."""
        at = self._now + delay
        self._file((at, priority, next(self._eid), event), delay)

    def call(self, step, subject, value, priority, delay) -> None:
        """A wake-up without an event object: ``step(subject, value)`` is called after
        ``delay``, in exactly the order an event scheduled now with ``priority`` would be
        processed (it is numbered now, from the same count as every event).

        What a customer's life is made of (:mod:`crmsim.model.customer`): its entry,
        ``(time, priority, number, step, subject, value)``, is all a pending wake-up costs —
        no event to build, to call back through and to free, which matters at one wake-up per
        customer event."""
        at = self._now + delay
        self._file((at, priority, next(self._eid), step, subject, value), delay)

    def _file(self, entry: tuple, delay) -> None:
        """Put a numbered entry into the heap (its time is in the current window) or into its
        window's bucket."""
        at = entry[0]
        if at < self._heap_until:
            heappush(self._queue, entry)
            return
        index = at // self.window
        if not index < math.inf:  # never (an infinite delay) or too far to number its window:
            if at != at:  # (NaN)
                raise ValueError(f"delay = {delay!r}; allowed: a number >= 0")
            heappush(self._queue, entry)  # it waits in the heap, as in SimPy
            return
        if not self._buckets:  # no sweep pending: the clock may have run past the last window
            self._heap_until = (self._now // self.window + 1) * self.window
            if at < self._heap_until:
                heappush(self._queue, entry)
                return
            self._sweep_next()
        index = int(index)
        bucket = self._buckets.get(index)
        if bucket is None:
            self._buckets[index] = [entry]
        else:
            bucket.append(entry)

    def step(self) -> None:
        """Process the next entry: a wake-up of :meth:`call` is called here; an event is left
        to SimPy's own :meth:`simpy.Environment.step`."""
        queue = self._queue
        if queue and len(queue[0]) == _CALL:
            entry = heappop(queue)
            self._now = entry[0]
            entry[3](entry[4], entry[5])
        else:
            super().step()

    def _sweep_next(self) -> None:
        """A sweep when the next window starts (before any event at that time)."""
        sweep = _Sweep()
        sweep.callbacks = (self._sweep,)
        heappush(self._queue, (self._heap_until, _SWEEP, next(self._eid), sweep))

    def _sweep(self, _event) -> None:
        """The next window starts: its bucket (if any) joins the heap."""
        start = self._heap_until
        bucket = self._buckets.pop(int(start // self.window), None)
        if bucket is not None:
            self._queue.extend(bucket)
            heapify(self._queue)
        self._heap_until = start + self.window
        if self._buckets:
            self._sweep_next()

    def peek(self) -> float:
        """The time of the next scheduled event (not a sweep); infinity if there is none."""
        queue = self._queue
        if queue and not isinstance(queue[0][3], _Sweep):
            return queue[0][0]
        times = [entry[0] for entry in queue if not isinstance(entry[3], _Sweep)]
        if self._buckets:
            times.extend(entry[0] for entry in self._buckets[min(self._buckets)])
        return min(times, default=math.inf)

    def pending(self) -> int:
        """How many events are scheduled (in the heap and in the buckets; sweeps not counted)."""
        buckets = self._buckets
        return len(self._queue) - bool(buckets) + sum(map(len, buckets.values()))

    def drop_pending(self) -> None:
        """Forget every scheduled event (a finished run lets go of its wake-ups)."""
        self._queue.clear()
        self._buckets.clear()
