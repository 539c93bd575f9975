"""Figure data: a sweep's response curves, each headline metric's mean and 95% interval
across replications at every point of the sweep, inside the metric's range (see
:func:`planner.stats.bounded_ci`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.experiments.replicate import metric_ci

PARAM_PREFIX = "param."
HEADLINE_METRICS = ("utilisation", "wait_p95_h.paying", "revenue_usd", "capex_monetised_share")


def parameters(rows: pd.DataFrame) -> list[str]:
    """The swept parameters (``param.<path>`` columns), in the order the sweep gave them."""
    return [str(c) for c in rows.columns if str(c).startswith(PARAM_PREFIX)]


def varied(rows: pd.DataFrame) -> list[str]:
    """The swept parameters that take more than one value."""
    return [p for p in parameters(rows) if len(set(rows[p].astype(str))) > 1]


def headline_metrics(rows: pd.DataFrame, wanted: Sequence[str] = HEADLINE_METRICS) -> list[str]:
    """The metrics of ``wanted`` the rows hold as numbers, with at least one finite value."""
    found = []
    for metric in wanted:
        if metric in rows:
            values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
            if np.isfinite(values).any():
                found.append(metric)
    return found


def response_curves(
    rows: pd.DataFrame, metrics: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Per point and metric: the replications' mean and its t-interval at ``level``.

    Columns: the ``param.*`` columns, ``point``, ``metric``, ``n`` (replications), ``mean``,
    ``low``, ``high``. The interval is NaN with fewer than two replications or a non-finite
    value among them (an infinite wait makes the mean infinite).
    """
    params = parameters(rows)
    records = []
    for point, group in rows.groupby("point", sort=True):
        head = {p: group[p].iloc[0] for p in params}
        for metric in metrics:
            values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=float)
            mean = float(values.mean()) if len(values) else math.nan
            low = high = math.nan
            if len(values) >= 2 and np.isfinite(values).all():
                ci = metric_ci(metric, values, level)
                mean, low, high = ci.mean, ci.low, ci.high
            records.append(
                {**head, "point": point, "metric": metric, "n": len(values)}
                | {"mean": mean, "low": low, "high": high}
            )
    columns = [*params, "point", "metric", "n", "mean", "low", "high"]
    return pd.DataFrame.from_records(records, columns=columns)


def response_table(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per point: its parameters, replications, and each metric's mean and interval."""
    params = [c for c in curves.columns if str(c).startswith(PARAM_PREFIX)]
    points = curves.drop_duplicates("point")[["point", *params, "n"]].set_index("point")
    for metric, group in curves.groupby("metric", sort=False):
        by_point = group.set_index("point")
        points[f"{metric} mean"] = by_point["mean"]
        points[f"{metric} low"] = by_point["low"]
        points[f"{metric} high"] = by_point["high"]
    return points.reset_index()


def x_parameter(rows: pd.DataFrame) -> str | None:
    """The parameter along the x axis: the first varied one with numeric values, else the
    first varied one; None when nothing varies."""
    moving = varied(rows)
    for p in moving:
        if pd.api.types.is_numeric_dtype(rows[p]) and not pd.api.types.is_bool_dtype(rows[p]):
            return p
    return moving[0] if moving else None
