"""EASY backfilling: the head job holds a reservation that later jobs may not delay."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from planner.model.fleet import Allocation, Pool
from planner.model.policies.base import Cluster, Policy

# Estimated ends within this of the reservation count as before it (float noise in sums).
_EPS_H = 1e-9


@dataclass(frozen=True, slots=True)
class Reservation:
    """Where and when the head job will start at the latest, by the running jobs' estimates."""

    job: int
    start_h: float
    pool: Pool
    nodes: frozenset[int]


class Backfill(Policy):
    """FIFO with EASY backfilling.

    When the head cannot start, it reserves the earliest time and nodes it could start on if
    every running job ended at its estimated end. A later job may then start at once if, by its
    own estimate, it ends by that time, or if it uses none of the reserved nodes. With exact or
    over-estimated runtimes the head therefore starts no later than its reservation (failures
    and retirements aside: they are not foreseen).
    """

    def __init__(
        self,
        cluster: Cluster,
        spot_tenants: Sequence[bool],
        estimate_factor: Sequence[float],
        max_scan: int | None = None,
    ) -> None:
        super().__init__(cluster, spot_tenants)
        # Jobs looked at per pass, the head included (None: the whole queue).
        self._max_scan = max_scan
        self._queue: deque[int] = deque()
        self._factor = estimate_factor
        self._estimated_end_h: dict[int, float] = {}
        self.reservation: Reservation | None = None
        # Set when the running jobs may end earlier than the reservation assumed, or the fleet
        # changed; until then the reservation stands (ends at their estimates change nothing).
        self._stale = False
        # GPUs of the queued jobs, as a multiset: when even the smallest cannot fit, no scan.
        self._sizes: Counter[int] = Counter()
        # Each job's first reservation as head: it must start by then (the EASY promise).
        self.promised_h: dict[int, float] = {}
        self.follows_runs = True  # estimated ends are dropped as runs end

    # Every start is recorded, with its estimated end, for the next reservation.
    def _start(self, job: int, pools: Sequence[Pool] | None = None) -> bool:
        return self._try_start(job, self._admitted, pools)

    def _admitted(self, job: int, where: Allocation, duration_h: float) -> bool:
        now = self.cluster.now
        self.started_h[job] = now
        self._estimated_end_h[job] = now + duration_h * self._factor[job]
        return True

    def _admit_backfill(self, job: int, where: Allocation, duration_h: float) -> bool:
        held = self.reservation
        if (
            held is None
            or where.pool is not held.pool
            or held.nodes.isdisjoint(where.nodes)
            or self.cluster.now + duration_h * self._factor[job] <= held.start_h + _EPS_H
        ):
            return self._admitted(job, where, duration_h)
        return False

    def ended(self, job: int) -> None:
        super().ended(job)
        end_h = self._estimated_end_h.pop(job, None)
        if end_h is not None and self.cluster.now < end_h - _EPS_H:
            self._stale = True  # it freed its GPUs before the reservation counted on them

    def fleet_changed(self) -> None:
        self._stale = True

    def _submit(self, job: int) -> None:
        if not self._queue:
            if self._start(job) or self._make_room(job):
                return
        elif self._try_start(job, self._admit_backfill):
            return
        self._queue.append(job)
        self._sizes[self.cluster.job_gpus[job]] += 1
        if len(self._queue) == 1:
            self.reservation = self._reserve(job)

    def _dispatch(self) -> None:
        queue = self._queue
        while queue and (self._start(queue[0]) or self._make_room(queue[0])):
            self._forget(queue.popleft())
        if not queue:
            self.reservation = None
            return
        held = self.reservation
        if held is None or held.job != queue[0] or self._stale:
            self.reservation = self._reserve(queue[0])
            self._stale = False
        self._backfill()

    def _forget(self, job: int) -> None:
        """A queued job has started: drop its size from the multiset."""
        size = self.cluster.job_gpus[job]
        self._sizes[size] -= 1
        if not self._sizes[size]:
            del self._sizes[size]

    def _reserve(self, head: int) -> Reservation | None:
        """The head's earliest start over its pools, replaying estimated ends in order."""
        held = self._earliest(head)
        if held is not None:
            self.promised_h.setdefault(head, held.start_h)
        return held

    def _earliest(self, head: int) -> Reservation | None:
        cluster, ends = self.cluster, self._estimated_end_h
        now = cluster.now
        best: Reservation | None = None
        for pool in cluster.pools(head):
            mine = sorted(
                (ends.get(job, now), job)
                for job, where in cluster.running.items()
                if where.pool is pool
            )
            found = pool.fit_after(cluster.job_gpus[head], [cluster.running[j] for _, j in mine])
            if found is None:
                continue
            k, nodes = found
            start_h = mine[k - 1][0] if k else now
            if best is None or start_h < best.start_h:
                best = Reservation(head, start_h, pool, frozenset(nodes))
        return best

    def _backfill(self) -> None:
        """Start every later job that does not delay the head's reservation, in queue order."""
        gpus, try_start, admit = self.cluster.job_gpus, self._try_start, self._admit_backfill
        free = self._most_free_gpus()
        if free < min(self._sizes):
            return  # not even the smallest queued job fits anywhere
        held, cluster = self.reservation, self.cluster
        outside = self._free_outside(held)
        factor, deadline_h = self._factor, (held.start_h - cluster.now if held else 0.0)
        started: set[int] = set()
        for job in islice(self._queue, 1, self._max_scan):
            if free == 0:
                break
            size = gpus[job]
            if size > free:
                continue
            if (
                held is not None
                and size > outside
                and self._only_pool(job, held.pool)
                and cluster.duration_h(job, held.pool) * factor[job] > deadline_h + _EPS_H
            ):
                continue  # it would run past the reservation and there is no room beside it
            if try_start(job, admit):
                started.add(job)
                self._forget(job)
                free = self._most_free_gpus()
                outside = self._free_outside(held)
        if started:
            self._queue = deque(job for job in self._queue if job not in started)

    def _free_outside(self, held: Reservation | None) -> int:
        """Free GPUs in the reserved pool on nodes the head does not hold."""
        if held is None:
            return 0
        node_free = held.pool.node_free
        return held.pool.free_gpus - sum(node_free[n] for n in held.nodes)

    def _only_pool(self, job: int, pool: Pool) -> bool:
        pools = self.cluster.pools(job)
        return len(pools) == 1 and pools[0] is pool

    def _most_free_gpus(self) -> int:
        """Free GPUs in the emptiest pool: no job larger than this can start anywhere."""
        return max((p.free_gpus for p in self.cluster.all_pools()), default=0)

    def _requeue(self, job: int) -> None:
        self._queue.appendleft(job)
        self._sizes[self.cluster.job_gpus[job]] += 1
        self.reservation = None

    def _waiting(self) -> Iterator[int]:
        return iter(self._queue)
