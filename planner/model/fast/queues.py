"""The queues of the policies that may cut runs short: fifo with failures or spot tenants, and
priority (aging, preemption), with spot jobs and preemption as planner.model.policies.base.
Backfill and quota keep their own queues (planner.model.fast.backfill, quota) but share the
spot queue, requeueing and preemption kept here.

Each function mirrors the reference policy method of the same name (policies.base.Policy,
fifo.Fifo, priority.Priority). A queue is a doubly linked list over job ids, so an interrupted
job goes back to the head and a spot job that starts leaves from the middle, each in O(1).
Queues are numbered by priority level, ascending (fifo has one), then the spot queue.
"""

from __future__ import annotations

import numpy as np

from planner.model.fast import backfill, flow, interrupt, quota
from planner.model.fast.jit import kernel, kernel_inline
from planner.model.fast.placement import choose
from planner.model.fast.sched import BACKFILL, QUOTA
from planner.model.fast.state import (
    AGING,
    AGING_H,
    FIFO,
    HEAP_SIZE,
    KIND,
    N_LEVELS,
    NOW,
    PREEMPT_LOWER,
    PREEMPTS,
    PRIORITY,
    QUEUED,
    Fleet,
    Policy,
    State,
)

# -- linked queues -----------------------------------------------------------------------------


@kernel
def _push_back(pol: Policy, q: int, job: int) -> None:
    tail = pol.q_tail[q]
    pol.q_prev[job] = tail
    pol.q_next[job] = -1
    if tail >= 0:
        pol.q_next[tail] = job
    else:
        pol.q_head[q] = job
    pol.q_tail[q] = job


@kernel
def _push_front(pol: Policy, q: int, job: int) -> None:
    head = pol.q_head[q]
    pol.q_next[job] = head
    pol.q_prev[job] = -1
    if head >= 0:
        pol.q_prev[head] = job
    else:
        pol.q_tail[q] = job
    pol.q_head[q] = job


@kernel
def _unlink(pol: Policy, q: int, job: int) -> None:
    prev, nxt = pol.q_prev[job], pol.q_next[job]
    if prev >= 0:
        pol.q_next[prev] = nxt
    else:
        pol.q_head[q] = nxt
    if nxt >= 0:
        pol.q_prev[nxt] = prev
    else:
        pol.q_tail[q] = prev


@kernel_inline
def _append(s: State, q: int, job: int) -> None:
    s.jobs.state[job] = QUEUED
    _push_back(s.policy, q, job)


# -- the policy hooks ----------------------------------------------------------------------------


@kernel_inline
def _start(s: State, job: int, only_pool: int) -> bool:
    """Policy._start (the start time it notes is the run's, kept by try_start); under backfill,
    Backfill._start, which notes the run's estimated end."""
    if s.sched.kind[0] == BACKFILL:
        return backfill.start(
            s.fleet,
            s.jobs,
            s.tenants,
            s.flow,
            s.records,
            s.policy,
            s.sched.backfill,
            job,
            only_pool,
        )
    return flow.try_start(s.fleet, s.jobs, s.tenants, s.flow, s.records, s.policy, job, only_pool)


@kernel_inline
def requeue(s: State, job: int) -> None:
    """Policy.requeue: an interrupted job goes back ahead of every job of its queue (the spot
    queue, or the policy's: Backfill._requeue, Quota._requeue)."""
    pol, tenant = s.policy, s.jobs.tenant[job]
    kind = s.sched.kind[0]
    if kind == BACKFILL and not pol.tenant_spot[tenant]:
        backfill.requeue(s.jobs, s.sched.backfill, job)
    elif kind == QUOTA and not pol.tenant_spot[tenant]:
        quota.requeue(s.jobs, s.sched.quota, job)
    else:
        _push_front(pol, pol.tenant_queue[tenant], job)


@kernel_inline
def submit_spot(s: State, job: int) -> bool:
    """Policy.submit's spot branch, for the policies with queues of their own (backfill,
    quota): a spot job starts if no spot job waits and it fits, else it queues. Returns
    whether ``job`` is a spot job (handled here)."""
    pol = s.policy
    if not pol.tenant_spot[s.jobs.tenant[job]]:
        return False
    spot = pol.flags[N_LEVELS]
    if pol.q_head[spot] >= 0 or not _start(s, job, -1):
        _append(s, spot, job)
    return True


@kernel_inline
def dispatch_spot(s: State) -> None:
    """Policy.dispatch's spot pass, after the pass of a policy with queues of its own."""
    spot = s.policy.flags[N_LEVELS]
    if s.policy.q_head[spot] >= 0:
        _dispatch_spot(s, spot)


@kernel_inline
def submit(s: State, job: int) -> None:
    """Policy.submit with Fifo._submit or Priority._submit."""
    pol = s.policy
    q = pol.tenant_queue[s.jobs.tenant[job]]
    if pol.tenant_spot[s.jobs.tenant[job]]:
        if pol.q_head[q] >= 0 or not _start(s, job, -1):
            _append(s, q, job)
        return
    if pol.flags[KIND] == FIFO:
        # An arrival frees no GPUs, so behind a blocked head it cannot start either.
        if pol.q_head[0] >= 0 or not (_start(s, job, -1) or make_room(s, job, -1, -1)):
            _append(s, 0, job)
        return
    # An arrival frees no GPUs: it may start only if nothing at its level or above waits (any
    # level at all, with aging).
    last = pol.flags[N_LEVELS] - 1 if pol.flags[AGING] else q
    waiting_ahead = False
    for level in range(last + 1):
        waiting_ahead = waiting_ahead or pol.q_head[level] >= 0
    if waiting_ahead or not (_start(s, job, -1) or make_room(s, job, -1, -1)):
        _append(s, q, job)


@kernel_inline
def _effective(s: State, job: int) -> float:
    """Priority._effective: the job's level after aging (lower runs first)."""
    pol = s.policy
    waited_h = s.flow.clock[NOW] - s.jobs.submit_h[job]
    if not waited_h > 0.0:
        waited_h = 0.0
    level: float = pol.tenant_level[s.jobs.tenant[job]] - np.floor(waited_h / pol.params[AGING_H])
    return level


@kernel_inline
def _next_queue(s: State) -> int:
    """Priority._next_queue: best effective level, then earliest submitted; -1 if none."""
    pol = s.policy
    best, best_level, best_submit_h = -1, 0.0, 0.0
    for q in range(pol.flags[N_LEVELS]):
        head = pol.q_head[q]
        if head < 0:
            continue
        if not pol.flags[AGING]:
            return q
        level, submit_h = _effective(s, head), s.jobs.submit_h[head]
        if best < 0 or level < best_level or (level == best_level and submit_h < best_submit_h):
            best, best_level, best_submit_h = q, level, submit_h
    return best


@kernel_inline
def dispatch(s: State) -> None:
    """Policy.dispatch: the policy's pass (Fifo._dispatch or Priority._dispatch), then the
    spot jobs."""
    pol = s.policy
    if pol.flags[KIND] == FIFO:
        while pol.q_head[0] >= 0 and (
            _start(s, pol.q_head[0], -1) or make_room(s, pol.q_head[0], -1, -1)
        ):
            _unlink(pol, 0, pol.q_head[0])
    elif pol.flags[KIND] == PRIORITY:
        while True:
            q = _next_queue(s)
            if q < 0:
                break
            head = pol.q_head[q]
            if not (_start(s, head, -1) or make_room(s, head, -1, -1)):
                break
            _unlink(pol, q, head)
    spot = pol.flags[N_LEVELS]
    if pol.q_head[spot] >= 0:
        _dispatch_spot(s, spot)


@kernel_inline
def _dispatch_spot(s: State, q: int) -> None:
    """Policy._dispatch_spot: spot jobs take idle GPUs in arrival order; one that does not fit
    blocks no other."""
    pol = s.policy
    job = pol.q_head[q]
    while job >= 0:
        nxt = pol.q_next[job]
        if _start(s, job, -1):
            _unlink(pol, q, job)
        job = nxt


# -- preemption ----------------------------------------------------------------------------------


@kernel
def _preemptible(s: State, job: int, victim: int) -> bool:
    """Policy._preemptible (spot work yields to every other tier), and Priority's: a level
    stops lower levels, by level before aging."""
    pol, tenant = s.policy, s.jobs.tenant
    if pol.tenant_spot[tenant[victim]] and not pol.tenant_spot[tenant[job]]:
        return True
    return bool(
        pol.flags[KIND] == PRIORITY
        and pol.flags[PREEMPT_LOWER]
        and pol.tenant_level[tenant[victim]] > pol.tenant_level[tenant[job]]
    )


@kernel
def _victim_first(s: State, a: int, b: int) -> bool:
    """Whether victim ``a`` comes before ``b`` (Policy._victim_order, Priority's): spot first,
    then (priority) the lowest level, then the latest started, then the latest submitted."""
    pol, tenant = s.policy, s.jobs.tenant
    spot_a, spot_b = pol.tenant_spot[tenant[a]], pol.tenant_spot[tenant[b]]
    if spot_a != spot_b:
        return bool(spot_a)
    if pol.flags[KIND] == PRIORITY:
        level_a, level_b = pol.tenant_level[tenant[a]], pol.tenant_level[tenant[b]]
        if level_a != level_b:
            return bool(level_a > level_b)
    start_a, start_b = pol.run_start_h[a], pol.run_start_h[b]
    if start_a != start_b:
        return bool(start_a > start_b)
    return a > b


@kernel
def _borrows(s: State, owner: int, victim: int) -> bool:
    """quota._Borrower: whether ``victim`` (running on the owner's reserved pool) borrows it:
    it runs outside any quota and is not the owner's own."""
    return bool(s.sched.quota.in_quota[victim] == 0 and s.jobs.tenant[victim] != owner)


@kernel
def _gather(s: State, job: int, pool: int, owner: int) -> int:
    """The running jobs on ``pool`` that ``job`` may preempt (those borrowing from tenant
    ``owner`` if not -1), as a heap in ``policy.victims`` (first victim at the top); returns
    how many."""
    fl, heap = s.flow, s.policy.victims
    m = 0
    for e in range(fl.counters[HEAP_SIZE]):
        victim = fl.heap_job[e]
        if s.jobs.pool[victim] != pool:
            continue
        if not (_borrows(s, owner, victim) if owner >= 0 else _preemptible(s, job, victim)):
            continue
        i = m
        heap[i] = victim
        m += 1
        while i > 0 and _victim_first(s, heap[i], heap[(i - 1) >> 1]):
            heap[i], heap[(i - 1) >> 1] = heap[(i - 1) >> 1], heap[i]
            i = (i - 1) >> 1
    return m


@kernel
def _pop_victim(s: State, m: int) -> int:
    """Take the first of the ``m`` victims off the heap."""
    heap = s.policy.victims
    top: int = heap[0]
    m -= 1
    heap[0] = heap[m]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= m:
            break
        if child + 1 < m and _victim_first(s, heap[child + 1], heap[child]):
            child += 1
        if not _victim_first(s, heap[child], heap[i]):
            break
        heap[i], heap[child] = heap[child], heap[i]
        i = child
    return top


@kernel
def _fits_now(fleet: Fleet, pool: int, gpus: int) -> bool:
    """Pool._fits_now: whether a job of ``gpus`` would be placed now."""
    if gpus > fleet.pool_free_gpus[pool]:
        return False
    local, pod = choose(fleet, pool, gpus, fleet.whole[pool], False)
    return local >= 0 or pod >= 0


@kernel
def _replay_release(s: State, gpus: int, victim: int) -> bool:
    """One release of Pool.fit_after's replay: add ``victim``'s GPUs to the overlay of free
    counts; whether a job of ``gpus`` fits then. A retired cohort gives nothing back."""
    fleet, jobs, pol = s.fleet, s.jobs, s.policy
    if fleet.cohort_retired[jobs.cohort[victim]]:
        return False
    size = fleet.pool_node_gpus[jobs.pool[victim]]
    need = -(-gpus // size)
    node = jobs.first_node[victim]
    while node >= 0:
        after = fleet.node_free[node] + pol.extra_free[node] + jobs.gpus_per_node[victim]
        pol.extra_free[node] = after - fleet.node_free[node]
        if gpus < size:
            if after >= gpus:
                return True
        elif after == size:
            pod = fleet.node_pod[node]
            pol.pod_new_whole[pod] += 1
            if fleet.pod_whole[pod] + pol.pod_new_whole[pod] >= need:
                return True
        node = fleet.node_next[node]
    return False


@kernel
def _fit_after(s: State, pool: int, gpus: int, m: int) -> int:
    """Pool.fit_after over the ``m`` victims in order: how many must go for a job of ``gpus``
    to fit (0: it fits now), or -1. The victims it took are left in ``policy.chosen``."""
    if _fits_now(s.fleet, pool, gpus):
        return 0
    pol = s.policy
    k, found = 0, -1
    while m > 0:
        victim = _pop_victim(s, m)
        m -= 1
        pol.chosen[k] = victim
        k += 1
        if _replay_release(s, gpus, victim):
            found = k
            break
    for i in range(k):  # clear the overlay
        node = s.jobs.first_node[pol.chosen[i]]
        while node >= 0:
            pol.extra_free[node] = 0
            pol.pod_new_whole[s.fleet.node_pod[node]] = 0
            node = s.fleet.node_next[node]
    return found


@kernel
def make_room(s: State, job: int, only_pool: int, owner: int) -> bool:
    """Policy._make_room: preempt the fewest victims that let ``job`` start now, and start it.

    Victims are tried in victim order within each of the job's pools (or ``only_pool`` if not
    -1); the pool needing the fewest wins (the first such). Nothing is preempted unless it
    makes room. With ``owner`` not -1 the victims are the jobs borrowing that tenant's
    reservation (Quota's reclaim), else those ``job`` may preempt."""
    pol = s.policy
    if not pol.flags[PREEMPTS]:
        return False
    tenant, gpus = s.jobs.tenant[job], s.jobs.gpus[job]
    best_k, best_pool = -1, -1
    pools = 1 if only_pool >= 0 else s.tenants.n_candidates[tenant]
    for c in range(pools):
        pool = only_pool if only_pool >= 0 else s.tenants.candidates[tenant, c]
        m = _gather(s, job, pool, owner)
        if m == 0:
            continue
        k = _fit_after(s, pool, gpus, m)
        if k >= 0 and (best_k < 0 or k < best_k):
            best_k, best_pool = k, pool
    if best_pool < 0 or best_k == 0:
        return False
    m = _gather(s, job, best_pool, owner)
    for i in range(best_k):
        pol.chosen[i] = _pop_victim(s, m - i)
    for i in range(best_k):
        interrupt.stop(s, pol.chosen[i], True)
    started = _start(s, job, best_pool)
    # Requeued after the start, so a victim that is also first in line cannot jump it.
    for i in range(best_k - 1, -1, -1):
        requeue(s, pol.chosen[i])
    return started
