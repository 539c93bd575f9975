"""Node and pod placement on the state arrays: the rules of planner.model.fleet, compiled.

Each function mirrors the :class:`~planner.model.fleet.Pool` method of the same name and keeps
its tie rule: the lowest-numbered node among equally good ones, the lowest-numbered pod among
equally good pods. Free nodes are bitmaps over a pool's nodes, one per free-GPU count and one of
whole free nodes, so "the lowest" is the first set bit.
"""

from __future__ import annotations

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from planner.model.fast.jit import kernel
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
def _lowest(bits: np.ndarray, words: int) -> int:
    """The lowest set bit of a bitmap of ``words`` words, or -1."""
    for w in range(words):
        word = bits[w]
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
    node0 = fleet.pool_node0[pool]
    node_free, node_pod, whole = fleet.node_free, fleet.node_pod, fleet.whole
    for local in range(first_local, first_local + nodes):
        node_free[node0 + local] = size
        node_pod[node0 + local] = pod
        whole[pool, local >> 6] |= _bit(local)
    fleet.pool_nodes[pool] = max(fleet.pool_nodes[pool], first_local + nodes)
    fleet.pool_free_gpus[pool] += nodes * size


@kernel
def _span(first: int, last: int, w: int) -> np.uint64:
    """The bits of word ``w`` that cover local nodes ``first`` to ``last - 1``."""
    lo = max(first, w * 64) - w * 64
    hi = min(last, w * 64 + 64) - w * 64
    return ALL if hi - lo == 64 else ((ONE << np.uint64(hi - lo)) - ONE) << np.uint64(lo)


@kernel
def whole_count(fleet: Fleet, pool: int, pod: int, avoid: np.ndarray, avoiding: bool) -> int:
    """The pod's whole free nodes, off the local nodes set in ``avoid`` (Pod.whole_count)."""
    count = fleet.pod_whole[pod]
    if not avoiding:
        return int(count)
    first, last = fleet.pod_first[pod], fleet.pod_first[pod] + fleet.pod_size[pod]
    for w in range(first >> 6, ((last - 1) >> 6) + 1):
        word = fleet.whole[pool, w] & avoid[w] & _span(first, last, w)
        while word != 0:
            word &= word - ONE
            count -= 1
    return int(count)


@kernel
def _best_pod(fleet: Fleet, pool: int, need: int, avoid: np.ndarray, avoiding: bool) -> int:
    """The pod with the fewest whole free nodes (off ``avoid``) that still holds ``need``; ties
    to the lowest-numbered pod (Pool._best_pod). -1 if none."""
    best, best_free = -1, 0
    first = fleet.pool_pod0[pool]
    for pod in range(first, first + fleet.pool_pods[pool]):
        free = whole_count(fleet, pool, pod, avoid, avoiding)
        if free >= need and (best < 0 or free < best_free):
            best, best_free = pod, free
            if free == need:
                break
    return best


@kernel
def _place(
    jobs: Jobs, job: int, pool: int, first: int, nodes: int, per_node: int, cohort: int
) -> None:
    jobs.pool[job] = pool
    jobs.first_node[job] = first
    jobs.nodes[job] = nodes
    jobs.gpus_per_node[job] = per_node
    jobs.cohort[job] = cohort


@kernel
def allocate(fleet: Fleet, jobs: Jobs, job: int, pool: int, gpus: int) -> bool:
    """Take GPUs on ``pool`` for ``job`` of ``gpus`` GPUs if it fits now (Pool.allocate)."""
    return allocate_off(fleet, jobs, job, pool, gpus, fleet.whole[pool], False)


@kernel
def _lowest_off(bits: np.ndarray, words: int, avoid: np.ndarray) -> int:
    """The lowest set bit of ``bits`` that is not set in ``avoid``, or -1."""
    for w in range(words):
        word = bits[w] & ~avoid[w]
        if word != 0:
            return w * 64 + _lowest_bit(word)
    return -1


@kernel
def allocate_off(
    fleet: Fleet, jobs: Jobs, job: int, pool: int, gpus: int, avoid: np.ndarray, avoiding: bool
) -> bool:
    """Pool.allocate with ``avoid``: as :func:`allocate`, off the local nodes set in the
    bitmap ``avoid`` when ``avoiding`` (nodes held for a reservation)."""
    if gpus > fleet.pool_free_gpus[pool]:
        return False
    size = fleet.pool_node_gpus[pool]
    node0 = fleet.pool_node0[pool]
    words = (fleet.pool_nodes[pool] + 63) >> 6
    if gpus < size:
        for free in range(gpus, size):
            if fleet.partial_count[pool, free] == 0:
                continue
            if avoiding:
                local = _lowest_off(fleet.partial[pool, free], words, avoid)
                if local < 0:
                    continue
            else:
                local = _lowest(fleet.partial[pool, free], words)
            _off_partial(fleet, pool, free, local)
            left = free - gpus
            if left:
                _to_partial(fleet, pool, left, local)
            node = node0 + local
            fleet.node_free[node] = left
            fleet.node_next[node] = -1
            fleet.pool_free_gpus[pool] -= gpus
            _place(jobs, job, pool, node, 1, gpus, fleet.pod_cohort[fleet.node_pod[node]])
            return True
    need = -(-gpus // size)
    pod = _best_pod(fleet, pool, need, avoid, avoiding)
    if pod < 0:
        return False
    per_node = gpus if need == 1 else size
    left = size - per_node
    # The pod's ``need`` lowest-numbered whole free nodes, linked in order through node_next.
    first, last = fleet.pod_first[pod], fleet.pod_first[pod] + fleet.pod_size[pod]
    head, prev, taken = -1, -1, 0
    whole, node_free, node_next = fleet.whole[pool], fleet.node_free, fleet.node_next
    for w in range(first >> 6, ((last - 1) >> 6) + 1):
        word = whole[w] & _span(first, last, w)
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
    _place(jobs, job, pool, head, need, per_node, fleet.pod_cohort[pod])
    return True


@kernel
def release(fleet: Fleet, jobs: Jobs, job: int) -> None:
    """Give back a finished job's GPUs, unless its cohort has retired (Pool.release)."""
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
