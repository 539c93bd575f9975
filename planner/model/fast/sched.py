"""The scheduling policy's own state, for the policies beyond FIFO: backfill and quota.

FIFO's queue lives in :class:`~planner.model.fast.state.Flow`. The EASY backfill queue with its
reservation and parked jobs, and the quota policy's queues and reservations, live here, in a
:class:`Sched` group that every run carries (with arrays of length one for the policies that
do not use them). Scalars live in small arrays indexed by the named constants below.

The estimate factors and the quota reservations are read from the reference policy the build
phase made (:func:`planner.model.policies.make_policy`), never drawn again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from planner.model.fast.state import F64, I64, U8, U64, Fleet, pool_keys

if TYPE_CHECKING:
    from planner.model.engine import Model

# Sched.kind[0]: the scenario's scheduler.
FIFO, BACKFILL, QUOTA = 0, 1, 2

# Backfill.counters: the queue's head and tail (absolute positions in ``queue``), the parked
# jobs' count, the reservation (held job, -1 for none; its serial number, which changes at
# every new reservation, so a parked set can tell whether the one it waited on still stands;
# its pool; its nodes' count), whether it is stale, the serial of the reservation the parked
# jobs wait on, the smallest parked job, the last and first queue-order numbers given, the
# smallest queued size, the scan depth (-1: the whole queue) and the next serial.
B_HEAD, B_TAIL, B_PARKED, B_RES_JOB, B_RES_ID, B_RES_POOL, B_RES_NODES = range(7)
B_STALE, B_PARKED_FOR, B_PARKED_SMALLEST, B_LAST, B_FIRST, B_SMALLEST, B_MAX_SCAN = range(7, 14)
B_NEXT_ID = 14
B_COUNTERS = 15

# Quota.flags: whether unused reservations are lent, and whether an in-quota job blocked by
# borrowers reclaims them (only with lending).
Q_LEND, Q_RECLAIM = 0, 1


class Backfill(NamedTuple):
    """EASY backfill (planner.model.policies.backfill.Backfill) on arrays."""

    factor: F64  # each job's estimate over its true runtime
    estimated_end_h: F64  # per running job; NaN when it has none
    order: I64  # each queued job's place in queue order
    queue: I64  # queue[head:tail], in queue order; room for n jobs on either side of the start
    parked: I64  # parked[:count], in no particular order
    size_count: I64  # queued (not parked) jobs per size in GPUs
    res_start_h: F64  # [0]: when the reservation begins
    res_nodes: I64  # the reserved local nodes
    res_mask: U64  # the same nodes as a bitmap over the reserved pool's local nodes
    counters: I64
    # Scratch for the reservation's search: the running jobs of one pool as a heap ordered by
    # (estimated end, job), the free GPUs each node gains while ends are replayed, the nodes
    # touched, the nodes that become whole in order, whole nodes gained per pod, and the nodes
    # a pool's fit would take.
    heap_end_h: F64
    heap_job: I64
    extra: I64
    touched: I64
    newly_whole: I64
    pod_gained: I64
    fit_nodes: I64
    gone: U8  # per job: started or parked in this pass


class Quota(NamedTuple):
    """Quotas (planner.model.policies.quota.Quota) on arrays: one queue per tenant with a
    reservation and one shared queue, each a block of ``queue`` between ``head`` and ``tail``
    that starts, when runs may be cut short, in the middle of its room (interrupted jobs go
    back before the head; see _backfill for why the block's jobs on either side suffice)."""

    flags: U8
    held: U8  # per tenant: it has a reservation
    held_pool: I64  # the reserved pool (-1: no pool of that model and region ever)
    held_gpus: I64
    held_from_h: F64
    held_to_h: F64
    used: I64  # GPUs each tenant runs in quota
    in_quota: I64  # per job: GPUs it counts against its tenant's reservation (0: none)
    queue: I64
    head: I64  # [tenant] its own queue's head, [tenants]: the shared queue's
    tail: I64


class Sched(NamedTuple):
    kind: I64
    backfill: Backfill
    quota: Quota


def _backfill(model: Model, fleet: Fleet) -> Backfill:
    from planner.model.policies.backfill import Backfill as Reference

    policy = model.policy
    if isinstance(policy, Reference):
        n, nodes, pods = len(model.jobs), len(fleet.node_free), len(fleet.pod_first)
        words = fleet.whole.shape[1]
        factor, max_scan = policy._factor, policy._max_scan
    else:
        n, nodes, pods, words, factor, max_scan = 1, 1, 1, 1, [1.0], None
    largest = int(model.jobs.gpus.max()) if len(model.jobs) else 0
    counters = np.zeros(B_COUNTERS, np.int64)
    # When runs may be cut short the queue starts in the middle of its array: arrivals join at
    # the tail, interrupted jobs go back before the head. Each job is appended once, and a job
    # put back before the head takes a place there that only a job started outside the queue
    # (never taken from it) did not give back first, so n places on either side suffice.
    front = n if model._tracking else 0
    counters[B_HEAD] = counters[B_TAIL] = front
    counters[B_RES_JOB] = counters[B_RES_ID] = counters[B_PARKED_FOR] = -1
    counters[B_SMALLEST] = largest + 1  # no queued job
    counters[B_MAX_SCAN] = -1 if max_scan is None else max_scan
    return Backfill(
        factor=np.array(factor, np.float64),
        estimated_end_h=np.full(n, math.nan),
        order=np.zeros(n, np.int64),
        queue=np.zeros(front + n + 1, np.int64),
        parked=np.zeros(n, np.int64),
        size_count=np.zeros(largest + 2, np.int64),
        res_start_h=np.zeros(1, np.float64),
        res_nodes=np.zeros(max(nodes, 1), np.int64),
        res_mask=np.zeros(max(words, 1), np.uint64),
        counters=counters,
        heap_end_h=np.zeros(n, np.float64),
        heap_job=np.zeros(n, np.int64),
        extra=np.zeros(max(nodes, 1), np.int64),
        touched=np.zeros(max(nodes, 1), np.int64),
        newly_whole=np.zeros(max(nodes, 1), np.int64),
        pod_gained=np.zeros(max(pods, 1), np.int64),
        fit_nodes=np.zeros(max(nodes, 1), np.int64),
        gone=np.zeros(n, np.uint8),
    )


def _quota(model: Model, n_jobs: int) -> Quota:
    from planner.model.policies.quota import Held
    from planner.model.policies.quota import Quota as Reference

    policy = model.policy
    tenants = len(model.scenario.tenants)
    held: list[Held | None] = [None] * tenants
    lend, reclaim, n = False, False, 0
    if isinstance(policy, Reference):
        held, lend, reclaim, n = policy._held, policy._lend, policy._reclaim, n_jobs
    keys = {key: p for p, key in enumerate(pool_keys(model))}
    flags = np.zeros(2, np.uint8)
    flags[Q_LEND] = lend
    flags[Q_RECLAIM] = reclaim
    # One block per tenant with a reservation (its own jobs) and one for the shared queue.
    per_tenant = np.bincount(model.jobs.tenant, minlength=tenants)
    sizes = [int(per_tenant[t]) if h is not None else 0 for t, h in enumerate(held)] + [n]
    # Room before each block's head for interrupted jobs, when runs may be cut short.
    fronts = sizes if model._tracking else [0] * len(sizes)
    room = [front + size + 1 for front, size in zip(fronts, sizes, strict=True)]
    starts = np.array([sum(room[:i]) for i in range(len(room))])
    middle = (starts + np.array(fronts)).astype(np.int64)
    return Quota(
        flags=flags,
        held=np.array([h is not None for h in held], np.uint8),
        held_pool=np.array([keys.get((h.model, h.region), -1) if h else -1 for h in held]),
        held_gpus=np.array([h.gpus if h else 0 for h in held], np.int64),
        held_from_h=np.array([h.from_h if h else 0.0 for h in held], np.float64),
        held_to_h=np.array([h.to_h if h else 0.0 for h in held], np.float64),
        used=np.zeros(tenants, np.int64),
        in_quota=np.zeros(max(n, 1), np.int64),
        queue=np.zeros(sum(room), np.int64),
        head=middle.copy(),
        tail=middle.copy(),
    )


def build_sched(model: Model, fleet: Fleet) -> Sched:
    """The policy's arrays, from the reference policy the build phase made."""
    from planner.model.policies.backfill import Backfill as BackfillPolicy
    from planner.model.policies.quota import Quota as QuotaPolicy

    kind = np.zeros(1, np.int64)
    if isinstance(model.policy, BackfillPolicy):
        kind[0] = BACKFILL
    elif isinstance(model.policy, QuotaPolicy):
        kind[0] = QUOTA
    n = len(model.jobs)
    return Sched(kind, _backfill(model, fleet), _quota(model, n))


# -- what the business events ask of the policy (Python side) -------------------------------------


def fleet_changed(sched: Sched) -> None:
    """Policy.fleet_changed: a backfill reservation may no longer hold (Backfill.fleet_changed)."""
    if sched.kind[0] == BACKFILL:
        sched.backfill.counters[B_STALE] = 1


def waiting(sched: Sched) -> Iterator[int] | None:
    """Policy.waiting for the policies kept here: every queued job (None under FIFO)."""
    kind = int(sched.kind[0])
    if kind == BACKFILL:
        bf = sched.backfill
        c = bf.counters
        queued: list[int] = bf.queue[c[B_HEAD] : c[B_TAIL]].tolist()
        queued += bf.parked[: c[B_PARKED]].tolist()
        return iter(queued)
    if kind == QUOTA:
        q = sched.quota
        return iter(
            [
                job
                for block in range(len(q.head))
                for job in q.queue[q.head[block] : q.tail[block]].tolist()
            ]
        )
    return None
