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
