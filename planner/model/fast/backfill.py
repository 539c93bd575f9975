"""EASY backfill on the state arrays: planner.model.policies.backfill.Backfill, compiled.

Each function mirrors the Backfill method of the same name (the engine hooks ``submit``,
``dispatch``, ``ended``, ``requeue`` and ``start``, and the helpers behind them), with the
same float operations in the same order, so both engines reserve, backfill and park the same
jobs. The queue is ``queue[head:tail]`` in queue order; jobs that leave it from inside
(backfilled or parked) are squeezed out of the part of it a pass looked at, as the reference
rebuilds that part of its deque; interrupted jobs go back before its head. The reservation is
a pool, a start time, nodes (a list and a bitmap) and a serial number that changes with every
new reservation (the reference's object identity).
"""

from __future__ import annotations

import math

from planner.model.fast import flow as fl
from planner.model.fast import queues
from planner.model.fast.jit import kernel, kernel_inline
from planner.model.fast.lookahead import fit_after, heapify
from planner.model.fast.placement import _bit, allocate, allocate_off
from planner.model.fast.sched import (
    B_FIRST,
    B_HEAD,
    B_LAST,
    B_MAX_SCAN,
    B_NEXT_ID,
    B_PARKED,
    B_PARKED_FOR,
    B_PARKED_SMALLEST,
    B_RES_ID,
    B_RES_JOB,
    B_RES_NODES,
    B_RES_POOL,
    B_SMALLEST,
    B_STALE,
    B_TAIL,
    Backfill,
)
from planner.model.fast.state import (
    HEAP_SIZE,
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

# Estimated ends within this of the reservation count as before it (float noise in sums).
EPS_H = 1e-9
STARTED, PARKED = 1, 2  # Backfill.gone: why a job left the queue in this pass


# -- starts and estimates --------------------------------------------------------------------------


@kernel_inline
def _admitted(fleet: Fleet, jobs: Jobs, flow: Flow, pol: Policy, bf: Backfill, job: int) -> None:
    """Backfill._admitted: every start is noted with its estimated end."""
    run_h = fl.duration_h(fleet, jobs, pol, job, jobs.pool[job])
    bf.estimated_end_h[job] = flow.clock[NOW] + run_h * bf.factor[job]


@kernel_inline
def start(
    fleet: Fleet,
    jobs: Jobs,
    ten: Tenants,
    flow: Flow,
    rec: Records,
    pol: Policy,
    bf: Backfill,
    job: int,
    only_pool: int,
) -> bool:
    """Backfill._start: try to start ``job`` (on ``only_pool`` if not -1), noting its estimate.
    Also Policy.start_on, for a job running at time zero."""
    if not fl.try_start(fleet, jobs, ten, flow, rec, pol, job, only_pool):
        return False
    _admitted(fleet, jobs, flow, pol, bf, job)
    return True


@kernel_inline
def _make_room(s: State, job: int) -> bool:
    """Policy._make_room: a blocked head may preempt spot work (only when there is any)."""
    return bool(s.policy.flags[PREEMPTS]) and queues.make_room(s, job, -1, -1)


@kernel_inline
def _late(fleet: Fleet, jobs: Jobs, flow: Flow, pol: Policy, bf: Backfill, job: int) -> bool:
    """Backfill._late: would ``job``, started now on the reserved pool, run past the
    reservation by its estimate? Then it may not use the reserved nodes."""
    c = bf.counters
    if c[B_RES_JOB] < 0:
        return False
    run_h = fl.duration_h(fleet, jobs, pol, job, c[B_RES_POOL]) * bf.factor[job]
    return bool(run_h > bf.res_start_h[0] - flow.clock[NOW] + EPS_H)


@kernel_inline
def _try_backfill(
    fleet: Fleet,
    jobs: Jobs,
    ten: Tenants,
    flow: Flow,
    rec: Records,
    pol: Policy,
    bf: Backfill,
    job: int,
    late: bool,
) -> bool:
    """Backfill._try_backfill: a late job may start anywhere but on the reserved nodes
    (Model.try_start with ``avoid``)."""
    c = bf.counters
    if not (late and c[B_RES_JOB] >= 0):
        return start(fleet, jobs, ten, flow, rec, pol, bf, job, -1)
    tenant, gpus, held_pool = jobs.tenant[job], jobs.gpus[job], c[B_RES_POOL]
    for k in range(ten.n_candidates[tenant]):
        pool = ten.candidates[tenant, k]
        if pool == held_pool:
            placed = allocate_off(fleet, jobs, job, pool, gpus, bf.res_mask, True)
        else:
            placed = allocate(fleet, jobs, job, pool, gpus)
        if placed:
            fl.start_placed(fleet, jobs, ten, flow, rec, pol, job)
            _admitted(fleet, jobs, flow, pol, bf, job)
            return True
    return False


@kernel_inline
def ended(flow: Flow, bf: Backfill, job: int) -> None:
    """Backfill.ended: a run that frees its GPUs before its estimate makes the reservation
    stale."""
    end_h = bf.estimated_end_h[job]
    bf.estimated_end_h[job] = math.nan
    if not math.isnan(end_h) and flow.clock[NOW] < end_h - EPS_H:
        bf.counters[B_STALE] = 1


# -- the queue -------------------------------------------------------------------------------------


@kernel
def _count_size(bf: Backfill, size: int) -> None:
    """A job of ``size`` GPUs joins the queued sizes (Backfill._sizes)."""
    bf.size_count[size] += 1
    if size < bf.counters[B_SMALLEST]:
        bf.counters[B_SMALLEST] = size


@kernel_inline
def _forget(jobs: Jobs, bf: Backfill, job: int) -> None:
    """Backfill._forget: a job leaves the queue (it started, or is parked): drop its size."""
    size = jobs.gpus[job]
    counts = bf.size_count
    counts[size] -= 1
    if counts[size] == 0 and size == bf.counters[B_SMALLEST]:
        while size < len(counts) - 1 and counts[size] == 0:
            size += 1
        bf.counters[B_SMALLEST] = size  # len(counts) - 1 when none is queued


@kernel
def _append(jobs: Jobs, bf: Backfill, job: int) -> None:
    c = bf.counters
    jobs.state[job] = QUEUED
    bf.queue[c[B_TAIL]] = job
    c[B_TAIL] += 1
    c[B_LAST] += 1
    bf.order[job] = c[B_LAST]
    _count_size(bf, jobs.gpus[job])


@kernel
def _sort_by_order(bf: Backfill, jobs: Jobs, n: int) -> None:
    """Sort ``bf.parked[:n]`` by queue order (a heapsort: nothing is allocated)."""
    parked, order = bf.parked, bf.order
    for end in range(n, 1, -1):
        # Build a max-heap over parked[:end] (first pass), or restore it from the root.
        start = end // 2 - 1 if end == n else 0
        for root in range(start, -1, -1):
            i = root
            while True:
                child = 2 * i + 1
                if child >= end:
                    break
                if child + 1 < end and order[parked[child + 1]] > order[parked[child]]:
                    child += 1
                if order[parked[child]] <= order[parked[i]]:
                    break
                parked[i], parked[child] = parked[child], parked[i]
                i = child
        parked[0], parked[end - 1] = parked[end - 1], parked[0]


@kernel
def _unpark(jobs: Jobs, bf: Backfill) -> None:
    """Backfill._unpark: put the parked jobs back in their places in the queue. They come
    from the front of it: merge them into the part of it that precedes the last of them."""
    c = bf.counters
    n = c[B_PARKED]
    parked, queue, order = bf.parked, bf.queue, bf.order
    ascending = True
    for i in range(n):
        _count_size(bf, jobs.gpus[parked[i]])
        if i and order[parked[i]] < order[parked[i - 1]]:
            ascending = False
    if not ascending:  # each pass parks its jobs in queue order: often they are sorted already
        _sort_by_order(bf, jobs, n)
    last = order[parked[n - 1]]
    head = c[B_HEAD]
    front = 0
    while head + front < c[B_TAIL] and order[queue[head + front]] < last:
        front += 1
    # Merge from the front into queue[head - n : head + front]: every parked job left the
    # queue by moving its head on, so there is room before it, and the write position never
    # passes the next front job to read.
    i, j = 0, 0
    for w in range(head - n, head + front):
        if j == n or (i < front and order[queue[head + i]] < order[parked[j]]):
            queue[w] = queue[head + i]
            i += 1
        else:
            queue[w] = parked[j]
            j += 1
    c[B_HEAD] = head - n
    c[B_PARKED] = 0
    c[B_PARKED_FOR] = -1


@kernel
def _park(jobs: Jobs, bf: Backfill, job: int) -> None:
    """Backfill._park, one job at a time: set it aside while the reservation it cannot get
    past stands (see the reference for why only room beside the reserved nodes frees it)."""
    c = bf.counters
    size = jobs.gpus[job]
    _forget(jobs, bf, job)
    if c[B_PARKED] == 0 or size < c[B_PARKED_SMALLEST]:
        c[B_PARKED_SMALLEST] = size
    bf.parked[c[B_PARKED]] = job
    c[B_PARKED] += 1
    c[B_PARKED_FOR] = c[B_RES_ID]


# -- the reservation -------------------------------------------------------------------------------


@kernel
def _estimated_end_h(
    jobs: Jobs, pol: Policy, bf: Backfill, head: int, job: int, now: float
) -> float:
    """When Backfill._earliest expects running ``job`` to end: at its estimate (now if it has
    none). Work the head may preempt (spot work, Policy._preemptible) counts as ending now."""
    spot = pol.tenant_spot
    if spot[jobs.tenant[job]] and not spot[jobs.tenant[head]]:
        return now
    end_h = bf.estimated_end_h[job]
    return now if math.isnan(end_h) else end_h


@kernel_inline
def _earliest(
    fleet: Fleet, jobs: Jobs, ten: Tenants, flow: Flow, pol: Policy, bf: Backfill, head: int
) -> None:
    """Backfill._reserve and Backfill._earliest: the head's earliest start over its pools,
    replaying the running jobs' estimated ends in order; the reservation becomes that (or
    none)."""
    c = bf.counters
    now = flow.clock[NOW]
    tenant, gpus = jobs.tenant[head], jobs.gpus[head]
    best_h = math.inf
    c[B_RES_JOB] = -1
    c[B_RES_ID] = -1
    for k in range(ten.n_candidates[tenant]):
        pool = ten.candidates[tenant, k]
        n = 0
        for i in range(flow.counters[HEAP_SIZE]):  # the running jobs
            job = flow.heap_job[i]
            if jobs.pool[job] == pool:
                bf.heap_end_h[n] = _estimated_end_h(jobs, pol, bf, head, job, now)
                bf.heap_job[n] = job
                n += 1
        heapify(bf.heap_end_h, bf.heap_job, n)
        ends, nodes, end_h = fit_after(fleet, jobs, pool, gpus, bf, n)
        if ends < 0:
            continue
        start_h = end_h if ends else now
        if c[B_RES_JOB] < 0 or start_h < best_h:
            best_h = start_h
            c[B_RES_JOB] = head
            c[B_RES_POOL] = pool
            c[B_RES_NODES] = nodes
            for i in range(nodes):
                bf.res_nodes[i] = bf.fit_nodes[i]
    if c[B_RES_JOB] < 0:
        return
    c[B_RES_ID] = c[B_NEXT_ID]
    c[B_NEXT_ID] += 1
    bf.res_start_h[0] = best_h
    mask = bf.res_mask
    for w in range(len(mask)):
        mask[w] = 0
    for i in range(c[B_RES_NODES]):
        local = bf.res_nodes[i]
        mask[local >> 6] |= _bit(local)


@kernel_inline
def _free_outside(fleet: Fleet, bf: Backfill) -> int:
    """Backfill._free_outside: free GPUs in the reserved pool on nodes the head does not
    hold."""
    c = bf.counters
    if c[B_RES_JOB] < 0:
        return 0
    pool = c[B_RES_POOL]
    node0 = fleet.pool_node0[pool]
    free = fleet.pool_free_gpus[pool]
    for i in range(c[B_RES_NODES]):
        free -= fleet.node_free[node0 + bf.res_nodes[i]]
    return int(free)


@kernel_inline
def _only_pool(jobs: Jobs, ten: Tenants, bf: Backfill, job: int) -> bool:
    """Backfill._only_pool: may ``job`` use the reserved pool and no other?"""
    tenant = jobs.tenant[job]
    return bool(
        bf.counters[B_RES_JOB] >= 0
        and ten.n_candidates[tenant] == 1
        and ten.candidates[tenant, 0] == bf.counters[B_RES_POOL]
    )


@kernel_inline
def _most_free_gpus(fleet: Fleet) -> int:
    """Backfill._most_free_gpus: free GPUs in the emptiest pool."""
    most = 0
    for free in fleet.pool_free_gpus:
        if free > most:
            most = free
    return int(most)


# -- the passes ------------------------------------------------------------------------------------


@kernel_inline
def submit(s: State, job: int) -> None:
    """Backfill._submit: an arrival starts at once if the queue is empty and it fits, or if it
    can be backfilled; otherwise it queues, and a new head gets a reservation."""
    fleet, jobs, ten, flow, rec, pol, bf = (
        s.fleet,
        s.jobs,
        s.tenants,
        s.flow,
        s.records,
        s.policy,
        s.sched.backfill,
    )
    c = bf.counters
    if c[B_HEAD] == c[B_TAIL]:
        if start(fleet, jobs, ten, flow, rec, pol, bf, job, -1) or _make_room(s, job):
            return
    elif _try_backfill(
        fleet, jobs, ten, flow, rec, pol, bf, job, _late(fleet, jobs, flow, pol, bf, job)
    ):
        return
    _append(jobs, bf, job)
    if c[B_TAIL] - c[B_HEAD] == 1:
        _earliest(fleet, jobs, ten, flow, pol, bf, job)


@kernel_inline
def dispatch(s: State) -> None:
    """Backfill._dispatch: start heads while they fit (or make room by preempting spot work),
    renew the reservation if the head changed or it is stale, then backfill."""
    fleet, jobs, ten, flow, rec, pol, bf = (
        s.fleet,
        s.jobs,
        s.tenants,
        s.flow,
        s.records,
        s.policy,
        s.sched.backfill,
    )
    c = bf.counters
    queue = bf.queue
    while c[B_HEAD] < c[B_TAIL] and (
        start(fleet, jobs, ten, flow, rec, pol, bf, queue[c[B_HEAD]], -1)
        or _make_room(s, queue[c[B_HEAD]])
    ):
        job = queue[c[B_HEAD]]
        c[B_HEAD] += 1
        _forget(jobs, bf, job)
        if c[B_PARKED]:  # a parked job may now be first in line
            _unpark(jobs, bf)
    if c[B_HEAD] == c[B_TAIL]:
        c[B_RES_JOB] = -1
        c[B_RES_ID] = -1
        return
    if c[B_RES_JOB] < 0 or c[B_RES_JOB] != queue[c[B_HEAD]] or c[B_STALE]:
        _earliest(fleet, jobs, ten, flow, pol, bf, queue[c[B_HEAD]])
        c[B_STALE] = 0
    _backfill(fleet, jobs, ten, flow, rec, pol, bf)


@kernel_inline
def requeue(jobs: Jobs, bf: Backfill, job: int) -> None:
    """Backfill._requeue: an interrupted job goes back before the head (after the parked jobs
    return to the queue), first in queue order; the reservation is dropped."""
    c = bf.counters
    if c[B_PARKED]:
        _unpark(jobs, bf)
    c[B_HEAD] -= 1
    bf.queue[c[B_HEAD]] = job
    c[B_FIRST] -= 1
    bf.order[job] = c[B_FIRST]
    _count_size(bf, jobs.gpus[job])
    c[B_RES_JOB] = -1
    c[B_RES_ID] = -1


@kernel_inline
def _backfill(
    fleet: Fleet, jobs: Jobs, ten: Tenants, flow: Flow, rec: Records, pol: Policy, bf: Backfill
) -> None:
    """Backfill._backfill: start every later job that does not delay the head's reservation,
    in queue order, looking at most ``max_scan`` deep; park the jobs that cannot pass it."""
    c = bf.counters
    held = c[B_RES_JOB] >= 0
    if c[B_PARKED] and (
        c[B_PARKED_FOR] != c[B_RES_ID] or _free_outside(fleet, bf) >= c[B_PARKED_SMALLEST]
    ):
        _unpark(jobs, bf)
    free = _most_free_gpus(fleet)
    head, tail = c[B_HEAD], c[B_TAIL]
    if tail - head < 2 or free < c[B_SMALLEST]:
        return  # not even the smallest queued job fits anywhere
    outside = -1  # free GPUs beside the reserved nodes, counted when first needed
    started, parked = 0, 0
    # A pass only takes GPUs, never frees them, and a job that fits nowhere leaves every larger
    # one of its tenant no room either (it would need a node with more free GPUs, or more whole
    # nodes in one pod). So once a placement fails, later jobs of that tenant at least as large
    # are not tried: the smallest size that fit nowhere on the tenant's pools, and the smallest
    # that fit nowhere off the reserved nodes (late jobs; the first bounds it too). Most jobs a
    # pass looks at are late and do not fit beside the reservation, so this saves most tries.
    nothing = len(bf.size_count)  # larger than any job: nothing failed yet
    failed_tenant, failed_any, failed_off = -1, nothing, nothing
    seen = 1  # queue positions looked at, the head's included
    end = tail if c[B_MAX_SCAN] < 0 else min(tail, head + c[B_MAX_SCAN])
    queue, gone = bf.queue, bf.gone
    for pos in range(head + 1, end):
        if free == 0:
            break
        seen += 1
        job = queue[pos]
        size = jobs.gpus[job]
        if size > free:
            continue
        late = _late(fleet, jobs, flow, pol, bf, job)
        if late and held and _only_pool(jobs, ten, bf, job):
            if outside < 0:
                outside = _free_outside(fleet, bf)
            if size > outside:
                gone[job] = PARKED  # no room beside the reserved nodes, too long for them
                parked += 1
                continue
        tenant = jobs.tenant[job]
        if tenant == failed_tenant and size >= (failed_off if late else failed_any):
            continue  # a job no larger of this tenant found no room in this pass
        if _try_backfill(fleet, jobs, ten, flow, rec, pol, bf, job, late):
            gone[job] = STARTED
            started += 1
            free = _most_free_gpus(fleet)
            outside = -1
        else:
            if tenant != failed_tenant:
                failed_tenant, failed_any, failed_off = tenant, nothing, nothing
            failed_off = min(failed_off, size)
            if not late:
                failed_any = min(failed_any, size)
    if not (started or parked):
        return
    # Only the part of the queue looked at changes: squeeze the jobs that left out of it,
    # keeping the others in order at its end, and move the head on past the gap.
    w = head + seen - 1
    parked_before = c[B_PARKED]
    for pos in range(head + seen - 1, head - 1, -1):
        job = queue[pos]
        if gone[job] == STARTED:
            _forget(jobs, bf, job)
        elif gone[job] == PARKED:  # only jobs that cannot pass a reservation are parked
            _park(jobs, bf, job)
        else:
            queue[w] = job
            w -= 1
        gone[job] = 0
    c[B_HEAD] = w + 1
    # The loop above parked this pass's jobs from the back: turn them to queue order, so that
    # _unpark finds them sorted unless several passes parked jobs in between one another.
    lo, hi = parked_before, c[B_PARKED] - 1
    while lo < hi:
        bf.parked[lo], bf.parked[hi] = bf.parked[hi], bf.parked[lo]
        lo += 1
        hi -= 1
