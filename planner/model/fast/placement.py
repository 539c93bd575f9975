"""Node and pod placement on the state arrays: the rules of planner.model.fleet, compiled.

Each function mirrors the :class:`~planner.model.fleet.Pool` method of the same name and keeps
its tie rule: the lowest-numbered node among equally good ones, the lowest-numbered pod among
equally good pods. Free nodes are bitmaps over a pool's nodes, one per free-GPU count and one of
whole free nodes, so "the lowest" is the first set bit. A cohort's nodes and pods are contiguous,
so best fit inside one cohort (the ``spread`` rule) reads the same bitmaps over its words only.
"""

from __future__ import annotations

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from planner.model.fast.jit import kernel, kernel_inline
from planner.model.fast.state import Fleet, Jobs

ONE = np.uint64(1)
ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@kernel
def _bit(local: int) -> np.uint64:
    return ONE << np.uint64(local & 63)


@kernel
def _lowest_bit(word: np.uint64) -> int:
    """The position of a nonzero word's lowest set bit."""
    return int(np.int64(trailing_zeros(word)))  # type: ignore[call-arg]


@kernel
def _span(w: int, lo: int, hi: int) -> np.uint64:
    """The bits of word ``w`` for positions ``lo`` to ``hi - 1``."""
    a = max(lo, w * 64) - w * 64
    b = min(hi, w * 64 + 64) - w * 64
    return ALL if b - a == 64 else ((ONE << np.uint64(b - a)) - ONE) << np.uint64(a)


@kernel
def _lowest_in(bits: np.ndarray, lo: int, hi: int, avoid: np.ndarray, avoiding: bool) -> int:
    """The lowest set bit of a bitmap at positions ``lo`` to ``hi - 1``, off the bits set in
    ``avoid`` when ``avoiding``, or -1."""
    for w in range(lo >> 6, ((hi - 1) >> 6) + 1):
        word = bits[w] & _span(w, lo, hi)
        if avoiding:
            word &= ~avoid[w]
        if word != 0:
            return w * 64 + _lowest_bit(word)
    return -1


@kernel
def _to_partial(fleet: Fleet, pool: int, free: int, local: int) -> None:
    fleet.partial[pool, free, local >> 6] |= _bit(local)
    fleet.partial_count[pool, free] += 1


@kernel
def _off_partial(fleet: Fleet, pool: int, free: int, local: int) -> None:
    fleet.partial[pool, free, local >> 6] &= ~_bit(local)
    fleet.partial_count[pool, free] -= 1


@kernel
def add_pod(fleet: Fleet, pool: int, first_local: int, nodes: int, cohort: int) -> None:
    """Install a pod of a new cohort, all its nodes free (Pool.add_cohort)."""
    pod = fleet.pool_pod0[pool] + fleet.pool_pods[pool]
    fleet.pool_pods[pool] += 1
    fleet.pod_first[pod] = first_local
    fleet.pod_size[pod] = nodes
    fleet.pod_cohort[pod] = cohort
    fleet.pod_whole[pod] = nodes
    size = fleet.pool_node_gpus[pool]
    if fleet.cohort_pods[cohort] == 0:  # the cohort's first pod: list it in install order
        fleet.pool_cohort_list[fleet.pool_cohort0[pool] + fleet.pool_cohorts[pool]] = cohort
        fleet.pool_cohorts[pool] += 1
        fleet.cohort_pod0[cohort] = pod
        fleet.cohort_node0[cohort] = first_local
    fleet.cohort_pods[cohort] += 1
    fleet.cohort_nodes[cohort] += nodes
    fleet.cohort_gpus[cohort] += nodes * size
    node0 = fleet.pool_node0[pool]
    node_free, node_pod, whole = fleet.node_free, fleet.node_pod, fleet.whole
    for local in range(first_local, first_local + nodes):
        node_free[node0 + local] = size
        node_pod[node0 + local] = pod
        whole[pool, local >> 6] |= _bit(local)
    fleet.pool_nodes[pool] = max(fleet.pool_nodes[pool], first_local + nodes)
    fleet.pool_free_gpus[pool] += nodes * size


@kernel
def whole_count(fleet: Fleet, pool: int, pod: int, avoid: np.ndarray, avoiding: bool) -> int:
    """The pod's whole free nodes, off the local nodes set in ``avoid`` (Pod.whole_count)."""
    count = fleet.pod_whole[pod]
    if not avoiding:
        return int(count)
    first, last = fleet.pod_first[pod], fleet.pod_first[pod] + fleet.pod_size[pod]
    for w in range(first >> 6, ((last - 1) >> 6) + 1):
        word = fleet.whole[pool, w] & avoid[w] & _span(w, first, last)
        while word != 0:
            word &= word - ONE
            count -= 1
    return int(count)


@kernel
def _best_pod(
    fleet: Fleet,
    pool: int,
    need: int,
    pod_lo: int,
    pod_hi: int,
    avoid: np.ndarray,
    avoiding: bool,
) -> int:
    """Of pods ``pod_lo`` to ``pod_hi - 1``, the pod with the fewest whole free nodes (off
    ``avoid``) that still holds ``need``; ties to the lowest-numbered pod (Pool._best_pod).
    -1 if none."""
    best, best_free = -1, 0
    for pod in range(pod_lo, pod_hi):
        free = whole_count(fleet, pool, pod, avoid, avoiding)
        if free >= need and (best < 0 or free < best_free):
            best, best_free = pod, free
            if free == need:
                break
    return best


@kernel
def _best_fit(
    fleet: Fleet,
    pool: int,
    gpus: int,
    lo: int,
    hi: int,
    pod_lo: int,
    pod_hi: int,
    avoid: np.ndarray,
    avoiding: bool,
) -> tuple[int, int]:
    """The best-fit place among local nodes ``lo`` to ``hi - 1`` and pods ``pod_lo`` to
    ``pod_hi - 1``, off the nodes in ``avoid`` when ``avoiding`` (Pool._best_fit):
    ``(local node, -1)`` on a partly free node, ``(-1, pod)`` for whole nodes, ``(-1, -1)`` if
    it does not fit."""
    size = fleet.pool_node_gpus[pool]
    if gpus < size and hi > lo:
        for free in range(gpus, size):
            if fleet.partial_count[pool, free] == 0:
                continue
            local = _lowest_in(fleet.partial[pool, free], lo, hi, avoid, avoiding)
            if local >= 0:
                return local, -1
    return -1, _best_pod(fleet, pool, -(-gpus // size), pod_lo, pod_hi, avoid, avoiding)


@kernel
def _before(fleet: Fleet, a: int, ka: int, b: int, kb: int) -> bool:
    """Whether cohort ``a`` (``ka``-th installed in its pool) comes before cohort ``b`` in the
    spread order: a lower share of GPUs busy, compared exactly, then install order."""
    busy, gpus = fleet.cohort_busy, fleet.cohort_gpus
    left, right = busy[a] * gpus[b], busy[b] * gpus[a]
    return left < right or (left == right and ka < kb)


@kernel
def _next_cohort(fleet: Fleet, pool: int, after: int) -> int:
    """The install position of the cohort in service that follows the one at ``after`` (-1:
    the first) in the spread order (Pool._by_busy_share), or -1 after the last."""
    first = fleet.pool_cohort0[pool]
    listed = fleet.pool_cohort_list
    best = -1
    for k in range(fleet.pool_cohorts[pool]):
        c = listed[first + k]
        if fleet.cohort_retired[c]:
            continue
        if after >= 0 and not _before(fleet, listed[first + after], after, c, k):
            continue
        if best < 0 or _before(fleet, c, k, listed[first + best], best):
            best = k
    return best


@kernel
def choose(
    fleet: Fleet, pool: int, gpus: int, avoid: np.ndarray, avoiding: bool
) -> tuple[int, int]:
    """Where a job of ``gpus`` would go now, off the nodes in ``avoid`` when ``avoiding``
    (Pool._choose), as :func:`_best_fit` returns it: under ``spread``, a job of at most one
    node in the first cohort, in the spread order, where it fits."""
    pod0 = fleet.pool_pod0[pool]
    size = fleet.pool_node_gpus[pool]
    if fleet.pool_spread[pool] == 0 or gpus > size or fleet.pool_cohorts[pool] < 2:
        return _best_fit(
            fleet,
            pool,
            gpus,
            0,
            fleet.pool_nodes[pool],
            pod0,
            pod0 + fleet.pool_pods[pool],
            avoid,
            avoiding,
        )
    k = _next_cohort(fleet, pool, -1)
    while k >= 0:
        c = fleet.pool_cohort_list[fleet.pool_cohort0[pool] + k]
        lo, pod_lo = fleet.cohort_node0[c], fleet.cohort_pod0[c]
        local, pod = _best_fit(
            fleet,
            pool,
            gpus,
            lo,
            lo + fleet.cohort_nodes[c],
            pod_lo,
            pod_lo + fleet.cohort_pods[c],
            avoid,
            avoiding,
        )
        if local >= 0 or pod >= 0:
            return local, pod
        k = _next_cohort(fleet, pool, k)
    return -1, -1


@kernel
def _place(
    jobs: Jobs, job: int, pool: int, first: int, nodes: int, per_node: int, cohort: int
) -> None:
    jobs.pool[job] = pool
    jobs.first_node[job] = first
    jobs.nodes[job] = nodes
    jobs.gpus_per_node[job] = per_node
    jobs.cohort[job] = cohort


@kernel_inline
def allocate(fleet: Fleet, jobs: Jobs, job: int, pool: int, gpus: int) -> bool:
    """Take GPUs on ``pool`` for ``job`` of ``gpus`` GPUs if it fits now (Pool.allocate)."""
    return allocate_off(fleet, jobs, job, pool, gpus, fleet.whole[pool], False)


@kernel_inline
def allocate_off(
    fleet: Fleet, jobs: Jobs, job: int, pool: int, gpus: int, avoid: np.ndarray, avoiding: bool
) -> bool:
    """Pool.allocate with ``avoid``: as :func:`allocate`, off the local nodes set in the
    bitmap ``avoid`` when ``avoiding`` (nodes held for a reservation)."""
    if gpus > fleet.pool_free_gpus[pool]:
        return False
    local, pod = choose(fleet, pool, gpus, avoid, avoiding)
    size = fleet.pool_node_gpus[pool]
    node0 = fleet.pool_node0[pool]
    if local >= 0:
        node = node0 + local
        free = fleet.node_free[node]
        _off_partial(fleet, pool, free, local)
        left = free - gpus
        if left:
            _to_partial(fleet, pool, left, local)
        fleet.node_free[node] = left
        fleet.node_next[node] = -1
        fleet.pool_free_gpus[pool] -= gpus
        cohort = fleet.pod_cohort[fleet.node_pod[node]]
        fleet.cohort_busy[cohort] += gpus
        _place(jobs, job, pool, node, 1, gpus, cohort)
        return True
    if pod < 0:
        return False
    need = -(-gpus // size)
    per_node = gpus if need == 1 else size
    left = size - per_node
    # The pod's ``need`` lowest-numbered whole free nodes, linked in order through node_next.
    first, last = fleet.pod_first[pod], fleet.pod_first[pod] + fleet.pod_size[pod]
    head, prev, taken = -1, -1, 0
    whole, node_free, node_next = fleet.whole[pool], fleet.node_free, fleet.node_next
    for w in range(first >> 6, ((last - 1) >> 6) + 1):
        word = whole[w] & _span(w, first, last)
        if avoiding:
            word &= ~avoid[w]
        while word != 0 and taken < need:
            local = w * 64 + _lowest_bit(word)
            word &= word - ONE
            whole[w] &= ~_bit(local)
            node = node0 + local
            node_free[node] = left
            if prev < 0:
                head = node
            else:
                node_next[prev] = node
            prev = node
            taken += 1
        if taken == need:
            break
    node_next[prev] = -1
    fleet.pod_whole[pod] -= need
    if left:
        _to_partial(fleet, pool, left, head - node0)
    fleet.pool_free_gpus[pool] -= per_node * need
    fleet.cohort_busy[fleet.pod_cohort[pod]] += per_node * need
    _place(jobs, job, pool, head, need, per_node, fleet.pod_cohort[pod])
    return True


@kernel_inline
def release(fleet: Fleet, jobs: Jobs, job: int) -> None:
    """Give back a finished job's GPUs, unless its cohort has retired (Pool.release)."""
    fleet.cohort_busy[jobs.cohort[job]] -= jobs.gpus_per_node[job] * jobs.nodes[job]
    if fleet.cohort_retired[jobs.cohort[job]]:
        return
    pool = jobs.pool[job]
    size = fleet.pool_node_gpus[pool]
    node0 = fleet.pool_node0[pool]
    per_node = jobs.gpus_per_node[job]
    node = jobs.first_node[job]
    node_free, node_next, node_pod = fleet.node_free, fleet.node_next, fleet.node_pod
    whole, pod_whole = fleet.whole[pool], fleet.pod_whole
    while node >= 0:
        fleet.pool_free_gpus[pool] += per_node
        before = node_free[node]
        after = before + per_node
        local = node - node0
        if before > 0:
            _off_partial(fleet, pool, before, local)
        node_free[node] = after
        if after == size:
            whole[local >> 6] |= _bit(local)
            pod_whole[node_pod[node]] += 1
        else:
            _to_partial(fleet, pool, after, local)
        node = node_next[node]


@kernel
def retire(fleet: Fleet, pool: int, cohort: int) -> None:
    """Take a cohort's free GPUs out of service; its busy ones never come back (Pool.retire)."""
    size = fleet.pool_node_gpus[pool]
    node0 = fleet.pool_node0[pool]
    first = fleet.pool_pod0[pool]
    for pod in range(first, first + fleet.pool_pods[pool]):
        if fleet.pod_cohort[pod] != cohort:
            continue
        for local in range(fleet.pod_first[pod], fleet.pod_first[pod] + fleet.pod_size[pod]):
            node = node0 + local
            free = fleet.node_free[node]
            if free == size:
                fleet.whole[pool, local >> 6] &= ~_bit(local)
                fleet.pod_whole[pod] -= 1
            elif free:
                _off_partial(fleet, pool, free, local)
            fleet.pool_free_gpus[pool] -= free
            fleet.node_free[node] = 0
    fleet.cohort_retired[cohort] = 1
