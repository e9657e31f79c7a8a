"""Random streams: one SeedSequence per run, independent streams per customer and purpose.

Common random numbers (CRN) need every customer to draw from streams of its own, so that a policy
that never touches a customer leaves that customer's draws unchanged, and so that purchase timing
does not shift when, say, a failure draw is added to each purchase. Building a numpy Generator per
customer and purpose costs ~20 µs and hundreds of bytes, too much for a million customers.

Instead the run holds one counter-based Philox bit generator (numpy's, keyed from the run's
``SeedSequence``). Philox maps a 256-bit counter to random output, so any stream can be reached by
setting the counter; repositioning costs ~3 µs. Two layouts of the counter are used:

* *rows* ``(owner · steps + i, block, purpose, 1)``: the rows of consecutive owners are
  adjacent, so :meth:`RandomStreams.uniform_rows` draws the rows of a whole population in one
  vectorized call, and one owner's row is the same whether drawn alone or with the others
  (uniform doubles consume exactly one 64-bit output each);
* *streams* ``(block << 32, purpose, owner, 0)`` for :class:`Stream`.

* :class:`CustomerDraws` — a customer's draws *indexed by its event number*: row k holds, one
  column per :class:`Column`, every draw that the customer's k-th purchase (or renewal) may need —
  the gap to the next purchase, the churn decision, the experience noise, the spend, the service
  failure... Columns advance together, so one block serves every purpose, and purchase k's spend
  is the same in two scenarios even if one of them took an extra decision earlier. A new purpose
  takes a spare column; columns never move, so adding one shifts nothing.
* :class:`Stream` — a plain buffered stream for processes that are not tied to purchases (the
  firm's acquisition arrivals, a customer's service contacts).

The draws of ``(run seed, purpose, owner)`` are a pure function of those numbers: they do not
depend on how many other customers exist or in which order they ran.
"""

from __future__ import annotations

from array import array
from enum import IntEnum

import numpy as np
from scipy import special


class Purpose(IntEnum):
    """What a stream of the core model is used for; each is independent of the others.

    Policies number their own streams (``Policy.PURPOSES``, checked unique by the registry).
    """

    TRAITS = 0  # latent traits, drawn once at creation
    EVENTS = 1  # a customer's per-event draws (CustomerDraws)


class Column(IntEnum):
    """Columns of a customer's per-event draws (fixed forever: new purposes take spares)."""

    TIMING = 0  # uniform → the gap to the next purchase, −log(1 − u) / λ
    CHURN = 1  # uniform for the churn decision after this event
    EXPERIENCE = 2  # standard normal (inverse CDF): perceived-quality noise of this event
    SPEND = 3  # standard gamma(p) (inverse CDF): spend of this purchase is this / ν
    FAILURE = 4  # uniform: does this event fail?
    COMPLAINT = 5  # uniform: does the customer complain about it?
    RECOVERY = 6  # uniform: is the complaint resolved?
    SPARE = 7


N_COLUMNS = len(Column)
#: rows of block 0, 1, 2, ... (the last size repeats): short lives stay small
ROW_BLOCKS = (4, 8, 16)
_ROW_STARTS = (0, 4, 12)
_BLOCK_SHIFT = 32  # a stream block may use up to 2**32 Philox counter steps without overlap
_ROWS_LAYOUT, _STREAM_LAYOUT = 1, 0
# plain ints and functions for the hot path (an IntEnum indexes numpy more slowly)
_LAST_BLOCK = len(ROW_BLOCKS) - 1
_STEPS_PER_ROW = N_COLUMNS // 4  # Philox gives 4 outputs a counter step
_EVENTS = int(Purpose.EVENTS)
_EXPERIENCE, _SPEND = int(Column.EXPERIENCE), int(Column.SPEND)
_ndtri, _gammaincinv = special.ndtri, special.gammaincinv


class RandomStreams:
    """All random numbers of one run, derived from one ``numpy.random.SeedSequence``."""

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.seed_sequence = seed_sequence
        key = seed_sequence.generate_state(2, np.uint64)
        self._bitgen = np.random.Philox(key=key)
        self._generator = np.random.Generator(self._bitgen)
        self._state = self._bitgen.state
        self._counter = self._state["state"]["counter"]

    def _at_counter(self, words) -> np.random.Generator:
        self._counter[:] = words
        self._state["buffer_pos"] = 4  # discard buffered output of the previous position
        self._state["has_uint32"] = 0
        self._bitgen.state = self._state
        return self._generator

    def at(self, purpose: int, owner: int, block: int = 0) -> np.random.Generator:
        """The run's generator positioned at stream ``(purpose, owner, block)``; use it at once."""
        return self._at_counter((block << _BLOCK_SHIFT, int(purpose), owner, _STREAM_LAYOUT))

    def uniform_rows(self, purpose: int, block: int, first_owner: int, owners: int,
                     per_owner: int) -> np.ndarray:
        """Uniforms of shape (owners, per_owner) for owners first_owner, first_owner + 1, ...

        Row j depends only on (run seed, purpose, block, first_owner + j): drawing owners one at
        a time or all at once gives the same numbers.
        """
        if per_owner % 4:
            raise ValueError("per_owner must be a multiple of 4 (Philox gives 4 outputs a step)")
        steps = per_owner // 4
        gen = self._at_counter((first_owner * steps, block, int(purpose), _ROWS_LAYOUT))
        return gen.random(owners * per_owner).reshape(owners, per_owner)

    def stream(self, purpose: int, owner: int, kind: str = "uniform", shape: float = 1.0):
        """A buffered stream of draws of one ``kind`` for ``(purpose, owner)``."""
        return Stream(self, purpose, owner, kind, shape)

    def event_rows(self, block: int, first_owner: int, owners: int,
                   spend_shapes: np.ndarray) -> np.ndarray:
        """Block ``block`` of per-event draws for consecutive owners: (owners · rows, N_COLUMNS).

        ``spend_shapes`` holds each owner's Gamma–Gamma p (NaN for a constant spend).
        """
        rows = ROW_BLOCKS[min(block, len(ROW_BLOCKS) - 1)]
        data = self.uniform_rows(Purpose.EVENTS, block, first_owner, owners,
                                 rows * N_COLUMNS).reshape(owners * rows, N_COLUMNS)
        data[:, Column.EXPERIENCE] = special.ndtri(data[:, Column.EXPERIENCE])
        shapes = np.repeat(spend_shapes, rows)
        gamma = ~np.isnan(shapes)
        if gamma.any():
            data[gamma, Column.SPEND] = special.gammaincinv(shapes[gamma],
                                                            data[gamma, Column.SPEND])
        return data

    def customer_rows(self, block: int, owner: int, spend_shape: float) -> np.ndarray:
        """:meth:`event_rows` for one owner (the same numbers, without the vector machinery).

        This runs whenever a customer outgrows its block of draws (about once a customer in a
        year of retail), so it is written for speed: the transformations work in place on the
        columns (the same ufuncs element by element, so the same numbers)."""
        rows = ROW_BLOCKS[block if block < _LAST_BLOCK else _LAST_BLOCK]
        data = self._at_counter((owner * rows * _STEPS_PER_ROW, block, _EVENTS, _ROWS_LAYOUT)
                                ).random((rows, N_COLUMNS))
        column = data[:, _EXPERIENCE]
        _ndtri(column, out=column)
        if spend_shape == spend_shape:  # not NaN: Gamma–Gamma spend
            column = data[:, _SPEND]
            _gammaincinv(spend_shape, column, out=column)
        return data

    def own_block(self, owner: int, k: int, spend_shape: float,
                  width: int = N_COLUMNS) -> DrawBlock:
        """The :class:`DrawBlock` of one owner that holds its event ``k``."""
        block, first_row = block_of_row(k)
        data = self.customer_rows(block, owner, spend_shape)
        return DrawBlock(data, owner, first_row, len(data), width)


def block_of_row(k: int) -> tuple[int, int]:
    """(block, first row of that block) for a customer's event number ``k``."""
    if k < _ROW_STARTS[-1]:
        block = 0 if k < _ROW_STARTS[1] else 1
        return block, _ROW_STARTS[block]
    last = len(_ROW_STARTS) - 1
    extra = (k - _ROW_STARTS[-1]) // ROW_BLOCKS[-1]
    return last + extra, _ROW_STARTS[-1] + extra * ROW_BLOCKS[-1]


def event_draws(uniforms, spend_shape: float) -> list[float]:
    """One row of per-event draws from ``N_COLUMNS`` uniforms: the same transformations as
    :meth:`RandomStreams.event_rows` (standard-normal experience noise, Gamma(p) spend for a
    Gamma–Gamma shape p, NaN for a constant spend). For an extra event a policy draws from its
    own stream (:meth:`crmsim.model.market.Market.purchase`)."""
    row = [float(u) for u in uniforms]
    if len(row) != N_COLUMNS:
        raise ValueError(f"an event needs {N_COLUMNS} uniforms, got {len(row)}")
    row[Column.EXPERIENCE] = float(special.ndtri(row[Column.EXPERIENCE]))
    if spend_shape == spend_shape:  # not NaN: Gamma–Gamma spend
        row[Column.SPEND] = float(special.gammaincinv(spend_shape, row[Column.SPEND]))
    return row


class DrawBlock:
    """A block of per-event draws of consecutive owners, as one flat ``array('d')``.

    Rows ``first_row, ..., first_row + rows − 1`` of owners ``first_owner, first_owner + 1,
    ...``, each row the first ``width`` columns of :class:`Column` (a run keeps only the columns
    its model and policies read: :attr:`crmsim.model.policy.Policy.DRAW_COLUMNS`; the values are
    the same whatever the width). Block 0 of a whole population is one ``DrawBlock`` shared by
    its customers; a customer's later blocks are drawn for it alone
    (:meth:`RandomStreams.own_block`). An ``array('d')`` costs 8 bytes a value and hands out
    plain Python floats, so reading a row allocates nothing.
    """

    __slots__ = ("data", "first_owner", "first_row", "rows", "width")

    def __init__(self, rows_data: np.ndarray, first_owner: int, first_row: int, rows: int,
                 width: int = N_COLUMNS):
        """``rows_data``: (owners · rows, ≥ width) from :meth:`RandomStreams.event_rows`."""
        self.data = array("d", rows_data[:, :width].tobytes())  # (tobytes: C order)
        self.first_owner = first_owner
        self.first_row = first_row
        self.rows = rows
        self.width = width

    def start(self, owner: int, k: int) -> int:
        """Where row ``k`` of ``owner`` starts in :attr:`data` (−1: not in this block)."""
        i = k - self.first_row
        if 0 <= i < self.rows:
            return ((owner - self.first_owner) * self.rows + i) * self.width
        return -1

    def row(self, owner: int, k: int) -> list[float]:
        """Row ``k`` of ``owner`` as a list (it must be in this block)."""
        at = self.start(owner, k)
        if at < 0:
            raise IndexError(f"row {k} of owner {owner} is not in this block")
        return self.data[at:at + self.width].tolist()


class CustomerDraws:
    """One customer's per-event draws: ``row(k)`` is a list with one value per :class:`Column`.

    Block 0 is a slice of the population's block (drawn for all customers at once, see
    :meth:`RandomStreams.event_rows`); later blocks are drawn for this customer alone when its
    k-th event needs them. Only the current block is kept (rows are read in order). (The model
    keeps a customer's current :class:`DrawBlock` itself, without this wrapper.)
    """

    __slots__ = ("_streams", "_owner", "_spend_shape", "_block")

    def __init__(self, streams: RandomStreams, owner: int, spend_shape: float,
                 block0: np.ndarray, first_owner: int):
        """``block0`` holds the first block of owners ``first_owner, first_owner + 1, ...``."""
        self._streams = streams
        self._owner = owner
        self._spend_shape = spend_shape
        self._block = DrawBlock(block0, first_owner, 0, ROW_BLOCKS[0])

    @property
    def spend_shape(self) -> float:
        """The customer's Gamma–Gamma spend shape p (NaN: a constant spend)."""
        return self._spend_shape

    def row(self, k: int) -> list[float]:
        """The draws of the customer's event ``k`` (0 = the acquisition purchase/payment)."""
        if self._block.start(self._owner, k) < 0:
            self._block = self._streams.own_block(self._owner, k, self._spend_shape)
        return self._block.row(self._owner, k)


class Stream:
    """Buffered draws of one kind ("uniform", "normal", "exponential" or "gamma").

    The buffer is an ``array('d')`` (8 bytes a draw; reading one gives a plain Python float):
    a service desk keeps a stream per customer, whose buffer of up to 64 draws would cost
    2 KB a customer as a list of floats."""

    __slots__ = ("_streams", "_purpose", "_owner", "_kind", "_shape", "_block", "_buffer", "_pos")

    def __init__(self, streams: RandomStreams, purpose: int, owner: int, kind: str, shape: float):
        self._streams = streams
        self._purpose = purpose
        self._owner = owner
        self._kind = kind
        self._shape = shape
        self._block = -1
        self._buffer = array("d")
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
        size = _STREAM_BLOCKS[min(self._block, len(_STREAM_BLOCKS) - 1)]
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
        self._buffer = array("d", draws.tobytes())
        self._pos = 0


_STREAM_BLOCKS = (4, 8, 16, 32, 64)
