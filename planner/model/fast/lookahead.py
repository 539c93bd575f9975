"""Placement that looks ahead, on the state arrays: where a job would fit now, and after which
of a sequence of runs' ends (Pool._fits_now and Pool.fit_after, compiled).

Nothing here changes the fleet: ends are replayed on scratch counts of the GPUs each node would
gain, as Pool.fit_after replays them on a sparse overlay. The runs to replay come as a heap
ordered by (time, job), popped in that order (the order Backfill._earliest sorts them in).
"""

from __future__ import annotations

from planner.model.fast.jit import kernel
from planner.model.fast.placement import ONE, _lowest_bit, _span, choose
from planner.model.fast.sched import Backfill
from planner.model.fast.state import F64, I64, Fleet, Jobs

# -- a heap of (time, job), earliest first, ties to the lower job ----------------------------------


@kernel
def _before(end_h: F64, job: I64, a: int, b: int) -> bool:
    return bool(end_h[a] < end_h[b] or (end_h[a] == end_h[b] and job[a] < job[b]))


@kernel
def _sift_down(end_h: F64, job: I64, i: int, n: int) -> None:
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and _before(end_h, job, child + 1, child):
            child += 1
        if not _before(end_h, job, child, i):
            return
        end_h[i], end_h[child] = end_h[child], end_h[i]
        job[i], job[child] = job[child], job[i]
        i = child


@kernel
def heapify(end_h: F64, job: I64, n: int) -> None:
    for i in range(n // 2 - 1, -1, -1):
        _sift_down(end_h, job, i, n)


@kernel
def _pop(end_h: F64, job: I64, n: int) -> tuple[float, int]:
    """Remove the earliest of a heap of ``n`` entries; returns it."""
    t_h, j = end_h[0], job[0]
    end_h[0], job[0] = end_h[n - 1], job[n - 1]
    _sift_down(end_h, job, 0, n - 1)
    return t_h, int(j)


# -- where a job fits ------------------------------------------------------------------------------


@kernel
def lowest_whole(fleet: Fleet, pool: int, pod: int, n: int, out: I64, at: int) -> None:
    """Write the pod's ``n`` lowest-numbered whole free local nodes to ``out[at:]``
    (Pod.lowest_whole)."""
    first, last = fleet.pod_first[pod], fleet.pod_first[pod] + fleet.pod_size[pod]
    for w in range(first >> 6, ((last - 1) >> 6) + 1):
        word = fleet.whole[pool, w] & _span(w, first, last)
        while word != 0 and n > 0:
            out[at] = w * 64 + _lowest_bit(word)
            word &= word - ONE
            at += 1
            n -= 1


@kernel
def fits_now(fleet: Fleet, pool: int, gpus: int, need: int, out: I64) -> int:
    """The nodes a job would take now, without taking them, written to ``out``; returns how
    many (0: it does not fit) (Pool._fits_now)."""
    if gpus > fleet.pool_free_gpus[pool]:
        return 0
    local, pod = choose(fleet, pool, gpus, fleet.whole[pool], False)
    if local >= 0:
        out[0] = local
        return 1
    if pod < 0:
        return 0
    lowest_whole(fleet, pool, pod, need, out, 0)
    return need


@kernel
def fit_after(
    fleet: Fleet, jobs: Jobs, pool: int, gpus: int, bf: Backfill, n: int
) -> tuple[int, int, float]:
    """When would a job of ``gpus`` GPUs fit on ``pool`` if the ``n`` runs in ``bf``'s heap
    ended in (time, job) order? (Pool.fit_after.)

    Returns how many ends it needs (0: it fits now; -1: not even after all of them), how many
    nodes it would take (written to ``bf.fit_nodes`` as local nodes) and the time of the last
    end it needs. Ends on retired cohorts give nothing back, as in Pool.release. (The
    reference skips failed nodes too; no running job holds one, its runs having been cut
    short when it failed.)
    """
    size = fleet.pool_node_gpus[pool]
    need = -(-gpus // size)
    node0 = fleet.pool_node0[pool]
    out = bf.fit_nodes
    fit = fits_now(fleet, pool, gpus, need, out)
    if fit:
        return 0, fit, 0.0
    extra, touched, newly_whole, gained = bf.extra, bf.touched, bf.newly_whole, bf.pod_gained
    node_free, node_pod, node_next = fleet.node_free, fleet.node_pod, fleet.node_next
    n_touched, n_whole, k, end_h = 0, 0, 0, 0.0
    found_k, found_nodes = -1, 0
    while n > 0 and found_k < 0:
        end_h, job = _pop(bf.heap_end_h, bf.heap_job, n)
        n -= 1
        k += 1
        if fleet.cohort_retired[jobs.cohort[job]]:
            continue
        per_node = jobs.gpus_per_node[job]
        node = jobs.first_node[job]
        pod = -1  # the pod where a node became whole (a run's nodes share one pod)
        while node >= 0:
            if extra[node] == 0:
                touched[n_touched] = node
                n_touched += 1
            after = node_free[node] + extra[node] + per_node
            extra[node] = after - node_free[node]
            if gpus < size:
                if after >= gpus:
                    out[0] = node - node0
                    found_k, found_nodes = k, 1
                    break
            elif after == size:
                newly_whole[n_whole] = node
                n_whole += 1
                pod = node_pod[node]
                gained[pod] += 1
            node = node_next[node]
        if found_k < 0 and pod >= 0 and fleet.pod_whole[pod] + gained[pod] >= need:
            # Nodes freed by the ends first, in the order they became whole: the ones free
            # now may serve others.
            mine = 0
            for i in range(n_whole):
                if mine < need and node_pod[newly_whole[i]] == pod:
                    out[mine] = newly_whole[i] - node0
                    mine += 1
            lowest_whole(fleet, pool, pod, need - mine, out, mine)
            found_k, found_nodes = k, need
    for i in range(n_touched):
        extra[touched[i]] = 0
    for i in range(n_whole):
        gained[node_pod[newly_whole[i]]] = 0
    return found_k, found_nodes, end_h
