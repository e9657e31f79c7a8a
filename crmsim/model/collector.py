"""Pausing Python's cyclic garbage collector while a run builds millions of objects.

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
"""

from __future__ import annotations

import contextlib
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
