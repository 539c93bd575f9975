"""Independent replications of one scenario, and a confidence interval for every metric.

One run is one sample path: its jobs' waits are correlated, so an interval is formed across
replications, each reduced to its summary (see :mod:`planner.stats`). Replication ``r`` draws
from streams keyed by (seed, r, source), so two plans replicated on the same seed see the same
demand, supply and failures, replication by replication (common random numbers); their
difference then has far less noise than either.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner.experiments.evaluate import Evaluation, Row, evaluate, scenario_data
from planner.experiments.pool import map_in_order
from planner.scenario.schema import Scenario
from planner.stats import Interval, bounded_ci
from planner.summary import metric_range


@dataclass(frozen=True)
class Replications:
    """The replications' summaries (``runs``: one row each, with ``rep``) and their level."""

    runs: pd.DataFrame
    level: float = 0.95

    def interval(self, metric: str) -> Interval:
        """The ``level`` confidence interval for the mean of ``metric`` across replications,
        inside the metric's range (:func:`planner.summary.metric_range`)."""
        return metric_ci(metric, self.runs[metric].to_numpy(dtype=float), self.level)

    def summary(self) -> pd.DataFrame:
        """Per numeric metric: mean, low, high, half_width, n and the interval's method.

        Each interval stays inside its metric's range: ``log`` for metrics that cannot go
        below zero, ``logit`` for shares, ``t`` (Student t) for the rest (see
        :func:`planner.stats.bounded_ci`). A metric that is NaN in some replication
        (undefined there, e.g. a class with no jobs) gets its interval over the others, with
        a smaller n; with fewer than two, only a mean.
        """
        rows = {}
        for metric in self.runs.columns:
            if metric in ("rep", "seed"):
                continue
            values = pd.to_numeric(self.runs[metric], errors="coerce").to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if len(finite) == 0:
                continue
            if len(finite) < 2:
                mean = float(finite[0])
                rows[metric] = (mean, math.nan, math.nan, math.nan, 1, "")
                continue
            ci = metric_ci(str(metric), finite, self.level)
            rows[metric] = (ci.mean, ci.low, ci.high, ci.half_width, ci.n, ci.method)
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["mean", "low", "high", "half_width", "n", "interval"]
        )


def metric_ci(metric: str, values: Iterable[float], level: float = 0.95) -> Interval:
    """The confidence interval for the mean of summary metric ``metric`` inside its range."""
    low, high = metric_range(metric)
    return bounded_ci(values, level, low=low, high=high)


def replicate(
    scenario: Scenario,
    reps: int,
    seed: int = 0,
    *,
    overrides: Mapping[str, Any] | None = None,
    level: float = 0.95,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Replications:
    """Run ``reps`` replications (0 .. reps-1) of ``scenario`` on ``seed``.

    ``workers`` > 1 runs them on that many local processes; the result is the same.
    ``progress(done, reps)`` is called as each finishes.
    """
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    data = scenario_data(scenario)
    jobs = [Evaluation(data, dict(overrides or {}), seed, r) for r in range(reps)]
    runs = pd.DataFrame(run_all(jobs, workers, progress))
    runs.insert(0, "rep", range(reps))
    return Replications(runs, level)


def run_all(
    jobs: Iterable[Evaluation],
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[Row]:
    """Every evaluation's row, in order, run here or on ``workers`` local processes.

    ``progress(done, total)`` is called as each finishes (in order). An interrupt stops the
    workers at once (see :mod:`planner.experiments.pool`).
    """
    return map_in_order(evaluate, jobs, workers, progress)
