"""The ``jobs`` table (one row per submitted job) and waits censored at the horizon."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.analysis.columns import FloatArray, _labels, _sum_by, _table
from planner.analysis.runs import Segments
from planner.model.record import RunRecord
from planner.recording import PREEMPTED

CLASSES = ("credit", "paying", "internal", "wholesale")


STATES = ("queued", "running", "finished")


PAID_WITH = ("cash", "credit", "mixed", "internal")


JOB_COLUMNS = (
    "job_id",
    "tenant",
    "tenant_class",
    "campaign",
    "gpus",
    "gpus_held",
    "gpu_model",
    "region",
    "cohort",
    "submit_h",
    "start_h",
    "end_h",
    "wait_h",
    "state",
    "work_gpu_h",
    "gpu_h",
    "tier",
    "restarts",
    "preemptions",
    "lost_gpu_h",
    "revenue_usd",
    "credit_usd",
    "cash_usd",
    "paid_with",
)


@dataclass(frozen=True)
class JobTimes:
    """When each job of the batch first started and when it finished (NaN if it did not),
    and which jobs were submitted (None if every one was; the others, balked or lost to
    churn, have no row in the jobs table)."""

    start_h: FloatArray
    end_h: FloatArray
    submitted: NDArray[np.int64] | None


def job_times(record: RunRecord, seg: Segments) -> JobTimes:
    """Each job's first start, its end and whether it was submitted (see :class:`JobTimes`)."""
    rec = record.recorded
    n = len(record.jobs)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    # The first start sets the wait; with restarts a job starts more than once. Assigning in
    # reverse time order leaves each job's earliest start in place. Runs are recorded as they
    # start, so they are usually in time order already; the sort is needed only where not.
    if np.all(seg.from_h[1:] >= seg.from_h[:-1]):
        start[seg.job[::-1]] = seg.from_h[::-1]
    else:
        order = np.argsort(seg.from_h, kind="stable")[::-1]
        start[seg.job[order]] = seg.from_h[order]
    completed = rec.end_interrupted == 0
    end[rec.end_job[completed]] = rec.end_h[completed]
    submitted = np.ones(n, dtype=bool)
    submitted[rec.skipped_job] = False
    return JobTimes(start, end, None if submitted.all() else np.flatnonzero(submitted))


def _jobs(record: RunRecord, seg: Segments, times: JobTimes) -> pd.DataFrame:
    """The jobs table; it takes ``times``' arrays as its columns (``times`` must not be
    changed after)."""
    sc, rec, batch = record.scenario, record.recorded, record.jobs
    n = len(batch)
    start, end = times.start_h, times.end_h
    cohort = np.full(n, -1, dtype=np.int32)  # only read as label codes: no need for 64 bits
    # A job's cohort is where its last run was (segments are in start order), and so are
    # the GPUs it holds.
    cohort[seg.job] = seg.cohort
    gpus_held = np.zeros(n, dtype=np.int32)
    gpus_held[seg.job] = seg.gpus
    end_job = rec.end_job
    interrupted = rec.end_interrupted.astype(bool)
    restarts = np.bincount(end_job[interrupted], minlength=n).astype(np.int32)
    preempted = rec.end_interrupted == PREEMPTED
    preemptions = np.bincount(end_job[preempted], minlength=n).astype(np.int32)
    lost_gpu_h = _sum_by(rec.lost_job, rec.lost_gpu_h, n)

    revenue = _sum_by(seg.job, seg.revenue_usd, n)
    held_gpu_h = _sum_by(seg.job, seg.gpus * (seg.to_h - seg.from_h), n)
    credit = _sum_by(rec.credit_job, rec.credit_usd, n)

    tenants = sc.tenants
    classes = np.array([CLASSES.index(t.tenant_class) for t in tenants], dtype=np.int8)
    job_class = classes[batch.tenant]
    # Running: a run still going at the horizon. A job cut short and not restarted is queued.
    running = np.zeros(n, dtype=bool)
    running[seg.job[seg.open]] = True
    state = running.view(np.int8).copy()  # 1 running, 0 queued
    state[~np.isnan(end)] = 2
    cash = revenue - credit
    paid_with = np.zeros(n, dtype=np.int8)  # cash
    paid_with[credit > 0] = 1
    paid_with[(credit > 0) & (cash > 1e-9 * revenue)] = 2
    paid_with[job_class == CLASSES.index("internal")] = 3
    paid_with[np.isnan(start)] = -1
    cohorts = record.cohorts
    return _table(
        {
            "job_id": np.arange(n),
            "tenant": _labels(batch.tenant, [t.name for t in tenants]),
            "tenant_class": _labels(job_class, CLASSES),
            "campaign": _labels(batch.campaign, batch.campaign_names),
            "gpus": batch.gpus.astype(np.int32),
            "gpus_held": gpus_held,
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "submit_h": batch.submit_h,
            "start_h": start,
            "end_h": end,
            "wait_h": start - batch.submit_h,
            "state": _labels(state, STATES),
            "work_gpu_h": batch.work_gpu_h,
            "gpu_h": held_gpu_h,
            "tier": _labels(batch.tenant, [t.tier for t in tenants]),
            "restarts": restarts,
            "preemptions": preemptions,
            "lost_gpu_h": lost_gpu_h,
            "revenue_usd": revenue,
            "credit_usd": credit,
            "cash_usd": cash,
            "paid_with": _labels(paid_with, PAID_WITH),
        },
        # Every job submitted (the common case): no rows to take, and only the batch's own
        # arrays need copying.
        rows=times.submitted,
        borrowed=("submit_h", "work_gpu_h"),
    )


def censored_wait_h(jobs: pd.DataFrame, horizon_h: float) -> FloatArray:
    """Each job's wait, counting a job still queued at the horizon as waiting until then.

    For queued jobs this is a lower bound, so percentiles over it are lower bounds too; dropping
    them instead would hide exactly the waits a planner worries about.
    """
    waits = jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    queued = np.isnan(waits)
    waits[queued] = horizon_h - jobs["submit_h"].to_numpy()[queued]
    return waits
