"""Runs: each stretch a job held GPUs, paired from the recorder's starts and ends.

A job that started k times has k runs (:class:`Segments`); the ``runs`` table lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.analysis.columns import FloatArray, _labels
from planner.model.billing import tier_price_factor
from planner.model.record import RunRecord
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
    charged: NDArray[np.bool_]  # False for internal tenants, who pay nothing
    price_factor: (
        FloatArray  # paid per GPU-hour over the list price: the tier's, or 0 if not charged
    )
    revenue_usd: FloatArray
    interrupted: NDArray[np.bool_]  # the run was cut short: a node failed, or it was preempted
    preempted: NDArray[np.bool_]  # the run was stopped for another job
    open: NDArray[np.bool_]  # the run was still going at the horizon


def segments(record: RunRecord) -> Segments:
    """Pair each start with the job's matching end (the k-th start with the k-th end)."""
    rec, horizon = record.recorded, record.scenario.horizon_h
    s_job, s_h, s_cohort = rec.start_job, rec.start_h, rec.start_cohort
    e_job, e_h = rec.end_job, rec.end_h
    s_order = np.lexsort((s_h, s_job))
    e_order = np.lexsort((e_h, e_job))
    base = len(s_job) + 1  # more than any job's number of starts
    s_key = _occurrence_key(s_job[s_order], base)
    e_key = _occurrence_key(e_job[e_order], base)
    to_h = np.full(len(s_job), horizon)
    where = np.searchsorted(e_key, s_key)
    found = where < len(e_key)
    found[found] = e_key[where[found]] == s_key[found]
    to_h[s_order[found]] = e_h[e_order[where[found]]]
    how = np.zeros(len(s_job), dtype=np.int8)
    how[s_order[found]] = rec.end_interrupted[e_order[where[found]]]
    interrupted, preempted = how != 0, how == PREEMPTED
    still_open = np.ones(len(s_job), dtype=bool)
    still_open[s_order[found]] = False
    job, cohort, from_h = s_job, s_cohort, s_h.copy()
    gpus = rec.start_gpus
    revenue = np.zeros(len(job))
    tenants = record.scenario.tenants
    is_charged = np.array([t.tenant_class != "internal" for t in tenants])
    tier_factor = np.array([tier_price_factor(record.scenario, t) for t in tenants])
    charged = is_charged[record.jobs.tenant[job]]
    price_factor = np.where(charged, tier_factor[record.jobs.tenant[job]], 0.0)
    for c, price in enumerate(record.prices):
        mine = charged & (cohort == c)
        revenue[mine] = gpus[mine] * price.integral_array(from_h[mine], to_h[mine])
    revenue *= price_factor
    return Segments(
        job,
        cohort,
        from_h,
        to_h,
        gpus,
        charged,
        price_factor,
        revenue,
        interrupted,
        preempted,
        still_open,
    )


def _occurrence_key(sorted_jobs: NDArray[np.int64], base: int) -> NDArray[np.int64]:
    """Sortable key ``job * base + k`` for the k-th occurrence of each job in a sorted array."""
    n = len(sorted_jobs)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[0, np.flatnonzero(np.diff(sorted_jobs)) + 1]
    rank = np.arange(n, dtype=np.int64) - np.repeat(first, np.diff(np.r_[first, n]))
    return np.asarray(sorted_jobs * base + rank, dtype=np.int64)


def _runs(record: RunRecord, seg: Segments) -> pd.DataFrame:
    """One row per run of a job: a stretch on one cohort, ended by completion, cut short
    (``interrupted``: a node failed, or ``preempted`` for another job), or by the horizon
    (``to_h`` is then the horizon)."""
    cohorts = record.cohorts
    order = np.lexsort((seg.from_h, seg.job))
    job = seg.job[order]
    first = np.r_[0, np.flatnonzero(np.diff(job)) + 1] if len(job) else np.zeros(0, np.int64)
    run = np.arange(len(job)) - np.repeat(first, np.diff(np.r_[first, len(job)]))
    cohort = seg.cohort[order]
    return pd.DataFrame(
        {
            "job_id": job,
            "run": run,
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "gpus": seg.gpus[order],
            "from_h": seg.from_h[order],
            "to_h": seg.to_h[order],
            "interrupted": seg.interrupted[order],
            "preempted": seg.preempted[order],
            "revenue_usd": seg.revenue_usd[order],
        }
    )
