"""EASY backfilling: the head job holds a reservation that later jobs may not delay."""

from __future__ import annotations

import heapq
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
    every running job ended at its estimated end. A later job may then start at once anywhere
    if, by its own estimate, it ends by that time, and otherwise only off the reserved nodes.
    With exact or over-estimated runtimes the head therefore starts no later than its
    reservation (failures and retirements aside: they are not foreseen).
    """

    # Skip, and set aside, jobs that provably cannot start (see _park). This changes what a
    # pass costs, never what it starts; it is switched off only to check exactly that.
    shortcuts = True

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
        # Queue order: arrivals count up, jobs put back at the head count down.
        self._order: dict[int, int] = {}
        self._last, self._first = 0, 0
        # Jobs set aside while the reservation they could not get past stands and no room
        # beside it opens for them, so a pass does not look at them again (see _park).
        self._parked: list[int] = []
        self._parked_for: Reservation | None = None
        self._parked_smallest = 0
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

    def _late(self, job: int, held: Reservation | None) -> bool:
        """Would ``job``, started now on the reserved pool, run past the reservation by its
        estimate? Then it may not use the reserved nodes."""
        if held is None:
            return False
        cluster = self.cluster
        run_h = cluster.duration_h(job, held.pool) * self._factor[job]
        return run_h > held.start_h - cluster.now + _EPS_H

    def _try_backfill(self, job: int, late: bool) -> bool:
        held = self.reservation
        if late and held is not None:
            return self._try_start(job, self._admitted, None, (held.pool, held.nodes))
        return self._try_start(job, self._admitted)

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
        elif self._try_backfill(job, self._late(job, self.reservation)):
            return
        self._queue.append(job)
        self._last += 1
        self._order[job] = self._last
        self._sizes[self.cluster.job_gpus[job]] += 1
        if len(self._queue) == 1:
            self.reservation = self._reserve(job)

    def _dispatch(self) -> None:
        queue = self._queue
        while queue and (self._start(queue[0]) or self._make_room(queue[0])):
            job = queue.popleft()
            self._forget(job)
            del self._order[job]
            if self._parked:  # a parked job may now be first in line
                self._unpark()
                queue = self._queue
        if not queue:
            self.reservation = None
            return
        held = self.reservation
        if held is None or held.job != queue[0] or self._stale:
            self.reservation = self._reserve(queue[0])
            self._stale = False
        self._backfill()

    def _forget(self, job: int) -> None:
        """A job leaves the queue (it started, or is parked): drop its size."""
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
        """Jobs the head may preempt (spot work) count as gone now: left in at their estimated
        ends they would push the reservation later each time spot work takes idle GPUs, and
        jobs backfilled against the later time would then delay the head past its promise."""
        cluster, ends = self.cluster, self._estimated_end_h
        now = cluster.now
        best: Reservation | None = None
        for pool in cluster.pools(head):
            mine = sorted(
                (now if self._preemptible(head, job) else ends.get(job, now), job)
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
        gpus = self.cluster.job_gpus
        held = self.reservation
        if self._parked and (
            self._parked_for is not held or self._free_outside(held) >= self._parked_smallest
        ):
            self._unpark()
        free = self._most_free_gpus()
        if len(self._queue) < 2 or free < min(self._sizes):
            return  # not even the smallest queued job fits anywhere
        outside = -1  # free GPUs beside the reserved nodes, counted when first needed
        started: set[int] = set()
        parked: set[int] = set()
        seen = 1  # queue positions looked at, the head's included
        shortcuts = self.shortcuts and held is not None
        for job in islice(self._queue, 1, self._max_scan):
            if free == 0:
                break
            seen += 1
            size = gpus[job]
            if size > free:
                continue
            late = self._late(job, held)
            if late and shortcuts and self._only_pool(job, held):
                if outside < 0:
                    outside = self._free_outside(held)
                if size > outside:
                    parked.add(job)  # no room beside the reserved nodes, too long for them
                    continue
            if self._try_backfill(job, late):
                started.add(job)
                del self._order[job]
                free = self._most_free_gpus()
                outside = -1
        if parked and held is not None:  # only jobs that cannot pass a reservation are parked
            self._park(parked, held)
        if started or parked:
            gone = started | parked
            for job in started:
                self._forget(job)
            # Only the part of the queue looked at changes: rebuild that, not the whole queue.
            queue = self._queue
            looked_at = [queue.popleft() for _ in range(seen)]
            queue.extendleft(reversed([job for job in looked_at if job not in gone]))

    def _park(self, jobs: set[int], held: Reservation) -> None:
        """Set aside jobs that cannot start while ``held`` stands: each ends (by its estimate)
        after the reservation begins, may use only the reserved pool, and is larger than the
        free GPUs beside the reserved nodes. Waiting only makes the first truer, the reserved
        nodes do not change, so only the room beside them growing to fit one can free them."""
        gpus = self.cluster.job_gpus
        smallest = min(gpus[j] for j in jobs)
        for job in jobs:
            self._forget(job)
        if not self._parked:
            self._parked_smallest = smallest
        self._parked.extend(jobs)
        self._parked_for = held
        self._parked_smallest = min(self._parked_smallest, smallest)

    def _unpark(self) -> None:
        """Put the parked jobs back in their places in the queue."""
        gpus = self.cluster.job_gpus
        for job in self._parked:
            self._sizes[gpus[job]] += 1
        order = self._order.__getitem__
        back = sorted(self._parked, key=order)
        # Parked jobs come from the front of the queue: merge them into the part of it that
        # precedes the last of them, and leave the rest in place.
        queue, last = self._queue, order(back[-1])
        front = []
        while queue and order(queue[0]) < last:
            front.append(queue.popleft())
        queue.extendleft(reversed(list(heapq.merge(front, back, key=order))))
        self._parked, self._parked_for = [], None

    def _free_outside(self, held: Reservation | None) -> int:
        """Free GPUs in the reserved pool on nodes the head does not hold."""
        if held is None:
            return 0
        node_free = held.pool.node_free
        return held.pool.free_gpus - sum(node_free[n] for n in held.nodes)

    def _only_pool(self, job: int, held: Reservation | None) -> bool:
        pools = self.cluster.pools(job)
        return held is not None and len(pools) == 1 and pools[0] is held.pool

    def _most_free_gpus(self) -> int:
        """Free GPUs in the emptiest pool: no job larger than this can start anywhere."""
        return max((p.free_gpus for p in self.cluster.all_pools()), default=0)

    def _requeue(self, job: int) -> None:
        if self._parked:
            self._unpark()
        self._queue.appendleft(job)
        self._first -= 1
        self._order[job] = self._first
        self._sizes[self.cluster.job_gpus[job]] += 1
        self.reservation = None

    def _waiting(self) -> Iterator[int]:
        yield from self._queue
        yield from self._parked
