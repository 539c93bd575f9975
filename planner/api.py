"""The Python API: run scenarios and get results back as objects. Nothing here writes files."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from planner.analysis import collect
from planner.model.demand import JobBatch
from planner.model.fast import Engine, build_model
from planner.results import RunResult
from planner.scenario.schema import Scenario


def simulate(
    scenario: Scenario,
    seed: int = 0,
    *,
    jobs: JobBatch | None = None,
    replication: int = 0,
    progress: Callable[[float], None] | None = None,
    engine: Engine | None = None,
) -> RunResult:
    """Simulate one replication of ``scenario``.

    ``jobs`` replaces the tenants' generated workloads with an explicit job table (tenant indices
    refer to ``scenario.tenants``). ``progress`` is called with the fraction of the horizon
    simulated so far. The same scenario, seed and replication give the same result on
    either ``engine``: ``"reference"`` (SimPy), ``"fast"`` (compiled; raises if the scenario
    uses something it lacks) or ``"auto"`` (fast when it can, else the reference with a
    warning naming the field); the default is the scenario's ``engine`` field.
    """
    began = time.perf_counter()
    model = build_model(scenario, seed, jobs=jobs, replication=replication, engine=engine)
    model.run(progress)
    tables = collect(model.record())
    return RunResult(scenario, seed, tables, wall_s=time.perf_counter() - began)


def compare(
    scenario: Scenario,
    path: str,
    values: Sequence[Any],
    seed: int = 0,
    *,
    progress: Callable[[int, Any], None] | None = None,
) -> pd.DataFrame:
    """Run ``scenario`` once per value of the field at dotted ``path``, on the same seed.

    Returns the summaries side by side: one column per value (named by it as text), one row
    per summary key. ``compare(sc, "scheduler.kind", ["fifo", "backfill"])`` sets the policies
    against each other on the same demand, supply and failures. ``progress`` is called with
    each value's index and the value before its run.
    """
    columns: dict[str, pd.Series] = {}
    for i, value in enumerate(values):
        if progress is not None:
            progress(i, value)
        variant = scenario.with_overrides({path: value})
        columns[str(value)] = simulate(variant, seed).summary()
    return pd.DataFrame(columns)
