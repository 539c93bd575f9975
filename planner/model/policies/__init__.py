"""Scheduling policies, chosen by the scenario's ``scheduler.kind``.

Each policy is a small module behind the :class:`~planner.model.policies.base.Policy` hooks;
the engine places and starts jobs, the policy decides which to try and when.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.model.policies.backfill import Backfill
from planner.model.policies.base import Cluster, Policy
from planner.model.policies.fifo import Fifo
from planner.model.policies.priority import Priority
from planner.model.policies.quota import Held, Quota
from planner.model.streams import Streams
from planner.scenario.schema import (
    BackfillScheduler,
    FifoScheduler,
    NoisyEstimate,
    PriorityScheduler,
    QuotaScheduler,
    Scenario,
)

__all__ = [
    "Backfill",
    "Cluster",
    "Fifo",
    "Policy",
    "Priority",
    "Quota",
    "estimate_factors",
    "make_policy",
]


def make_policy(sc: Scenario, cluster: Cluster, streams: Streams) -> Policy:
    """The policy a scenario asks for, bound to ``cluster``."""
    policy = _policy(sc, cluster, streams)
    policy.bind_fast_paths()
    return policy


def _policy(sc: Scenario, cluster: Cluster, streams: Streams) -> Policy:
    spec = sc.scheduler
    spot = [t.tier == "spot" for t in sc.tenants]
    match spec:
        case FifoScheduler():
            return Fifo(cluster, spot)
        case PriorityScheduler():
            levels = [
                t.priority if t.priority is not None else spec.class_order.index(t.tenant_class)
                for t in sc.tenants
            ]
            return Priority(cluster, spot, levels, spec.aging_h, spec.preempt)
        case BackfillScheduler():
            tenant = np.asarray(cluster.job_tenant, dtype=np.int64)
            factor = estimate_factors(sc, tenant, streams)
            return Backfill(cluster, spot, factor.tolist(), spec.max_scan)
        case QuotaScheduler():
            held: list[Held | None] = []
            # A tenant's own reservation, or the one a state directive holds for it.
            for r in sc.reservations():
                held.append(
                    None
                    if r is None
                    else Held(
                        r.model,
                        r.region,
                        r.gpus,
                        max(0.0, sc.hours_since_start(r.start or sc.start)),
                        sc.hours_since_start(r.end or sc.end),
                    )
                )
            return Quota(cluster, spot, held, spec.lend, spec.reclaim)


def estimate_factors(
    sc: Scenario, job_tenant: NDArray[np.int64], streams: Streams
) -> NDArray[np.float64]:
    """Each job's runtime estimate over its true runtime, for backfill: 1 when exact, else
    U(1, max_factor).

    Drawn from a stream per tenant, in the order of that tenant's jobs, so a tenant's k-th job
    gets the same factor whatever other tenants submit: compared runs whose demand differs
    elsewhere keep common random numbers.
    """
    factor = np.ones(len(job_tenant))
    spec = sc.scheduler
    if isinstance(spec, BackfillScheduler) and isinstance(spec.estimate, NoisyEstimate):
        for i, tenant in enumerate(sc.tenants):
            mine = np.flatnonzero(job_tenant == i)
            rng = streams.get(f"estimates/{tenant.name}")
            factor[mine] = rng.uniform(1.0, spec.estimate.max_factor, len(mine))
    return factor
