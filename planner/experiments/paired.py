"""Paired differences between a sweep's points and a baseline point.

Every point of a sweep runs replication ``r`` on the same random streams (common random
numbers), so point and baseline see the same demand in replication ``r``. Their difference is
then taken replication by replication and the interval formed over those differences, which
cancels the noise the two share: far narrower than comparing the two points' own intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.stats import mean_ci

__all__ = ["mean_interval", "paired_differences"]

PARAM_PREFIX = "param."


def paired_differences(
    rows: pd.DataFrame,
    metrics: Sequence[str],
    baseline: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per point other than ``baseline`` and per metric: the mean over replications of
    (point - baseline), replication by replication, and its Student t interval at ``level``.

    ``rows`` are a sweep's rows (see :func:`planner.experiments.sweep.read_sweep`): one per
    point and replication, with ``point``, ``rep`` and the metrics. Only replications both
    points hold are paired. Columns: the ``param.*`` columns of the point, ``point``,
    ``metric``, ``n`` (replications paired), ``mean``, ``low``, ``high``. The interval is NaN
    with fewer than two pairs or a non-finite difference among them (an infinite wait).
    """
    points = sorted(int(p) for p in rows["point"].unique())
    if baseline not in points:
        raise ValueError(f"baseline point {baseline} is not among the sweep's points {points}")
    params = [str(c) for c in rows.columns if str(c).startswith(PARAM_PREFIX)]
    base = rows[rows["point"] == baseline].set_index("rep")
    records = []
    for point, group in rows[rows["point"] != baseline].groupby("point", sort=True):
        mine = group.set_index("rep")
        reps = mine.index.intersection(base.index).sort_values()
        head = {p: group[p].iloc[0] for p in params}
        for metric in metrics:
            with np.errstate(invalid="ignore"):  # inf - inf: no difference to speak of
                diffs = _numbers(mine.loc[reps, metric]) - _numbers(base.loc[reps, metric])
            mean, low, high = mean_interval(diffs, level)
            records.append(
                {**head, "point": point, "metric": metric, "n": len(diffs)}
                | {"mean": mean, "low": low, "high": high}
            )
    columns = [*params, "point", "metric", "n", "mean", "low", "high"]
    return pd.DataFrame.from_records(records, columns=columns)


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` and its Student t interval at ``level`` (see
    :func:`planner.stats.mean_ci`); the interval is NaN with fewer than two values or a
    non-finite one among them."""
    if len(values) >= 2 and np.isfinite(values).all():
        ci = mean_ci(values, level)
        return ci.mean, ci.low, ci.high
    return (float(values.mean()) if len(values) else math.nan), math.nan, math.nan


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
