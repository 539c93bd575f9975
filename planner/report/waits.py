"""Figure data: p50 and p95 waits per tenant class, by the calendar month jobs were submitted;
over the whole horizon, the wait served beside the wait offered, and the jobs turned away."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from planner.report.calendar import month_start, timestamps
from planner.scenario.schema import Scenario


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


def slo_levels(sc: Scenario, monthly: pd.DataFrame, slo_h: float | None = None) -> dict[str, float]:
    """Each tenant class's p95 wait SLO in hours: ``slo_h`` for every class in ``monthly``
    when given, else the scenario's ``slo.wait_p95_h``."""
    if slo_h is not None:
        return {str(cls): slo_h for cls in sorted(set(monthly["tenant_class"]))}
    return {str(cls): hours for cls, hours in sc.slo.wait_p95_h.items()}


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


CLASSES = ("paying", "credit", "internal")


def class_waits(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Per tenant class over the horizon: the p95 wait of the jobs submitted (served), the p95
    over every job the class offered, jobs turned away counting as never starting (offered),
    and how many were turned away, all read from the run's summary.

    Columns ``tenant_class``, ``served_p95_wait_h``, ``offered_p95_wait_h``,
    ``jobs_turned_away``; only the classes the summary holds.
    """
    rows = [
        {
            "tenant_class": cls,
            "served_p95_wait_h": _float(summary.get(f"wait_p95_h.{cls}")),
            "offered_p95_wait_h": _offered(summary[f"wait_p95_h_offered.{cls}"]),
            "jobs_turned_away": int(summary[f"jobs_turned_away.{cls}"]),
        }
        for cls in CLASSES
        if f"wait_p95_h_offered.{cls}" in summary
    ]
    columns = ["tenant_class", "served_p95_wait_h", "offered_p95_wait_h", "jobs_turned_away"]
    return pd.DataFrame(rows, columns=columns)


def _offered(value: Any) -> float:
    """An offered p95 is finite or infinite, never undefined: the summary written as JSON holds
    infinity as null."""
    return math.inf if value is None else float(value)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def turned_away(tenants: pd.DataFrame) -> pd.DataFrame:
    """Per tenant that submits jobs: jobs submitted, and the would-be submissions that never
    happened by reason: balked at a long expected wait, lost after the tenant churned, or held
    back by a credit deal's rule.

    Columns ``tenant``, ``tenant_class``, ``jobs_submitted``, ``jobs_balked``,
    ``jobs_lost_to_churn``, ``jobs_held_by_credit_rule``, ``jobs_turned_away`` (balked + lost
    to churn, as the offered wait counts them).
    """
    rows = tenants[tenants["tenant_class"].astype(str).isin(CLASSES)]
    balked, churned = rows["jobs_balked"], rows["jobs_lost_to_churn"]
    return pd.DataFrame(
        {
            "tenant": rows["tenant"].astype(str),
            "tenant_class": rows["tenant_class"].astype(str),
            "jobs_submitted": rows["jobs_submitted"],
            "jobs_balked": balked,
            "jobs_lost_to_churn": churned,
            "jobs_held_by_credit_rule": rows["jobs_skipped"] - balked - churned,
            "jobs_turned_away": balked + churned,
        }
    ).reset_index(drop=True)
