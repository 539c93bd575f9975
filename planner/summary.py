"""Headline metrics of one run, as a flat pandas Series with dotted keys.

Keys read ``metric`` for fleet totals and ``metric.who`` per tenant class, tenant or cohort, e.g.
``wait_p95_h.paying``, ``credits_burned_usd.moonshot``, ``payback.H800-cn-hangzhou-0``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.analysis import censored_wait_h
from planner.scenario.schema import HOURS_PER_DAY

if TYPE_CHECKING:
    from planner.results import RunResult

CLASSES = ("credit", "paying", "internal")


def summarise(res: RunResult) -> pd.Series:
    """The headline metrics of ``res``."""
    sc, jobs, cohorts, tenants = res.scenario, res.jobs, res.cohorts, res.tenants
    out: dict[str, Any] = {
        "scenario": sc.name,
        "seed": res.seed,
        "horizon_days": sc.horizon_days,
        "jobs_submitted": len(jobs),
        "jobs_finished": int((jobs["state"] == "finished").sum()),
        "jobs_running_at_horizon": int((jobs["state"] == "running").sum()),
        "jobs_queued_at_horizon": int((jobs["state"] == "queued").sum()),
        "jobs_skipped": int(tenants["jobs_skipped"].sum()),
    }
    in_service = float(cohorts["in_service_gpu_h"].sum()) if len(cohorts) else 0.0
    busy = float(cohorts["busy_gpu_h"].sum()) if len(cohorts) else 0.0
    out["gpu_h_in_service"] = in_service
    out["gpu_h_busy"] = busy
    out["utilisation"] = busy / in_service if in_service else math.nan

    waits = censored_wait_h(jobs, sc.horizon_h)
    classes = jobs["tenant_class"].to_numpy()
    for label, mask in [("all", np.ones(len(jobs), bool))] + [(c, classes == c) for c in CLASSES]:
        if label != "all" and not mask.any():
            continue
        w = waits[mask]
        out[f"wait_mean_h.{label}"] = float(w.mean()) if len(w) else math.nan
        for q in (50, 95, 99):
            out[f"wait_p{q}_h.{label}"] = float(np.percentile(w, q)) if len(w) else math.nan

    out["revenue_usd"] = float(jobs["revenue_usd"].sum())
    out["revenue_cash_usd"] = float(jobs["cash_usd"].sum())
    out["revenue_credit_usd"] = float(jobs["credit_usd"].sum())
    credit_keys = ("credits_granted_usd", "credits_burned_usd", "credits_left_usd")
    for rec in tenants[tenants["tenant_class"] == "credit"].to_dict("records"):
        for key in (*credit_keys, "credits_forfeited_usd"):
            out[f"{key}.{rec['tenant']}"] = float(rec[key])

    out["capex_usd"] = float(cohorts["capex_usd"].sum()) if len(cohorts) else 0.0
    before = float(cohorts["revenue_before_obsolescence_usd"].sum()) if len(cohorts) else 0.0
    out["revenue_before_obsolescence_usd"] = before
    out["capex_monetised_share"] = before / out["capex_usd"] if out["capex_usd"] else math.nan
    for rec in cohorts.to_dict("records"):
        out[f"payback.{rec['cohort']}"] = float(rec["payback"])
        out[f"capture.{rec['cohort']}"] = float(rec["capture"])
        out[f"obsolete_on.{rec['cohort']}"] = _date(res, float(rec["obsolete_at_h"]))
    return pd.Series(out, dtype=object)


def _date(res: RunResult, t_h: float) -> str | None:
    if not math.isfinite(t_h):
        return None
    return (res.scenario.start + timedelta(days=math.floor(t_h / HOURS_PER_DAY))).isoformat()
