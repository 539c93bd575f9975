"""planner: a discrete-event simulation of a GPU fleet under export controls, for capacity planning.

>>> import planner
>>> sc = planner.load_scenario("mmc")
>>> res = planner.simulate(sc, seed=1)
"""

from planner.api import compare, simulate
from planner.errors import ScenarioError
from planner.experiments import plan
from planner.experiments.replicate import Replications, replicate
from planner.experiments.sensitivity import tornado
from planner.experiments.sweep import read_sweep, sweep
from planner.results import RunResult
from planner.scenario import Scenario, load_scenario

__all__ = [
    "Replications",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "compare",
    "load_scenario",
    "plan",
    "read_sweep",
    "replicate",
    "simulate",
    "sweep",
    "tornado",
]
__version__ = "0.1.0"
