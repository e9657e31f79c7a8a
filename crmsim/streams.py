"""Random streams: one SeedSequence per run, an independent stream per customer and purpose.

Common random numbers (CRN) need every customer to draw from streams of its own, so that a policy
that never touches a customer leaves that customer's draws unchanged, and so that purchase timing
does not shift when, say, a failure draw is added to each purchase. Building a numpy Generator per
customer and purpose costs ~20 µs and hundreds of bytes, too much for a million customers.

Instead the run holds one counter-based Philox bit generator (numpy's, keyed from the run's
``SeedSequence``). Philox maps a 256-bit counter to random output, so any stream can be reached by
setting the counter: ``(block << 32, purpose, owner, 0)``. A :class:`Stream` hands out draws
from a small buffer and refills it block by block; blocks grow (4, 8, 16, 32, 64 draws) so short
lives cost little memory and long lives few refills. Repositioning costs ~3 µs per block.

The draws of ``(run seed, purpose, owner)`` are a pure function of those three numbers: they do
not depend on how many other customers exist or in which order they ran.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_BLOCK_SIZES = (4, 8, 16, 32, 64)
_BLOCK_SHIFT = 32  # a block may use up to 2**32 Philox counter increments without overlap


class Purpose(IntEnum):
    """What a stream is used for; each is independent of the others."""

    TRAITS = 0  # latent traits, drawn once at creation
    TIMING = 1  # inter-purchase times (uniforms → exponential)
    CHURN = 2  # churn decisions (uniforms)
    EXPERIENCE = 3  # perceived quality noise (standard normals)
    SPEND = 4  # spend per purchase (standard gamma with the segment's shape p)
    ACQUISITION = 10  # the firm's acquisition arrivals (owner 0)


class RandomStreams:
    """All random numbers of one run, derived from one ``numpy.random.SeedSequence``."""

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.seed_sequence = seed_sequence
        key = seed_sequence.generate_state(2, np.uint64)
        self._bitgen = np.random.Philox(key=key)
        self._generator = np.random.Generator(self._bitgen)
        self._state = self._bitgen.state
        self._counter = self._state["state"]["counter"]

    def at(self, purpose: int, owner: int, block: int = 0) -> np.random.Generator:
        """The run's generator positioned at the start of ``(purpose, owner, block)``.

        Use it at once: the next call to ``at`` moves it elsewhere.
        """
        self._counter[:] = (block << _BLOCK_SHIFT, int(purpose), owner, 0)
        self._state["buffer_pos"] = 4  # discard buffered output of the previous position
        self._state["has_uint32"] = 0
        self._bitgen.state = self._state
        return self._generator

    def stream(self, purpose: int, owner: int, kind: str = "uniform", shape: float = 1.0):
        """A buffered stream of draws of one ``kind`` for ``(purpose, owner)``."""
        return Stream(self, purpose, owner, kind, shape)


class Stream:
    """Buffered draws of one kind ("uniform", "normal", "exponential" or "gamma")."""

    __slots__ = ("_streams", "_purpose", "_owner", "_kind", "_shape", "_block", "_buffer", "_pos")

    def __init__(self, streams: RandomStreams, purpose: int, owner: int, kind: str, shape: float):
        self._streams = streams
        self._purpose = purpose
        self._owner = owner
        self._kind = kind
        self._shape = shape
        self._block = -1
        self._buffer: list[float] = []
        self._pos = 0

    def next(self) -> float:
        """The next draw of this stream."""
        if self._pos >= len(self._buffer):
            self._refill()
        value = self._buffer[self._pos]
        self._pos += 1
        return value

    def _refill(self) -> None:
        self._block += 1
        size = _BLOCK_SIZES[min(self._block, len(_BLOCK_SIZES) - 1)]
        gen = self._streams.at(self._purpose, self._owner, self._block)
        if self._kind == "uniform":
            draws = gen.random(size)
        elif self._kind == "normal":
            draws = gen.standard_normal(size)
        elif self._kind == "exponential":
            draws = gen.standard_exponential(size)
        elif self._kind == "gamma":
            draws = gen.standard_gamma(self._shape, size)
        else:
            raise ValueError(f"unknown stream kind {self._kind!r}")
        self._buffer = draws.tolist()
        self._pos = 0
