"""crmsim — a simulation and teaching lab for customer relationship management (客户关系管理).

>>> import crmsim
>>> sc = crmsim.load_scenario("retail_baseline")
>>> res = crmsim.simulate(sc.with_overrides({"customers.initial": 50, "horizon": 60}), seed=1)
>>> res.kpis["initial"], res.kpis["acquired"] == res.kpis["acquired_paid"]
(50, True)
"""

from crmsim.calibration import Calibration, calibrate
from crmsim.database import sql
from crmsim.errors import ScenarioError
from crmsim.executors import Executor, executor
from crmsim.experiment import Comparison, compare, sweep
from crmsim.holdout_check import Holdout, holdout
from crmsim.results import KPI_DESCRIPTIONS, RunResult
from crmsim.scenario import Scenario, load_scenario
from crmsim.simulation import simulate

__version__ = "0.1.0"

__all__ = [
    "Calibration", "calibrate",
    "Comparison",
    "compare",
    "Executor", "executor",
    "Holdout", "holdout",
    "sweep",
    "KPI_DESCRIPTIONS",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "simulate",
    "sql",
    "__version__",
]
