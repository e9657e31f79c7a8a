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
:func:`use_huge_pages` collapses the heap into 2 MB pages at each report of a large run —
the first once the customers exist, later ones for what the run allocated since — with Linux
6.1+ ``madvise`` ``MADV_COLLAPSE`` (not where the administrator set huge pages to "never"), so
the translations of the whole population fit that cache. Measured at a million customers: 6–12% less CPU time, for 4–20
more bytes a customer at the peak (benchmarks/RESULTS.md). The numbers a run produces do not
depend on it.
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
def _libc(name: str, argtypes: tuple, restype):
    """The C library's function ``name``, looked up among the symbols already loaded into the
    process (no search for the library, which would start a subprocess), with its argument and
    result types (ctypes type names); None where the C library has no such call (macOS,
    Windows, musl) or Python has no ctypes."""
    try:
        import ctypes

        function = getattr(ctypes.CDLL(None), name)
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    function.argtypes = [getattr(ctypes, t) for t in argtypes]
    function.restype = getattr(ctypes, restype)
    return function


def give_back_free_memory() -> bool:
    """Return the C heap's free pages to the operating system (glibc's ``malloc_trim(0)``);
    whether it could (False where the C library has no such call). Python objects still alive
    are untouched."""
    trim = _libc("malloc_trim", ("c_size_t",), "c_int")  # looked up at the first call
    if trim is None:
        return False
    trim(0)
    return True


#: Linux madvise(2) advice: collapse the range into transparent huge pages now (6.1+)
_MADV_COLLAPSE = 25
_HUGE_PAGE = 2 << 20
_THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"


def _huge_pages_allowed() -> bool:
    """Whether the system lets a process have transparent huge pages (Linux, not set to
    "never" by its administrator: a collapse would not ask)."""
    try:
        with open(_THP_SETTING) as setting:
            return "[never]" not in setting.read()
    except OSError:
        return False


def _heap_ranges() -> list[tuple[int, int]]:
    """(start, length) of the process's private writable anonymous memory (Python's object
    arenas, the C heap, large arrays) of at least one huge page, without what asked not to
    have huge pages (the threads' stacks among others: flag ``nh``) and without a stack that
    lies right above its guard (an inaccessible mapping); [] where there is no
    /proc/self/smaps."""
    try:
        with open("/proc/self/smaps", "rb") as smaps:  # bytes: a mapped file's name may be any
            lines = smaps.read().splitlines()
    except OSError:
        return []
    ranges, mapping, guard_end = [], None, None
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if fields[0].startswith(b"VmFlags"):  # the last line of a mapping's entry
            if mapping is not None and b"nh" not in fields[1:]:
                ranges.append(mapping)
            mapping = None
        elif b"-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(b":"):
            start, end = (int(x, 16) for x in fields[0].split(b"-"))
            after_guard, guard_end = start == guard_end, end if fields[1] == b"---p" else None
            heap = len(fields) == 5 or fields[5] == b"[heap]"
            mapping = ((start, end - start) if fields[1] == b"rw-p" and heap and not after_guard
                       and end - start >= _HUGE_PAGE else None)
    return ranges


def use_huge_pages() -> int:
    """Collapse the process's heap into 2 MB pages now (Linux 6.1+: ``madvise``
    ``MADV_COLLAPSE``); the number of ranges collapsed. Nothing is asked of later allocations
    (no ``MADV_HUGEPAGE`` flag stays behind), and nothing is done where the system has no such
    call, refuses it (an older kernel) or has huge pages set to "never". An optimisation only:
    it never raises."""
    madvise = _libc("madvise", ("c_void_p", "c_size_t", "c_int"), "c_int")
    if madvise is None or not _huge_pages_allowed():
        return 0
    try:
        return sum(madvise(start, length, _MADV_COLLAPSE) == 0
                   for start, length in _heap_ranges())
    except Exception:  # noqa: BLE001 — a failed optimisation must not fail the run
        return 0
