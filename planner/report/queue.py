"""Figure data: the queue over time (jobs and GPUs waiting, daily time-averages), in total and
broken down by tenant class and by the pool each waiting job went on to start on, so a pool
that idles while jobs wait for another (or for the same one, behind a blocked head) shows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from planner.analysis.timeseries import queued_daily_means
from planner.report.calendar import as_dates, month_start, timestamps
from planner.report.utilisation import pool_label
from planner.report.waits import censored_waits_h

NOT_STARTED = "not started by the horizon"


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


def job_pools(jobs: pd.DataFrame) -> np.ndarray:
    """The pool each job started on (``MODEL · region``), or :data:`NOT_STARTED`."""
    started = ~np.isnan(jobs["start_h"].to_numpy(dtype=np.float64, na_value=np.nan))
    models = jobs["gpu_model"].astype(str).to_numpy()
    regions = jobs["region"].astype(str).to_numpy()
    return np.array(
        [
            pool_label(m, r) if ok else NOT_STARTED
            for m, r, ok in zip(models, regions, started, strict=True)
        ],
        dtype=object,
    )


def queued_by(
    jobs: pd.DataFrame, start: date, horizon_h: float, groups: np.ndarray
) -> pd.DataFrame:
    """Daily time-averaged jobs and GPUs waiting, per group (``groups``, one label per job).

    A job waits from its submission to its first start (or the horizon), as the run's
    ``timeseries`` counts it, so the groups add up to its ``jobs_queued`` and ``gpus_queued``.
    Columns ``date``, ``group``, ``jobs_queued``, ``gpus_queued``; one row per day and group,
    groups in sorted order, :data:`NOT_STARTED` last.
    """
    submit = jobs["submit_h"].to_numpy(dtype=np.float64)
    first = jobs["start_h"].to_numpy(dtype=np.float64, na_value=np.nan)
    gpus = jobs["gpus"].to_numpy(dtype=np.float64)
    days = int(np.ceil(horizon_h / 24.0 - 1e-9))
    dates = timestamps(start, np.arange(days) * 24.0).to_numpy()
    names = sorted(set(groups.tolist()), key=lambda g: (g == NOT_STARTED, str(g)))
    frames = []
    for name in names:
        mine = groups == name
        began = mine & ~np.isnan(first)
        jobs_queued, gpus_queued = queued_daily_means(
            submit[mine], first[began], gpus[mine], gpus[began], horizon_h
        )
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "group": str(name),
                    "jobs_queued": jobs_queued[:days],
                    "gpus_queued": gpus_queued[:days],
                }
            )
        )
    columns = ["date", "group", "jobs_queued", "gpus_queued"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def monthly_by(series: pd.DataFrame, value: str) -> pd.DataFrame:
    """:func:`queued_by`'s ``value`` as monthly means, one row per month, a column per group."""
    frame = series.assign(month=month_start(pd.Series(pd.to_datetime(series["date"]))))
    wide = frame.pivot_table(
        index="month", columns="group", values=value, aggfunc="mean", sort=False
    )
    order = list(dict.fromkeys(series["group"]))
    wide = wide[[g for g in order if g in wide.columns]]
    unit = "jobs" if value == "jobs_queued" else "GPUs"
    wide.columns = [f"{g} ({unit})" for g in wide.columns]
    return wide.sort_index().reset_index()


def pool_waits(jobs: pd.DataFrame, start: date, horizon_h: float) -> pd.DataFrame:
    """Per month of submission and pool started on: jobs and their p95 wait (hours), jobs
    still queued at the horizon under :data:`NOT_STARTED` waiting until then. Columns
    ``month``, ``pool``, ``jobs``, ``p95_wait_h``."""
    frame = pd.DataFrame(
        {
            "month": month_start(timestamps(start, jobs["submit_h"].to_numpy())),
            "pool": job_pools(jobs),
            "wait_h": censored_waits_h(jobs, horizon_h),
        }
    )
    grouped = frame.groupby(["month", "pool"], sort=True)["wait_h"]
    out = pd.DataFrame({"jobs": grouped.size(), "p95_wait_h": grouped.quantile(0.95)})
    return out.reset_index()
