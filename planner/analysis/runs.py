"""Runs: each stretch a job held GPUs, paired from the recorder's starts and ends.

A job that started k times has k runs (:class:`Segments`); the ``runs`` table lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.analysis.columns import FloatArray, _groups, _labels
from planner.contracts import covered_until_h
from planner.model.billing import tier_price_factor
from planner.model.record import Recorded, RunRecord
from planner.recording import PREEMPTED


@dataclass(frozen=True)
class Segments:
    """Each stretch a job held GPUs: [from_h, to_h) on a cohort, with the revenue it earned.

    A job that started k times has k segments; one still running ends at the horizon.
    """

    job: NDArray[np.int64]
    cohort: NDArray[np.int64]
    from_h: FloatArray
    to_h: FloatArray
    gpus: NDArray[np.int64]  # held: a job spanning nodes holds every GPU on them
    revenue_usd: FloatArray
    interrupted: NDArray[np.bool_]  # the run was cut short: a node failed, or it was preempted
    preempted: NDArray[np.bool_]  # the run was stopped for another job
    open: NDArray[np.bool_]  # the run was still going at the horizon
    # The run counts against its tenant's reservation (the quota scheduler placed it there).
    in_quota: NDArray[np.bool_]


@dataclass(frozen=True)
class Charges:
    """What each segment pays for: whether it is charged at all, and at what share of the
    list price. Kept apart from :class:`Segments` because only the revenue by cohort and by
    month reads them, so they can be dropped before the large tables are built."""

    charged: NDArray[np.bool_]  # False for internal tenants, who pay nothing
    # Paid per GPU-hour over the list price: the tier's, or 0 if not charged.
    price_factor: FloatArray
    # When each run starts to pay: its start, or for a run a take-or-pay contract covers, the
    # end of the contract's term (at most the run's end: then it pays nothing).
    charged_from_h: FloatArray


def charges(
    record: RunRecord,
    job: NDArray[np.int64],
    in_quota: NDArray[np.bool_],
    from_h: FloatArray,
    to_h: FloatArray,
) -> Charges:
    """The charges of runs of ``job`` over [from_h, to_h), ``in_quota`` where inside their
    tenant's reservation."""
    sc = record.scenario
    is_charged = np.array([t.tenant_class != "internal" for t in sc.tenants])
    tier_factor = np.array([tier_price_factor(sc, t) for t in sc.tenants])
    tenant = record.jobs.tenant[job]
    charged = is_charged[tenant]
    # A take-or-pay contract pays for its reserved GPUs whatever runs on them, so a run inside
    # the quota pays nothing more while the term lasts. The hours it runs past the term's end
    # are no longer paid for by the contract: they are billed like any other run's.
    covered_from_h = np.clip(covered_until_h(sc)[tenant], from_h, to_h)
    charged_from_h = np.where(in_quota, covered_from_h, from_h)
    return Charges(charged, np.where(charged, tier_factor[tenant], 0.0), charged_from_h)


def segments(record: RunRecord) -> Segments:
    """Pair each start with the job's matching end (the k-th start with the k-th end)."""
    return priced_segments(record)[0]


def priced_segments(record: RunRecord) -> tuple[Segments, Charges]:
    """The :func:`segments` and their :class:`Charges`."""
    rec, horizon = record.recorded, record.scenario.horizon_h
    started, ended = _pairs(rec, len(record.jobs))
    n = len(rec.start_job)
    to_h = np.full(n, horizon)
    to_h[started] = rec.end_h[ended]
    how = np.zeros(n, dtype=np.int8)
    how[started] = rec.end_interrupted[ended]
    interrupted, preempted = how != 0, how == PREEMPTED
    still_open = np.ones(n, dtype=bool)
    still_open[started] = False
    job, cohort, from_h, gpus = rec.start_job, rec.start_cohort, rec.start_h.copy(), rec.start_gpus
    in_quota = np.zeros(n, dtype=bool)
    in_quota[rec.quota_start] = True
    paid = charges(record, job, in_quota, from_h, to_h)
    revenue = _list_revenue_usd(record, cohort, gpus, paid.charged, paid.charged_from_h, to_h)
    revenue *= paid.price_factor
    seg = Segments(
        job, cohort, from_h, to_h, gpus, revenue, interrupted, preempted, still_open, in_quota
    )
    return seg, paid


def _pairs(rec: Recorded, n_jobs: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Which recorded start each recorded end closes: end ``ended[i]`` closes start
    ``started[i]``. A job's k-th start (in time) is closed by its k-th end; its last start
    stays open if it still ran at the horizon."""
    starts_per_job = np.bincount(rec.start_job, minlength=n_jobs)
    if n_jobs == 0 or starts_per_job.max() <= 1:
        # Nothing restarted: an end closes its job's only start, no sorting needed.
        start_of = np.full(n_jobs, -1, dtype=np.int64)
        start_of[rec.start_job] = np.arange(len(rec.start_job))
        return start_of[rec.end_job], np.arange(len(rec.end_job))
    ends_per_job = np.bincount(rec.end_job, minlength=n_jobs)
    # Starts and ends by job, each job's in time order: job j's k-th start sits at
    # first_start[j] + k, its k-th end at first_end[j] + k.
    s_order = np.lexsort((rec.start_h, rec.start_job))
    e_order = np.lexsort((rec.end_h, rec.end_job))
    first_start = np.cumsum(starts_per_job) - starts_per_job
    first_end = np.cumsum(ends_per_job) - ends_per_job
    job = rec.start_job[s_order]
    k = np.arange(len(job)) - first_start[job]
    closed = k < ends_per_job[job]
    return s_order[closed], e_order[first_end[job[closed]] + k[closed]]


def _list_revenue_usd(
    record: RunRecord,
    cohort: NDArray[np.int64],
    gpus: NDArray[np.int64],
    charged: NDArray[np.bool_],
    from_h: FloatArray,
    to_h: FloatArray,
) -> FloatArray:
    """What ``gpus`` GPUs of ``cohort`` earn at its list price over [from_h, to_h), where
    ``charged`` (zero elsewhere)."""
    revenue = np.zeros(len(cohort))
    by_cohort = _groups(np.where(charged, cohort, -1), len(record.prices))
    for at, price in zip(by_cohort, record.prices, strict=True):
        revenue[at] = gpus[at] * price.integral_array(from_h[at], to_h[at])
    return revenue


def _runs(record: RunRecord, seg: Segments) -> pd.DataFrame:
    """One row per run of a job: a stretch on one cohort, ended by completion, cut short
    (``interrupted``: a node failed, or ``preempted`` for another job), or by the horizon
    (``to_h`` is then the horizon).

    Where the runs are in table order already, the table takes ``seg``'s own columns as they
    are: ``seg`` must not be read after it."""
    cohorts = record.cohorts
    order = _by_job_then_start(seg, len(record.jobs))

    def taken(values: NDArray[Any]) -> NDArray[Any]:
        return values if order is None else values[order]

    if order is None:  # each job's only run
        job, run = seg.job.copy(), np.zeros(len(seg.job), np.int32)  # seg.job is the record's
    else:
        job = seg.job[order]
        first = np.r_[0, np.flatnonzero(np.diff(job)) + 1] if len(job) else np.zeros(0, np.int64)
        run = (np.arange(len(job)) - np.repeat(first, np.diff(np.r_[first, len(job)]))).astype(
            np.int32
        )
    cohort = taken(seg.cohort)
    # Every column is taken in run order, so already the table's own.
    return pd.DataFrame(
        {
            "job_id": job,
            "run": run,
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "gpus": taken(seg.gpus).astype(np.int32),
            "from_h": taken(seg.from_h),
            "to_h": taken(seg.to_h),
            "interrupted": taken(seg.interrupted),
            "preempted": taken(seg.preempted),
            "in_quota": taken(seg.in_quota),
            "revenue_usd": taken(seg.revenue_usd),
        },
        copy=False,
    )


def _by_job_then_start(seg: Segments, n_jobs: int) -> NDArray[np.int64] | None:
    """The runs' order by job, each job's runs by start time: ``np.lexsort((from_h, job))``,
    or None where they are in that order already (each job ran once, in the order of the
    jobs: a fleet where jobs start as they were submitted).

    Where no job ran twice (no failures, no preemption) the job alone orders them, and placing
    each run at its job's slot does that in one pass instead of a sort.
    """
    if np.all(seg.job[1:] > seg.job[:-1]):
        return None
    slot = np.full(n_jobs, -1, dtype=np.int64)
    slot[seg.job] = np.arange(len(seg.job))
    order = slot[slot >= 0]
    if len(order) == len(seg.job):  # no job's slot was written twice
        return order
    return np.lexsort((seg.from_h, seg.job))
