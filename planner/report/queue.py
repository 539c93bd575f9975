"""Figure data: the queue over time (jobs and GPUs waiting, daily time-averages)."""

from __future__ import annotations

import pandas as pd

from planner.report.calendar import as_dates, month_start


def queue_length(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Daily time-averaged jobs and GPUs queued: columns ``date``, ``jobs_queued``,
    ``gpus_queued``."""
    return pd.DataFrame(
        {
            "date": as_dates(timeseries["date"]).to_numpy(),
            "jobs_queued": timeseries["jobs_queued"].to_numpy(dtype=float),
            "gpus_queued": timeseries["gpus_queued"].to_numpy(dtype=float),
        }
    )


def monthly_queue(series: pd.DataFrame) -> pd.DataFrame:
    """Per month: the mean and the largest daily average of jobs queued, and mean GPUs queued."""
    grouped = series.groupby(month_start(series["date"]).rename("month"), sort=True)
    return pd.DataFrame(
        {
            "mean_jobs_queued": grouped["jobs_queued"].mean(),
            "max_daily_jobs_queued": grouped["jobs_queued"].max(),
            "mean_gpus_queued": grouped["gpus_queued"].mean(),
        }
    ).reset_index()
