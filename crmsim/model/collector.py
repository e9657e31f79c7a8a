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
