"""Quotas on the state arrays: planner.model.policies.quota.Quota, compiled.

Each function mirrors the Quota method of the same name. A tenant with a reservation has a
queue of its own, everyone else shares one; queue ``b`` is ``queue[head[b]:tail[b]]``, the
shared one last. Reclaiming lent GPUs preempts borrowers (planner.model.fast.queues.make_room).
"""

from __future__ import annotations

from planner.model.fast import flow as fl
from planner.model.fast import queues
from planner.model.fast import state as st
from planner.model.fast.jit import kernel, kernel_inline
from planner.model.fast.placement import allocate, release
from planner.model.fast.sched import Q_LEND, Q_RECLAIM, Quota
from planner.model.fast.state import (
    NOW,
    PREEMPTS,
    QUEUED,
    Fleet,
    Flow,
    Jobs,
    Policy,
    Records,
    State,
    Tenants,
)


@kernel
def _active(flow: Flow, q: Quota, tenant: int) -> bool:
    """Quota._active: has ``tenant`` a reservation in force now?"""
    now = flow.clock[NOW]
    return bool(q.held[tenant] and q.held_from_h[tenant] <= now < q.held_to_h[tenant])


@kernel
def _reserved_pool(jobs: Jobs, ten: Tenants, q: Quota, job: int) -> int:
    """Quota._reserved_pool: the reserved pool if ``job`` may run on it now, else -1."""
    tenant = jobs.tenant[job]
    for k in range(ten.n_candidates[tenant]):
        if ten.candidates[tenant, k] == q.held_pool[tenant]:
            return int(q.held_pool[tenant])
    return -1


@kernel
def _unused_on(flow: Flow, q: Quota, pool: int) -> int:
    """Quota._unused_on: GPUs reserved on ``pool`` now and not in use by their holders."""
    unused = 0
    for tenant in range(len(q.held)):
        if _active(flow, q, tenant) and q.held_pool[tenant] == pool:
            unused += max(0, q.held_gpus[tenant] - q.used[tenant])
    return unused


@kernel
def _start_outside(
    fleet: Fleet,
    jobs: Jobs,
    ten: Tenants,
    flow: Flow,
    rec: Records,
    pol: Policy,
    q: Quota,
    job: int,
) -> bool:
    """Quota._start_outside: Model.try_start with Quota._admit_outside, which (without
    ``lend``) refuses a placement that leaves its pool fewer free GPUs than the unused
    reservations on it; the next pool is tried."""
    tenant, gpus = jobs.tenant[job], jobs.gpus[job]
    lend = q.flags[Q_LEND]
    for k in range(ten.n_candidates[tenant]):
        pool = ten.candidates[tenant, k]
        if not allocate(fleet, jobs, job, pool, gpus):
            continue
        if not lend and fleet.pool_free_gpus[pool] < _unused_on(flow, q, pool):
            release(fleet, jobs, job)
            continue
        fl.start_placed(fleet, jobs, ten, flow, rec, pol, job)
        return True
    return False


@kernel
def _held_gpus(gpus: int, node_gpus: int) -> int:
    """planner.model.fleet.held_gpus."""
    return gpus if gpus <= node_gpus else -(-gpus // node_gpus) * node_gpus


@kernel_inline
def _start_own(s: State, job: int) -> bool:
    """Quota._start_own: a reserved tenant's job runs in quota if it fits what is left of its
    reservation (reclaiming lent GPUs from borrowers if it must and may), else outside like
    everyone else's."""
    fleet, jobs, ten, flow, rec, pol, q = (
        s.fleet,
        s.jobs,
        s.tenants,
        s.flow,
        s.records,
        s.policy,
        s.sched.quota,
    )
    tenant = jobs.tenant[job]
    active = _active(flow, q, tenant)
    pool = _reserved_pool(jobs, ten, q, job) if active else -1
    gpus = jobs.gpus[job]
    if pool >= 0:
        gpus = _held_gpus(gpus, fleet.pool_node_gpus[pool])
    if not active or q.used[tenant] + gpus > q.held_gpus[tenant]:
        return _start_outside(fleet, jobs, ten, flow, rec, pol, q, job)
    if pool < 0:
        return False
    started = fl.try_start(fleet, jobs, ten, flow, rec, pol, job, pool) or (
        bool(q.flags[Q_RECLAIM]) and queues.make_room(s, job, pool, tenant)
    )
    if started:
        q.in_quota[job] = gpus
        q.used[tenant] += gpus
        rec.start_in_quota[flow.counters[st.N_STARTS] - 1] = 1
    return started


@kernel_inline
def start_on(
    fleet: Fleet,
    jobs: Jobs,
    ten: Tenants,
    flow: Flow,
    rec: Records,
    pol: Policy,
    q: Quota,
    job: int,
    pool: int,
) -> bool:
    """Quota.start_on: a job running at time zero counts against its tenant's reservation when
    it runs on the reserved pool and fits what is left of it."""
    if not fl.try_start(fleet, jobs, ten, flow, rec, pol, job, pool):
        return False
    tenant = jobs.tenant[job]
    gpus = jobs.gpus_per_node[job] * jobs.nodes[job]
    if (
        _active(flow, q, tenant)
        and jobs.pool[job] == q.held_pool[tenant]
        and q.used[tenant] + gpus <= q.held_gpus[tenant]
    ):
        q.in_quota[job] = gpus
        q.used[tenant] += gpus
        rec.start_in_quota[flow.counters[st.N_STARTS] - 1] = 1
    return True


@kernel_inline
def ended(jobs: Jobs, q: Quota, job: int) -> None:
    """Quota.ended: in-quota use falls as runs end."""
    gpus = q.in_quota[job]
    q.in_quota[job] = 0
    if gpus:
        q.used[jobs.tenant[job]] -= gpus


@kernel
def _append(jobs: Jobs, q: Quota, block: int, job: int) -> None:
    jobs.state[job] = QUEUED
    q.queue[q.tail[block]] = job
    q.tail[block] += 1


@kernel_inline
def _make_room(s: State, job: int) -> bool:
    """Policy._make_room for the shared queue's head: it may preempt spot work."""
    return bool(s.policy.flags[PREEMPTS]) and queues.make_room(s, job, -1, -1)


@kernel_inline
def submit(s: State, job: int) -> None:
    """Quota._submit: behind a waiting job of its own queue an arrival cannot start either."""
    jobs, q = s.jobs, s.sched.quota
    tenant = jobs.tenant[job]
    if q.held[tenant]:
        if q.tail[tenant] > q.head[tenant] or not _start_own(s, job):
            _append(jobs, q, tenant, job)
        return
    shared = len(q.held)
    if q.tail[shared] > q.head[shared] or not (
        _start_outside(s.fleet, jobs, s.tenants, s.flow, s.records, s.policy, q, job)
        or _make_room(s, job)
    ):
        _append(jobs, q, shared, job)


@kernel_inline
def dispatch(s: State) -> None:
    """Quota._dispatch: each reserved tenant's queue in tenant order, then the shared one."""
    fleet, jobs, ten, flow, rec, pol, q = (
        s.fleet,
        s.jobs,
        s.tenants,
        s.flow,
        s.records,
        s.policy,
        s.sched.quota,
    )
    shared = len(q.held)
    for tenant in range(shared):
        if not q.held[tenant]:
            continue
        while q.tail[tenant] > q.head[tenant] and _start_own(s, q.queue[q.head[tenant]]):
            q.head[tenant] += 1
    while q.tail[shared] > q.head[shared] and (
        _start_outside(fleet, jobs, ten, flow, rec, pol, q, q.queue[q.head[shared]])
        or _make_room(s, q.queue[q.head[shared]])
    ):
        q.head[shared] += 1


@kernel_inline
def requeue(jobs: Jobs, q: Quota, job: int) -> None:
    """Quota._requeue: an interrupted job goes back to the head of its tenant's own queue, or
    of the shared one."""
    tenant = jobs.tenant[job]
    block = tenant if q.held[tenant] else len(q.held)
    q.head[block] -= 1
    q.queue[q.head[block]] = job
