"""planner: a discrete-event simulation of a GPU fleet under export controls, for capacity planning.

>>> import planner
>>> sc = planner.load_scenario("mmc")
>>> res = planner.simulate(sc, seed=1)

The names below are imported on first use, so ``import planner`` (and a command that runs no
simulation) does not pay for pandas, SciPy and the engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, as the type checker should see them
    from planner import plot as plot
    from planner.api import compare as compare
    from planner.api import simulate as simulate
    from planner.errors import ScenarioError as ScenarioError
    from planner.experiments import plan as plan
    from planner.experiments.replicate import Replications as Replications
    from planner.experiments.replicate import replicate as replicate
    from planner.experiments.sensitivity import tornado as tornado
    from planner.experiments.sweep import read_sweep as read_sweep
    from planner.experiments.sweep import sweep as sweep
    from planner.results import RunResult as RunResult
    from planner.scenario import Scenario as Scenario
    from planner.scenario import load_scenario as load_scenario

_HOMES = {
    "Replications": "planner.experiments.replicate",
    "RunResult": "planner.results",
    "Scenario": "planner.scenario",
    "ScenarioError": "planner.errors",
    "compare": "planner.api",
    "load_scenario": "planner.scenario",
    "plan": "planner.experiments.plan",
    "plot": "planner.plot",
    "read_sweep": "planner.experiments.sweep",
    "replicate": "planner.experiments.replicate",
    "simulate": "planner.api",
    "sweep": "planner.experiments.sweep",
    "tornado": "planner.experiments.sensitivity",
}
__all__ = sorted(_HOMES)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, and keep it here."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    module = import_module(home)
    value = module if home.endswith(f".{name}") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
