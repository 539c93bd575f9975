"""Take-or-pay contract revenue by cohort and calendar month.

A contract pays for GPUs of a pool, not of a cohort. Each month's payment is shared among the
pool's cohorts pro rata to their in-service GPU-hours that month (the GPUs that could have run
the reserved work), or to their GPU counts in a month none was in service; a pool with no
cohort at all in the run earns nothing from it. Tenants, cohorts and the ledger all sum this
one allocation, so contract revenue agrees across them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.analysis.columns import FloatArray, _sum_by
from planner.analysis.months import Months, calendar_months
from planner.analysis.timeseries import InService
from planner.contracts import contracts
from planner.model.record import RunRecord


@dataclass(frozen=True)
class ContractRevenue:
    """``usd[k, c, m]``: what contract k paid to cohort c in month m."""

    tenant: np.ndarray  # per contract: the paying tenant
    usd: FloatArray

    def by_cohort_month(self) -> FloatArray:
        return np.asarray(self.usd.sum(axis=0), dtype=np.float64)

    def by_cohort(self) -> FloatArray:
        return np.asarray(self.usd.sum(axis=(0, 2)), dtype=np.float64)

    def by_tenant(self, n_tenants: int) -> FloatArray:
        paid = self.usd.sum(axis=(1, 2))
        return _sum_by(self.tenant, paid, n_tenants)


def contract_revenue(
    record: RunRecord, in_service: InService, months: Months | None = None
) -> ContractRevenue:
    """Every contract's payments, per cohort and calendar month of ``record``'s run."""
    months = months or calendar_months(record.scenario)
    terms = contracts(record.scenario)
    n_cohorts, n_months = len(record.cohorts), len(months.first_day)
    usd = np.zeros((len(terms), n_cohorts, n_months))
    for k, term in enumerate(terms):
        mine = [c.index for c in record.cohorts if (c.model, c.region) == (term.model, term.region)]
        if not mine:
            continue
        gpu_h = np.array([in_service.level([c]).integral(months.edges_h) for c in mine])
        gpus = np.array([float(record.cohorts[c].gpus) for c in mine])
        total = gpu_h.sum(axis=0)
        share = np.where(
            total > 0, gpu_h / np.where(total > 0, total, 1.0), (gpus / gpus.sum())[:, None]
        )
        usd[k, mine, :] = share * term.usd_over(months.edges_h)
    tenants = np.array([term.tenant for term in terms], dtype=np.int64)
    return ContractRevenue(tenants, usd)
