"""The dashboard server's settings, passed from ``crmsim dashboard`` to the Solara server process
through environment variables (the server is started by ``solara run``, a separate program)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crmsim.errors import ScenarioError

_PREFIX = "CRMSIM_DASHBOARD_"


@dataclass(frozen=True)
class Settings:
    """``workers``: simulation processes shared by all students; ``max_customers``: the largest
    request (customers simulated, summed over its runs) the server accepts; ``league``: the
    folder of a tournament's leaderboard (``crmsim tournament ... --out``)."""

    workers: int = 2
    max_customers: int = 100_000
    league: Path = Path("out/league")

    def __post_init__(self):
        if self.workers < 1:
            raise ScenarioError(f"--workers = {self.workers}: must be at least 1")
        if self.max_customers < 1:
            raise ScenarioError(f"--max-customers = {self.max_customers}: must be at least 1")

    def to_env(self) -> dict[str, str]:
        return {f"{_PREFIX}WORKERS": str(self.workers),
                f"{_PREFIX}MAX_CUSTOMERS": str(self.max_customers),
                f"{_PREFIX}LEAGUE": str(Path(self.league).resolve())}

    @classmethod
    def from_env(cls) -> Settings:
        default = cls()
        env = os.environ
        return cls(workers=int(env.get(f"{_PREFIX}WORKERS", default.workers)),
                   max_customers=int(env.get(f"{_PREFIX}MAX_CUSTOMERS", default.max_customers)),
                   league=Path(env.get(f"{_PREFIX}LEAGUE", default.league)))
