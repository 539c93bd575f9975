"""Runs cut short on the state arrays: node failures and repairs, and stopping a run.

Each function mirrors the reference engine's (planner.model.engine.Model, fleet.Pool,
failures) of the same name, with the same float operations in the same order. Python calls in
through :func:`fail_node` and :func:`repair_node` at the failures' business events.

One difference of order, with the same outcome: the reference takes a failed node out of
service before it stops the runs on it, and a stopped run gives back its GPUs on every other
node. Here the runs are stopped first (giving back every node) and the node is taken out after,
when all its GPUs are free; no job is placed in between, so the free sets end up the same.
"""

from __future__ import annotations

import math

import numpy as np

from planner.model.fast import flow, queues
from planner.model.fast.jit import kernel, kernel_inline
from planner.model.fast.placement import _bit, _off_partial, release
from planner.model.fast.sched import Q_RECLAIM
from planner.model.fast.state import (
    FAIL_RATE_H,
    HEAP_SIZE,
    INTERVAL_H,
    N_DRAWS,
    N_ENDS,
    N_LEVELS,
    N_LOST,
    N_STARTS,
    NOW,
    PREEMPT_LOWER,
    QUEUED,
    QUEUED_WORK,
    RECORDS_LOW,
    RESTART_H,
    WRITE_H,
    Fleet,
    Flow,
    Policy,
    State,
)

FAILED, PREEMPTED = 1, 2  # planner.recording's end kinds


@kernel
def record_lost(pol: Policy, job: int, cohort: int, gpu_h: float) -> None:
    """Recorder.work_lost."""
    i = pol.flags[N_LOST]
    pol.lost_job[i] = job
    pol.lost_cohort[i] = cohort
    pol.lost_gpu_h[i] = gpu_h
    pol.flags[N_LOST] += 1


@kernel_inline
def reserve(s: State) -> int:
    """Records one event may write at most: every job starts (and ends) once, under priority
    with preemption once more per level that may preempt it, and under quota with reclaim once
    more per reserved tenant's queue (a borrower preempted in a pass may start again in it, and
    be preempted by a later queue of the pass)."""
    pol = s.policy
    per_job = pol.flags[N_LEVELS] + 1 if pol.flags[PREEMPT_LOWER] else 1
    if s.sched.quota.flags[Q_RECLAIM]:
        per_job = len(s.sched.quota.held) + 1
    room: int = len(s.jobs.submit_h) * per_job + 16
    return room


@kernel_inline
def records_low(s: State) -> bool:
    """Whether the record arrays may not hold one more event; then the kernel returns and
    Python grows them (the arrays are allocated in Python only)."""
    room: int = reserve(s)
    count, rec, pol = s.flow.counters, s.records, s.policy
    low: bool = (
        count[N_STARTS] + room > len(rec.start_job)
        or count[N_ENDS] + room > len(rec.end_job)
        or count[N_DRAWS] + room > len(rec.credit_job)
        or pol.flags[N_LOST] + room > len(pol.lost_job)
    )
    pol.flags[RECORDS_LOW] = low
    return low


# -- the heap of run ends: taking out a run cut short ---------------------------------------------


@kernel
def _remove_end(fl: Flow, job: int) -> None:
    """Take ``job``'s run end out of the heap (the reference cancels its Wake)."""
    n = fl.counters[HEAP_SIZE]
    i = 0
    while fl.heap_job[i] != job:
        i += 1
    n -= 1
    fl.counters[HEAP_SIZE] = n
    if i == n:
        return
    flow._swap(fl, i, n)
    while i > 0 and flow._earlier(fl, i, (i - 1) >> 1):  # sift up
        flow._swap(fl, i, (i - 1) >> 1)
        i = (i - 1) >> 1
    while True:  # sift down
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and flow._earlier(fl, child + 1, child):
            child += 1
        if not flow._earlier(fl, child, i):
            break
        flow._swap(fl, i, child)
        i = child


# -- stopping a run ------------------------------------------------------------------------------


@kernel
def _interval_h(pol: Policy, nodes: int) -> float:
    """Checkpoints.interval_h: hours of progress between checkpoints on ``nodes`` nodes."""
    fixed: float = pol.params[INTERVAL_H]
    if not math.isnan(fixed):
        return fixed
    rate = pol.params[FAIL_RATE_H] * nodes
    if rate <= 0:
        return math.inf
    return math.sqrt(2.0 * pol.params[WRITE_H] / rate)


@kernel
def saved_progress_h(run_h: float, overhead_h: float, interval_h: float) -> float:
    """failures.saved_progress_h: hours of progress kept at an interruption."""
    progress_h = run_h - overhead_h
    if not progress_h > 0.0:
        progress_h = 0.0
    if math.isinf(interval_h):
        return 0.0
    saved_h: float = np.floor(progress_h / interval_h + 1e-12) * interval_h
    return saved_h


@kernel_inline
def stop(s: State, job: int, preempted: bool) -> None:
    """Model._stop: cut a run short, keep the job's checkpointed work, count the rest as lost,
    and tell the policy the run ended. The caller requeues the job."""
    fleet, jobs, ten, acc, prices, fl, rec, pol = s[:8]
    now = fl.clock[NOW]
    _remove_end(fl, job)
    run_h = now - pol.run_start_h[job]
    release(fleet, jobs, job)
    count = fl.counters
    if ten.pays_credits[jobs.tenant[job]]:
        flow._draw(jobs, acc, prices, rec, count, job, now)
    overhead_h = pol.params[RESTART_H] if pol.restarts[job] > 0 else 0.0
    saved_h = saved_progress_h(run_h, overhead_h, _interval_h(pol, jobs.nodes[job]))
    gpus, pool = jobs.gpus[job], jobs.pool[job]
    rate = gpus * fleet.pool_throughput[pool]  # Pool.work_rate
    if gpus > fleet.pool_node_gpus[pool]:
        rate = rate * fleet.pool_multinode[pool]
    left = jobs.work_gpu_h[job] - saved_h * rate
    jobs.work_gpu_h[job] = left if left > 1e-9 else 1e-9
    pol.restarts[job] += 1
    i = count[N_ENDS]
    rec.end_job[i] = job
    rec.end_h[i] = now
    pol.end_kind[i] = PREEMPTED if preempted else FAILED
    count[N_ENDS] += 1
    held = jobs.gpus_per_node[job] * jobs.nodes[job]
    record_lost(pol, job, jobs.cohort[job], (run_h - saved_h) * held)
    fl.clock[QUEUED_WORK] += jobs.work_gpu_h[job]
    jobs.state[job] = QUEUED
    flow._policy_ended(s, job)


# -- failures and repairs -------------------------------------------------------------------------


@kernel
def _unfree(fleet: Fleet, pool: int, local: int) -> None:
    """Pool._unfree: take a node's free GPUs out of the free sets."""
    node = fleet.pool_node0[pool] + local
    free = fleet.node_free[node]
    if free == fleet.pool_node_gpus[pool]:
        fleet.whole[pool, local >> 6] &= ~_bit(local)
        fleet.pod_whole[fleet.node_pod[node]] -= 1
    elif free:
        _off_partial(fleet, pool, free, local)
    fleet.pool_free_gpus[pool] -= free
    fleet.node_free[node] = 0


@kernel
def unfree(s: State, pool: int, local: int) -> None:
    """Hold a node back as a spare (Pool.hold_spares)."""
    _unfree(s.fleet, pool, local)


@kernel
def _free_whole(fleet: Fleet, pool: int, local: int) -> None:
    """Pool._free_whole: a node out of service comes back with every GPU free."""
    node = fleet.pool_node0[pool] + local
    size = fleet.pool_node_gpus[pool]
    fleet.node_free[node] = size
    fleet.whole[pool, local >> 6] |= _bit(local)
    fleet.pod_whole[fleet.node_pod[node]] += 1
    fleet.pool_free_gpus[pool] += size


@kernel
def _runs_on(s: State, pool: int, node: int) -> int:
    """The running jobs with a GPU on global ``node``, into ``policy.chosen`` in ascending job
    order (the reference sorts them); returns how many."""
    fl, jobs, out = s.flow, s.jobs, s.policy.chosen
    n = 0
    for i in range(fl.counters[HEAP_SIZE]):
        job = fl.heap_job[i]
        if jobs.pool[job] != pool:
            continue
        at = jobs.first_node[job]
        while at >= 0 and at != node:
            at = s.fleet.node_next[at]
        if at < 0:
            continue
        k = n  # insertion sort: few jobs share a node
        while k > 0 and out[k - 1] > job:
            out[k] = out[k - 1]
            k -= 1
        out[k] = job
        n += 1
    return n


@kernel
def fail_node(s: State, pool: int, local: int, spare_local: int, now_h: float) -> None:
    """Model._node_failed after Pool.fail: the runs on the node are cut short and go back to
    the head of their queue in their original order; the node goes down and the spare Python
    chose (if not -1) comes into service; then the policy dispatches."""
    s.flow.clock[NOW] = now_h
    n = _runs_on(s, pool, s.fleet.pool_node0[pool] + local)
    for k in range(n - 1, -1, -1):
        job = s.policy.chosen[k]
        stop(s, job, False)
        queues.requeue(s, job)
    _unfree(s.fleet, pool, local)
    if spare_local >= 0:
        _free_whole(s.fleet, pool, spare_local)
    flow._policy_dispatch(s)


@kernel
def repair_node(s: State, pool: int, local: int, to_service: bool, now_h: float) -> None:
    """Model._node_repaired after Pool.repair: back in service unless it returns to the spares
    or its cohort has retired; then the policy dispatches."""
    s.flow.clock[NOW] = now_h
    if to_service:
        _free_whole(s.fleet, pool, local)
    flow._policy_dispatch(s)
