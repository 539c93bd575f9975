"""planner: a discrete-event simulation of a GPU fleet under export controls, for capacity planning.

>>> import planner
>>> sc = planner.load_scenario("mmc")
>>> res = planner.simulate(sc, seed=1)
"""

from planner.api import compare, simulate
from planner.errors import ScenarioError
from planner.results import RunResult
from planner.scenario import Scenario, load_scenario

__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "compare",
    "load_scenario",
    "simulate",
]
__version__ = "0.1.0"
