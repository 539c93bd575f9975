"""Figure data: p50 and p95 waits per tenant class, by the calendar month jobs were submitted."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from planner.report.calendar import month_start, timestamps


def censored_waits_h(jobs: pd.DataFrame, horizon_h: float) -> np.ndarray:
    """Each job's wait, a job still queued at the horizon counting as waiting until then (as
    the headline percentiles count it: a lower bound)."""
    waits = jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan)
    submit = jobs["submit_h"].to_numpy(dtype=np.float64)
    return np.where(np.isnan(waits), horizon_h - submit, waits)


def monthly_waits(jobs: pd.DataFrame, start: date, horizon_h: float) -> pd.DataFrame:
    """Per month of submission and tenant class: jobs, and the p50 and p95 wait (hours).

    Percentiles interpolate linearly between order statistics, as the summary's do. Columns
    ``month``, ``tenant_class``, ``jobs``, ``p50_wait_h``, ``p95_wait_h``.
    """
    frame = pd.DataFrame(
        {
            "month": month_start(timestamps(start, jobs["submit_h"].to_numpy())),
            "tenant_class": jobs["tenant_class"].astype(str).to_numpy(),
            "wait_h": censored_waits_h(jobs, horizon_h),
        }
    )
    grouped = frame.groupby(["month", "tenant_class"], sort=True)["wait_h"]
    out = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "p50_wait_h": grouped.quantile(0.5),
            "p95_wait_h": grouped.quantile(0.95),
        }
    )
    return out.reset_index()


def waits_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """:func:`monthly_waits` with one row per month and p50/p95 columns per class."""
    wide = monthly.pivot_table(
        index="month",
        columns="tenant_class",
        values=["p50_wait_h", "p95_wait_h"],
        aggfunc="first",
        sort=True,
    )
    wide.columns = [f"{column[1]} {column[0]}" for column in wide.columns.tolist()]
    ordered = sorted(wide.columns, key=lambda c: (c.split()[0], c.split()[1]))
    return wide[ordered].reset_index()
