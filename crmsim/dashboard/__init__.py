"""The classroom dashboard (``crmsim dashboard``): the lab in a browser, no Jupyter needed.

:mod:`crmsim.dashboard.app` is the Solara page; :mod:`~crmsim.dashboard.pool` the process pool
every simulation runs in; :mod:`~crmsim.dashboard.jobs` what those processes do;
:mod:`~crmsim.dashboard.uploads` the validation of uploaded scenario files;
:mod:`~crmsim.dashboard.text` the page's words in English and Chinese. :func:`serve` starts the
server (Solara's own ``solara run``) with the settings of :mod:`~crmsim.dashboard.config`.
"""

from __future__ import annotations

import os
import sys

from crmsim.dashboard.config import Settings

APP = "crmsim.dashboard.app"


def server_command(port: int, host: str) -> list[str]:
    """The ``solara run`` command line that serves the dashboard."""
    return [sys.executable, "-m", "solara", "run", APP, "--port", str(port), "--host", host,
            "--production", "--no-open", "--log-level", "warning"]


def serve(port: int = 8765, host: str = "localhost", settings: Settings | None = None) -> None:
    """Replace this process by the Solara server (Ctrl-C stops it); prints the address first."""
    settings = settings or Settings()
    if not _has_solara():
        from crmsim.errors import ScenarioError

        raise ScenarioError("the dashboard needs Solara: pip install 'crmsim[dashboard]'")
    env = {**os.environ, **settings.to_env()}
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
    print(f"crmsim dashboard: open http://{shown}:{port} in a browser "
          f"({settings.workers} simulation workers, at most {settings.max_customers:,} "
          f"customers per request; leaderboard from {settings.league}); Ctrl-C stops it",
          flush=True)
    command = server_command(port, host)
    os.execve(command[0], command, env)


def _has_solara() -> bool:
    try:
        import solara  # noqa: F401
    except ImportError:
        return False
    return True
