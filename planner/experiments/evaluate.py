"""One evaluation of an experiment: a scenario with overrides, one replication, as one row.

Everything an experiment runs goes through :func:`evaluate`, in this process or in a worker
(a local process or a Dask worker). Its arguments are plain data (the scenario as a JSON-ready
dict), so they travel to any worker, and its result is a flat mapping of scalars, so rows from
anywhere compare equal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from planner.api import simulate
from planner.model.fast import build_model
from planner.scenario.schema import Scenario
from planner.summary import is_wait_metric, wait_metrics

Row = dict[str, Any]


@dataclass(frozen=True)
class Evaluation:
    """What to run: a scenario (as plain data), overrides, a seed and a replication index.

    Replication ``r`` of seed ``s`` draws every random source from its own stream keyed by
    (s, r, source name), so two evaluations that differ only in their overrides see the same
    demand, supply and failures: common random numbers.
    """

    scenario: Mapping[str, Any]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    replication: int = 0
    # The summary keys the caller reads (None: all). When every one is a wait metric, only
    # the jobs table is built, not every table.
    metrics: tuple[str, ...] | None = None


def scenario_data(sc: Scenario) -> dict[str, Any]:
    """A scenario as plain data that validates back to the same scenario."""
    data: dict[str, Any] = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


def evaluate(job: Evaluation) -> Row:
    """Run one evaluation and return its summary as a row of scalars (NaN for missing)."""
    sc = Scenario.model_validate(job.scenario)
    if job.overrides:
        sc = sc.with_overrides(dict(job.overrides))
    if job.metrics and all(is_wait_metric(m) for m in job.metrics):
        model = build_model(sc, job.seed, replication=job.replication)
        model.run()
        summary: Mapping[Any, Any] = wait_metrics(model.record())
    else:
        summary = simulate(sc, job.seed, replication=job.replication).summary().to_dict()
    row: Row = {}
    for key, value in summary.items():
        row[str(key)] = _scalar(value)
    return row


def _scalar(value: Any) -> Any:
    """Numbers as float (ints too, so a column keeps one type across rows); text as is."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return str(value)
