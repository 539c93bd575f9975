"""One-at-a-time sensitivity: how far a metric swings as each parameter moves across its range
while the others stay at their base values (the data of a tornado chart).

Every run, the base included, uses the same replications of one seed, so a swing measures the
parameter, not the noise between runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from planner.experiments.evaluate import Evaluation, scenario_data
from planner.experiments.replicate import run_all
from planner.scenario.schema import Scenario
from planner.stats import mean_ci

TORNADO_COLUMNS = (
    "parameter",
    "low_value",
    "high_value",
    "at_low",
    "at_low_half_width",
    "at_high",
    "at_high_half_width",
    "base",
    "swing",
)


def tornado(
    scenario: Scenario,
    ranges: Mapping[str, Sequence[Any]],
    metric: str,
    *,
    reps: int = 4,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """For each dotted path in ``ranges`` with its (low, high) values: ``metric`` at each end
    and at the base (means over ``reps`` replications, with 95% half-widths), and the
    swing |at_high - at_low|. Rows are sorted by swing, largest first. ``progress(done,
    total)`` is called as each run finishes."""
    for path, ends in ranges.items():
        if len(ends) != 2:
            raise ValueError(f"'{path}' needs exactly two values (low, high), got {list(ends)}")
        for value in ends:
            scenario.with_overrides({path: value})  # a bad value fails before any run
    data = scenario_data(scenario)
    variants: list[dict[str, Any]] = [{}]
    variants += [{path: value} for path, ends in ranges.items() for value in ends]
    jobs = [Evaluation(data, v, seed, r) for v in variants for r in range(reps)]
    rows = run_all(jobs, workers, progress)
    means: list[tuple[float, float]] = []
    for k in range(len(variants)):
        values = [float(row.get(metric, math.nan)) for row in rows[k * reps : (k + 1) * reps]]
        if reps >= 2 and all(math.isfinite(v) for v in values):
            ci = mean_ci(values)
            means.append((ci.mean, ci.half_width))
        else:
            means.append((sum(values) / len(values), math.nan))
    base = means[0][0]
    table = []
    for i, (path, (low, high)) in enumerate(ranges.items()):
        (at_low, low_hw), (at_high, high_hw) = means[1 + 2 * i], means[2 + 2 * i]
        table.append(
            (path, low, high, at_low, low_hw, at_high, high_hw, base, abs(at_high - at_low))
        )
    frame = pd.DataFrame(table, columns=list(TORNADO_COLUMNS))
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
