"""A run's memory: pausing Python's cyclic garbage collector while a run builds millions of
objects, and giving back what the run freed before its tables are built.

CPython frees an object as soon as nothing refers to it (reference counting); the *cyclic*
collector exists only for groups of objects that refer to each other. It runs whenever enough
new objects have been allocated, and every so often it walks **every** object that is still
alive. A run allocates customers, their processes and their events by the million and keeps
most of them, so the collector walks the whole, growing population again and again: about a
tenth of a 100,000-customer run, more for larger ones, and none of it finds anything — a run
leaves no cycles behind until it is over (the market and its policies refer to each other,
which is freed in one collection afterwards).

:func:`paused` switches the collector off for the duration of a block and back on afterwards
(only if it was on: a caller that switched it off keeps it off). Memory freed by reference
counting is freed as usual.

Freed memory is not given back to the operating system by itself: the C library keeps the
freed chunks of its heap (a customer's blocks of draws, released when it churns and when the
run ends: about 370 bytes a customer at 200,000 customers) for later allocations of the same
kind — which the tables, large numpy arrays mapped separately, never are.
:func:`give_back_free_memory` asks glibc to return them (``malloc_trim``) when the run is over,
so the tables are built in memory that is really free (benchmarks/RESULTS.md).

A large run touches its memory all over: each event reads one customer among a million, its
traits, its draws, its pending wake-up — hundreds of megabytes visited at random. With the
usual 4 KB pages the processor's cache of address translations covers a few megabytes, so
nearly every such fetch waits twice: for the translation, then for the data.
:func:`use_huge_pages` backs the heap with 2 MB pages once the customers exist, and again at
each report for what the run allocated since (Linux
``madvise``: ``MADV_HUGEPAGE``, then ``MADV_COLLAPSE``, which works whatever the system's
default for transparent huge pages is, unless they are switched off), so the translations of
the whole population fit that cache. Measured at a million customers: 6–12% less CPU time for
10–20 more bytes a customer at the peak (benchmarks/RESULTS.md). The numbers a run produces
do not depend on it.
"""

from __future__ import annotations

import contextlib
import functools
import gc


@contextlib.contextmanager
def paused():
    """Run a block with the cyclic garbage collector off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, looked up among the symbols already loaded into the process (no
    search for the library, which would start a subprocess); None where the C library has no
    such call (macOS, Windows, musl) or Python has no ctypes."""
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def give_back_free_memory() -> bool:
    """Return the C heap's free pages to the operating system (glibc's ``malloc_trim(0)``);
    whether it could (False where the C library has no such call). Python objects still alive
    are untouched."""
    trim = _malloc_trim()  # looked up at the first call
    if trim is None:
        return False
    trim(0)
    return True


#: Linux madvise(2) advice: back with transparent huge pages; collapse into them now (5.19+)
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25
_HUGE_PAGE = 2 << 20


@functools.cache
def _madvise():
    """The C library's ``madvise``, or None where there is none (as :func:`_malloc_trim`)."""
    try:
        import ctypes

        call = ctypes.CDLL(None, use_errno=True).madvise
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    call.argtypes, call.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return call


def _heap_ranges() -> list[tuple[int, int]]:
    """(start, length) of the process's private writable anonymous memory (Python's object
    arenas, the C heap, large arrays) of at least one huge page, without the threads' stacks
    (a stack lies right above its guard, an inaccessible mapping); [] where there is no
    /proc/self/maps."""
    try:
        with open("/proc/self/maps") as maps:
            lines = maps.readlines()
    except OSError:
        return []
    ranges, guard_end = [], None
    for line in lines:
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        after_guard, guard_end = start == guard_end, end if fields[1] == "---p" else None
        if fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]") or after_guard:
            continue
        if end - start >= _HUGE_PAGE:
            ranges.append((start, end - start))
    return ranges


def use_huge_pages() -> int:
    """Back the process's heap with 2 MB pages now (Linux: ``madvise`` ``MADV_HUGEPAGE``, then
    ``MADV_COLLAPSE``); the number of ranges advised (0 where the system has no such calls,
    or refuses: an older kernel, huge pages switched off)."""
    madvise = _madvise()
    if madvise is None:
        return 0
    done = 0
    for start, length in _heap_ranges():
        if madvise(start, length, _MADV_HUGEPAGE) == 0:
            done += madvise(start, length, _MADV_COLLAPSE) == 0
    return done
