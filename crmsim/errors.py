"""Errors that crmsim reports to its users.

Everything a user can get wrong (a scenario file, an override, a command-line value) is reported
as a :class:`ScenarioError` whose message names the file, the dotted key, the offending value and
what is allowed. The CLI turns it into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario (file, override or CLI value) that crmsim cannot accept.

    Attributes
    ----------
    problems:
        One line per problem, each already naming the key, the value and what is allowed.
    source:
        The file (or "override", "--set") the problems come from, if known.
    """

    def __init__(self, problems: list[str] | str, source: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        if len(self.problems) == 1:
            message = prefix + self.problems[0]
        else:
            message = prefix + f"{len(self.problems)} problems\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message)


class Interrupted(BaseException):
    """The run was stopped by a signal (Ctrl-C is SIGINT, ``kill`` is SIGTERM).

    Like ``KeyboardInterrupt`` it is not an ``Exception``, so nothing on the way up mistakes it
    for a failed replication. ``finished`` and ``total`` say how many runs had finished when it
    came (None when unknown); the CLI exits with 128 + the signal number.
    """

    def __init__(self, signum: int, finished: int | None = None, total: int | None = None):
        self.signum = signum
        self.finished = finished
        self.total = total
        super().__init__(signal_name(signum))


#: signals received by the command line's handler, in order (see :func:`raise_if_interrupted`)
RECEIVED_SIGNALS: list[int] = []


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` for a signal the handler received but whose exception was
    swallowed — Python ignores an exception raised while it runs an at-fork hook, so a signal
    that arrives just as a pool worker is forked would otherwise be lost. Called at safe
    points (after workers are started, between results)."""
    if RECEIVED_SIGNALS:
        raise Interrupted(RECEIVED_SIGNALS[0])


def signal_name(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def crmsim_line(err: BaseException) -> str | None:
    """Where in crmsim's own code an exception was raised: 'crmsim/policies/rewards.py:101
    (on_purchase)', the innermost crmsim frame of the original error.

    SimPy re-raises an exception from a process as a new exception whose ``__cause__`` is the
    original, so the traceback of what reaches the caller ends inside SimPy; the original
    error's traceback is followed instead.
    """
    import traceback
    from pathlib import Path

    package = Path(__file__).resolve().parent
    chain, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        chain.append(err)
        err = err.__cause__
    for exc in reversed(chain):  # the original error first
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).resolve().is_relative_to(package)]
        if frames:
            where = frames[-1]
            relative = Path(where.filename).resolve().relative_to(package.parent)
            return f"{relative.as_posix()}:{where.lineno} ({where.name})"
    return None


class WorkerLost(RuntimeWarning):
    """A worker process of an experiment died; its unfinished replications ran again."""
