"""Figure data: GPUs down for repair over time, node failures by month, and goodput per cohort
(GPU-hours of kept progress / GPU-hours held)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from planner.report.calendar import as_dates, month_start, timestamps


def gpus_down(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Daily time-averaged GPUs down: columns ``date``, ``gpus_down``."""
    return pd.DataFrame(
        {
            "date": as_dates(timeseries["date"]).to_numpy(),
            "gpus_down": timeseries["gpus_down"].to_numpy(dtype=float),
        }
    )


def monthly_failures(series: pd.DataFrame, failures: pd.DataFrame, start: date) -> pd.DataFrame:
    """Per month: node failures, GPUs on failed nodes, failures a spare covered, and the mean
    and largest daily average of GPUs down."""
    down = series.groupby(month_start(series["date"]).rename("month"), sort=True)["gpus_down"]
    out = pd.DataFrame({"mean_gpus_down": down.mean(), "max_daily_gpus_down": down.max()})
    months = month_start(timestamps(start, failures["t_h"].to_numpy())).rename("month")
    grouped = failures.groupby(months.to_numpy(), sort=True)
    counts = pd.DataFrame(
        {
            "node_failures": grouped.size(),
            "failed_gpus": grouped["gpus"].sum(),
            "spares_used": grouped["spare_used"].sum(),
        }
    )
    out = out.join(counts, how="left").fillna(
        {"node_failures": 0, "failed_gpus": 0, "spares_used": 0}
    )
    for column in ("node_failures", "failed_gpus", "spares_used"):
        out[column] = out[column].astype(np.int64)
    out.index.name = "month"
    return out.reset_index()[
        [
            "month",
            "node_failures",
            "failed_gpus",
            "spares_used",
            "mean_gpus_down",
            "max_daily_gpus_down",
        ]
    ]


def cohort_goodput(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Per cohort: node failures, GPU-hours held and lost to failures, and goodput."""
    return pd.DataFrame(
        {
            "cohort": cohorts["cohort"].astype(str),
            "node_failures": cohorts["node_failures"],
            "busy_gpu_h": cohorts["busy_gpu_h"],
            "lost_gpu_h": cohorts["lost_gpu_h"],
            "goodput": cohorts["goodput"],
        }
    ).reset_index(drop=True)
