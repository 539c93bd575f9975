"""Figure data: the path a planning query's search took, one evaluation per step."""

from __future__ import annotations

import pandas as pd

SEARCH_COLUMNS = (
    "step",
    "candidate",
    "metric_mean",
    "metric_low",
    "metric_high",
    "meets",
    "objective_mean",
)


def search_path(evaluations: pd.DataFrame) -> pd.DataFrame:
    """The evaluations in the order they were made: the candidate tried at each step, the
    metric's mean and interval there, whether it met the target, and the objective's mean
    (NaN for queries without one)."""
    frame = evaluations.sort_values("step", kind="stable").reset_index(drop=True)
    objective = frame["objective_mean"] if "objective_mean" in frame else float("nan")
    return pd.DataFrame(
        {
            "step": frame["step"].astype(int),
            "candidate": frame["x"].astype(float),
            "metric_mean": frame["metric_mean"].astype(float),
            "metric_low": frame["metric_low"].astype(float),
            "metric_high": frame["metric_high"].astype(float),
            "meets": frame["meets"].astype(str).str.lower().isin(["true", "1", "1.0"]),
            "objective_mean": objective,
        },
        columns=list(SEARCH_COLUMNS),
    )
