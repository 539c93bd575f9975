"""Quotas: GPUs held for tenants as their deals promise, lent out while unused."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from planner.model.fleet import Allocation, Pool, held_gpus
from planner.model.policies.base import Cluster, Policy, level_queues


@dataclass(frozen=True, slots=True)
class Held:
    """A tenant's reservation: ``gpus`` GPUs of one pool over [from_h, to_h)."""

    model: str
    region: str
    gpus: int
    from_h: float
    to_h: float


class Quota(Policy):
    """Each tenant with a reservation has a queue of its own; everyone else shares one FIFO.

    A reserved tenant's head job runs *in quota* on its reserved pool if its GPUs fit inside
    what the tenant has not yet used of its reservation; such jobs go first. Its other jobs
    borrow like everyone else's. Without ``lend``, no job outside a quota may leave a pool
    with fewer free GPUs than the unused reservations on it; with ``lend`` they may, and with
    ``reclaim`` an in-quota job blocked by borrowers preempts them (spot first, then latest
    started). Reservations are counted in GPUs held (a job spanning nodes holds them whole),
    so a job may still wait for fragments to join.
    """

    def __init__(
        self,
        cluster: Cluster,
        spot_tenants: Sequence[bool],
        held: Sequence[Held | None],
        lend: bool,
        reclaim: bool,
    ) -> None:
        super().__init__(cluster, spot_tenants)
        self._held = list(held)
        self._lend = lend
        self.preempts = self.preempts or (lend and reclaim)
        self.follows_runs = True  # in-quota use falls as runs end
        self._reclaim = lend and reclaim
        self._own: dict[int, deque[int]] = {t: deque() for t, h in enumerate(held) if h}
        self._shared: deque[int] = deque()
        self._used = [0] * len(held)
        # Jobs running in quota, with the GPUs each counts against its tenant's reservation.
        self.in_quota: dict[int, int] = {}

    def _active(self, tenant: int) -> Held | None:
        held = self._held[tenant]
        if held is None or not held.from_h <= self.cluster.now < held.to_h:
            return None
        return held

    def _reserved_pool(self, job: int, held: Held) -> Pool | None:
        for pool in self.cluster.pools(job):
            if (pool.model, pool.region) == (held.model, held.region):
                return pool
        return None

    def _unused_on(self, pool: Pool) -> int:
        """GPUs reserved on ``pool`` right now and not in use by their holders."""
        unused = 0
        for tenant in self._own:
            held = self._active(tenant)
            if held is not None and (held.model, held.region) == (pool.model, pool.region):
                unused += max(0, held.gpus - self._used[tenant])
        return unused

    def _admit_outside(self, job: int, where: Allocation, duration_h: float) -> bool:
        if not self._lend and where.pool.free_gpus < self._unused_on(where.pool):
            return False
        return self._admitted(job, where, duration_h)

    def _start_outside(self, job: int) -> bool:
        return self._try_start(job, self._admit_outside)

    def _start_own(self, job: int) -> bool:
        """Start a reserved tenant's job: in quota if it fits its reservation, else outside."""
        tenant = self.cluster.job_tenant[job]
        held = self._active(tenant)
        pool = None if held is None else self._reserved_pool(job, held)
        gpus = self.cluster.job_gpus[job]
        if pool is not None:
            gpus = held_gpus(gpus, pool.node_gpus)
        if held is None or self._used[tenant] + gpus > held.gpus:
            return self._start_outside(job)
        if pool is None:
            return False
        started = self._start(job, pools=[pool]) or (
            self._reclaim and self._make_room(job, self._borrower(job, pool), [pool])
        )
        if started:
            self.in_quota[job] = gpus
            self._used[tenant] += gpus
            self.cluster.started_in_quota(job)
        return started

    def start_on(self, job: int, pools: Sequence[Pool]) -> bool:
        """A job running at time zero counts against its tenant's reservation when it runs on
        the reserved pool and fits what is left of it."""
        if not super().start_on(job, pools):
            return False
        tenant = self.cluster.job_tenant[job]
        held = self._active(tenant)
        where = self.cluster.running[job]
        gpus = where.held_gpus
        if (
            held is not None
            and (where.pool.model, where.pool.region) == (held.model, held.region)
            and self._used[tenant] + gpus <= held.gpus
        ):
            self.in_quota[job] = gpus
            self._used[tenant] += gpus
            self.cluster.started_in_quota(job)
        return True

    def _borrower(self, job: int, pool: Pool) -> _Borrower:
        return _Borrower(self, self.cluster.job_tenant[job], pool)

    def ended(self, job: int) -> None:
        super().ended(job)
        gpus = self.in_quota.pop(job, 0)
        if gpus:
            self._used[self.cluster.job_tenant[job]] -= gpus

    def _submit(self, job: int) -> None:
        own = self._own.get(self.cluster.job_tenant[job])
        if own is not None:
            if own or not self._start_own(job):
                own.append(job)
        elif self._shared or not (self._start_outside(job) or self._make_room(job)):
            self._shared.append(job)

    def _dispatch(self) -> None:
        for own in self._own.values():
            while own and self._start_own(own[0]):
                own.popleft()
        shared = self._shared
        while shared and (self._start_outside(shared[0]) or self._make_room(shared[0])):
            shared.popleft()

    def _requeue(self, job: int) -> None:
        own = self._own.get(self.cluster.job_tenant[job])
        (own if own is not None else self._shared).appendleft(job)

    def _waiting(self) -> Iterator[int]:
        yield from level_queues(self._own)
        yield from self._shared


@dataclass(frozen=True, slots=True)
class _Borrower:
    """Whether a running job borrows ``pool`` from ``owner``: it runs there outside any quota
    and is not the owner's own."""

    policy: Quota
    owner: int
    pool: Pool

    def __call__(self, victim: int) -> bool:
        cluster = self.policy.cluster
        return (
            victim not in self.policy.in_quota
            and cluster.job_tenant[victim] != self.owner
            and cluster.running[victim].pool is self.pool
        )
