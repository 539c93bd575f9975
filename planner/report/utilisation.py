"""Figure data: utilisation by GPU model and region, month by month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.report.calendar import as_dates, month_start
from planner.scenario.schema import HOURS_PER_DAY


def pool_label(gpu_model: str, region: str) -> str:
    """How a pool (model in a region) is named in figures and tables."""
    return f"{gpu_model} · {region}"


def monthly_utilisation(pool_timeseries: pd.DataFrame, horizon_h: float) -> pd.DataFrame:
    """Per calendar month and pool: GPU-hours in service and busy, and their ratio.

    The daily table holds time-averages, so a day's GPU-hours are its average times its length
    (24 h, or less for a partial last day). Columns ``month``, ``pool``, ``gpu_model``,
    ``region``, ``in_service_gpu_h``, ``busy_gpu_h``, ``utilisation`` (NaN with nothing in
    service).
    """
    day_h = np.clip(horizon_h - pool_timeseries["day"].to_numpy() * HOURS_PER_DAY, 0, 24.0)
    frame = pd.DataFrame(
        {
            "month": month_start(as_dates(pool_timeseries["date"])),
            "gpu_model": pool_timeseries["gpu_model"].astype(str).to_numpy(),
            "region": pool_timeseries["region"].astype(str).to_numpy(),
            "in_service_gpu_h": pool_timeseries["gpus_in_service"].to_numpy() * day_h,
            "busy_gpu_h": pool_timeseries["gpus_busy"].to_numpy() * day_h,
        }
    )
    months = (
        frame.groupby(["month", "gpu_model", "region"], sort=True)[
            ["in_service_gpu_h", "busy_gpu_h"]
        ]
        .sum()
        .reset_index()
    )
    served = months["in_service_gpu_h"].to_numpy()
    busy = months["busy_gpu_h"].to_numpy()
    months["utilisation"] = np.divide(
        busy, served, out=np.full(len(months), np.nan), where=served > 0
    )
    months.insert(
        1,
        "pool",
        [pool_label(m, r) for m, r in zip(months["gpu_model"], months["region"], strict=True)],
    )
    return months


def utilisation_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """:func:`monthly_utilisation` as one row per month and one column per pool."""
    wide = monthly.pivot_table(
        index="month", columns="pool", values="utilisation", aggfunc="first", sort=True
    )
    wide.columns = [f"{pool} utilisation" for pool in wide.columns]
    return wide.reset_index()


def pool_totals(monthly: pd.DataFrame) -> pd.DataFrame:
    """Utilisation of each pool over the whole horizon (busy / in-service GPU-hours)."""
    totals = monthly.groupby("pool", sort=True)[["in_service_gpu_h", "busy_gpu_h"]].sum()
    totals["utilisation"] = totals["busy_gpu_h"] / totals["in_service_gpu_h"].where(
        totals["in_service_gpu_h"] > 0
    )
    return totals.reset_index()


def fleet_utilisation(monthly: pd.DataFrame) -> pd.DataFrame:
    """The whole fleet's utilisation per month, from :func:`monthly_utilisation`'s pools."""
    sums = monthly.groupby("month", sort=True)[["in_service_gpu_h", "busy_gpu_h"]].sum()
    served = sums["in_service_gpu_h"]
    sums["utilisation"] = sums["busy_gpu_h"] / served.where(served > 0)
    return sums.reset_index()


def heatmap(monthly: pd.DataFrame) -> pd.DataFrame:
    """:func:`monthly_utilisation` as a pool x month grid: one row per pool (sorted), one
    column per month, NaN where the pool had nothing in service."""
    return monthly.pivot_table(
        index="pool", columns="month", values="utilisation", aggfunc="first", sort=True
    )
