"""The Python API: run scenarios and get results back as objects. Nothing here writes files."""

from __future__ import annotations

import time
from collections.abc import Callable

from planner.analysis import collect
from planner.model.demand import JobBatch
from planner.model.engine import Model
from planner.results import RunResult
from planner.scenario.schema import Scenario


def simulate(
    scenario: Scenario,
    seed: int = 0,
    *,
    jobs: JobBatch | None = None,
    replication: int = 0,
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Simulate one replication of ``scenario``.

    ``jobs`` replaces the tenants' generated workloads with an explicit job table (tenant indices
    refer to ``scenario.tenants``). ``progress`` is called with the fraction of the horizon
    simulated so far. The same scenario, seed and replication give the same result.
    """
    began = time.perf_counter()
    model = Model(scenario, seed, jobs=jobs, replication=replication)
    model.run(progress)
    tables = collect(model)
    return RunResult(scenario, seed, tables, wall_s=time.perf_counter() - began)
