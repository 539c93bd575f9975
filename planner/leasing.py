"""Wholesale leasing of idle GPUs: which lessee takes what share of each cohort's idle time.

A lease is preemptible (see :class:`planner.scenario.schema.Lease`), so it is settled after the
run from idle GPU-hours (in service, running no job); it never changes who ran when. Every table
applies the same terms to its own idle hours: per cohort over the run, per month in the ledger.
Lease revenue counts towards a cohort's payback and capture beside its job revenue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from planner.scenario.schema import Scenario


@dataclass(frozen=True)
class LeaseTerm:
    """A lessee takes ``share`` of one cohort's idle GPU-hours at ``usd_per_gpu_h``."""

    tenant: int
    cohort: int
    share: float
    usd_per_gpu_h: float


def lease_terms(sc: Scenario, cohort_pools: Sequence[tuple[str, str]]) -> list[LeaseTerm]:
    """Every (lessee, cohort) term, given each cohort's (model, region).

    Lessees are served in scenario order; each takes its ``share`` of what is left, so together
    they never take more than all of a cohort's idle time.
    """
    share_left = [1.0] * len(cohort_pools)
    terms = []
    for t, tenant in enumerate(sc.tenants):
        if tenant.lease is None:
            continue
        for c, (model, region) in enumerate(cohort_pools):
            allowed = model in tenant.models and (
                tenant.regions is None or region in tenant.regions
            )
            share = min(tenant.lease.share, share_left[c]) if allowed else 0.0
            if share > 0:
                share_left[c] -= share
                terms.append(LeaseTerm(t, c, share, tenant.lease.usd_per_gpu_h))
    return terms
