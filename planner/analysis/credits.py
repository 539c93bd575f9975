"""Credit use: which GPU-hours each job paid with credits, and when (per month piece)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.analysis.columns import FloatArray, _sum_by
from planner.analysis.months import Pieces, piece_revenue_usd
from planner.analysis.runs import Charges, Segments
from planner.model.record import RunRecord


@dataclass(frozen=True)
class CreditUse:
    """The part of each piece paid with credits: its list-price value and its GPU-hours."""

    usd: FloatArray
    gpu_h: FloatArray

    def by_tenant(self, record: RunRecord, seg: Segments, pieces: Pieces) -> TenantCredit:
        """Each tenant's GPU-hours paid with credits and their operating cost on the cohorts
        they ran on (one value per tenant, so the pieces can be dropped once this is taken)."""
        n = len(record.scenario.tenants)
        piece_tenant = record.jobs.tenant[seg.job[pieces.seg]]
        opex = np.array([p.opex_usd_per_gpu_h for p in record.prices], dtype=np.float64)
        return TenantCredit(
            gpu_h=_sum_by(piece_tenant, self.gpu_h, n),
            compute_cost_usd=_sum_by(piece_tenant, self.gpu_h * opex[seg.cohort[pieces.seg]], n),
        )


@dataclass(frozen=True)
class TenantCredit:
    """Per tenant: the GPU-hours it paid with credits, and what they cost to operate."""

    gpu_h: FloatArray
    compute_cost_usd: FloatArray


def credit_use(record: RunRecord, seg: Segments, paid: Charges, pieces: Pieces) -> CreditUse:
    """Which GPU-hours each job paid with credits, and when.

    A job draws credits at its cohort's price only for its hours inside its tenant's grant window
    [granted, expires), so those hours are its *eligible* ones. Where its credits cover all of
    them (every job but the one that exhausts a grant) this is exact: the credit-paid hours are
    the eligible hours. The job that exhausts a grant pays part of a stretch from credits and the
    rest in cash, and the model does not say which hours were which; there each eligible piece
    is counted as paid with credits in the job's ratio of credits drawn to eligible revenue.
    So per piece: credit = ratio x eligible revenue, credit GPU-hours = ratio x eligible
    GPU-hours, and summed over a job's pieces the credit is exactly its credits drawn.
    """
    rec = record.recorded
    n_tenants = len(record.scenario.tenants)
    # Tenants without a grant get an empty window.
    opens, closes = np.zeros(n_tenants), np.zeros(n_tenants)
    for tenant, account in record.accounts.items():
        opens[tenant], closes[tenant] = account.granted_h, account.expires_h
    usd, gpu_h = np.zeros(len(pieces.seg)), np.zeros(len(pieces.seg))
    # Only the pieces of tenants with a grant window can be paid with credits: the others
    # (every piece, in a fleet without credit deals) stay at zero.
    piece_job = seg.job[pieces.seg]
    piece_tenant = record.jobs.tenant[piece_job]
    windowed = np.flatnonzero((closes > opens)[piece_tenant])
    if not len(windowed):
        return CreditUse(usd=usd, gpu_h=gpu_h)
    piece = pieces.seg[windowed]
    job, tenant_of = piece_job[windowed], piece_tenant[windowed]
    lo = np.maximum(pieces.from_h[windowed], opens[tenant_of])
    hi = np.maximum(lo, np.minimum(pieces.to_h[windowed], closes[tenant_of]))
    eligible_usd = piece_revenue_usd(record, seg, paid, piece, lo, hi)
    eligible_gpu_h = seg.gpus[piece] * (hi - lo)
    n_jobs = len(record.jobs)
    drawn = _sum_by(rec.credit_job, rec.credit_usd, n_jobs)
    eligible_per_job = _sum_by(job, eligible_usd, n_jobs)
    ratio = np.divide(drawn, eligible_per_job, out=np.zeros(n_jobs), where=eligible_per_job > 0)[
        job
    ]
    usd[windowed], gpu_h[windowed] = ratio * eligible_usd, ratio * eligible_gpu_h
    return CreditUse(usd=usd, gpu_h=gpu_h)
