"""Figure data: GPUs in service by model over time, and the dated events that shaped the fleet
(export controls, deliveries, cancelled or frozen orders, successor launches)."""

from __future__ import annotations

import math

import pandas as pd

from planner.report.calendar import as_dates, day, month_start
from planner.scenario.schema import Scenario

EVENT_KINDS = ("export control", "delivery", "order stopped", "successor launch")


def in_service_by_model(pool_timeseries: pd.DataFrame) -> pd.DataFrame:
    """Daily time-averaged GPUs in service per GPU model (summed over regions).

    Columns ``date``, ``gpu_model``, ``in_service_gpus``; one row per day and model.
    """
    frame = (
        pool_timeseries.groupby(["date", "gpu_model"], observed=True, sort=True)["gpus_in_service"]
        .sum()
        .reset_index()
        .rename(columns={"gpus_in_service": "in_service_gpus"})
    )
    frame["date"] = as_dates(frame["date"])
    return frame.sort_values(["date", "gpu_model"], kind="stable").reset_index(drop=True)


def monthly_in_service(series: pd.DataFrame) -> pd.DataFrame:
    """:func:`in_service_by_model` as monthly means, one column per model and a total."""
    frame = series.assign(month=month_start(series["date"]))
    wide = frame.pivot_table(
        index="month", columns="gpu_model", values="in_service_gpus", aggfunc="mean", sort=True
    )
    wide.columns = [f"{model}_gpus" for model in wide.columns]
    wide["total_gpus"] = wide.sum(axis=1)
    return wide.reset_index()


def fleet_events(sc: Scenario, orders: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """Dated events within the horizon: export controls, deliveries, stopped orders, launches.

    Columns ``date``, ``kind`` (one of :data:`EVENT_KINDS`) and ``label``, in date order. A
    delivery is a cohort entering service after the start (a fleet cohort acquired later, or an
    order's tranche); an order stopped is one cancelled, frozen, denied or over a region's cap.
    """
    rows: list[tuple[pd.Timestamp, str, str]] = []
    for event in sc.export_controls:
        t_h = sc.hours_since_start(event.effective)
        if not 0.0 <= t_h <= sc.horizon_h:
            continue
        parts = []
        if event.ban:
            parts.append("ban " + ", ".join(event.ban))
        if event.lift:
            parts.append("lift " + ", ".join(event.lift))
        if event.licence is not None:
            parts.append("licences")
        if event.restrict:
            parts.append("tenants barred")
        if event.grey_market is not None:
            parts.append("grey market")
        rows.append((day(sc.start, t_h), "export control", "; ".join(parts) or (event.name or "")))
    later = cohorts[(cohorts["in_service_from_h"] > 0.0) & cohorts["in_service_from_h"].notna()]
    for rec in later.to_dict("records"):
        label = f"{int(rec['gpus']):,} {rec['gpu_model']}"
        rows.append((day(sc.start, float(rec["in_service_from_h"])), "delivery", label))
    stopped = orders[~orders["status"].isin(["delivered", "in_transit"])]
    for rec in stopped.to_dict("records"):
        at_h = float(rec["at_h"])
        if math.isfinite(at_h) and 0.0 <= at_h <= sc.horizon_h:
            label = f"{int(rec['gpus']):,} {rec['gpu_model']} {rec['status']}"
            rows.append((day(sc.start, at_h), "order stopped", label))
    frozen_then_delivered = orders[(orders["status"] == "delivered") & orders["frozen_h"].notna()]
    for rec in frozen_then_delivered.to_dict("records"):
        label = f"{int(rec['gpus']):,} {rec['gpu_model']} frozen"
        rows.append((day(sc.start, float(rec["frozen_h"])), "order stopped", label))
    for launch in sc.market.successor_launches:
        t_h = sc.hours_since_start(launch.date)
        if 0.0 <= t_h <= sc.horizon_h:
            rows.append((day(sc.start, t_h), "successor launch", launch.name))
    frame = pd.DataFrame(rows, columns=["date", "kind", "label"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.sort_values(["date", "kind"], kind="stable").reset_index(drop=True)
