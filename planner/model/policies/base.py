"""What every scheduling policy shares: the engine interface, spot jobs and preemption.

A policy decides which queued job to try next; the engine (a :class:`Cluster`) places and
starts it. Spot jobs never wait in a policy's own queue: they sit in a queue of their own, take
whatever GPUs are idle once the policy has dispatched, and are the first to be preempted when
a job of any other tier is blocked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from planner.model.fleet import Allocation, Pool

Admit = Callable[[int, Allocation, float], bool]
"""Asked before a placed job starts, with the job, its placement and its duration in hours;
returning False undoes the placement."""


class Cluster(Protocol):
    """What a policy sees of the engine."""

    @property
    def job_gpus(self) -> Sequence[int]: ...

    @property
    def job_tenant(self) -> Sequence[int]: ...

    @property
    def job_submit_h(self) -> Sequence[float]: ...

    @property
    def running(self) -> Mapping[int, Allocation]: ...

    @property
    def now(self) -> float: ...

    def pools(self, job: int) -> Sequence[Pool]:
        """The pools ``job`` may run on, in the order it tries them."""

    def all_pools(self) -> Sequence[Pool]:
        """Every pool in service."""

    def duration_h(self, job: int, pool: Pool) -> float:
        """Hours ``job`` would run on ``pool`` (its remaining work, without restart overhead)."""

    def try_start(
        self,
        job: int,
        admit: Admit | None = None,
        pools: Sequence[Pool] | None = None,
        avoid: tuple[Pool, frozenset[int]] | None = None,
    ) -> bool:
        """Place ``job`` (on ``pools``, default its own; off the nodes ``avoid`` names in its
        pool) and start it if it fits and is admitted."""

    def started_in_quota(self, job: int) -> None:
        """The run ``job`` just started counts against its tenant's reservation."""

    def preempt(self, job: int) -> None:
        """Stop a running job, keeping its work up to its last checkpoint; the caller
        requeues it."""


class Policy:
    """Base of every policy: the spot queue, preemption and the hooks the engine calls.

    Subclasses keep their own queue of non-spot jobs and implement ``_submit``, ``_dispatch``,
    ``_requeue`` and ``_waiting``. ``preempts`` is True when the policy may ever stop a job;
    then the policy learns each run's start through :meth:`_admitted`. When ``follows_runs``
    is True the engine reports each run's end through :meth:`ended`.
    """

    def __init__(self, cluster: Cluster, spot_tenants: Sequence[bool]) -> None:
        self.cluster = cluster
        self._spot_tenant = list(spot_tenants)
        self._spot: deque[int] = deque()
        # Whether :meth:`_preemptible` can ever say yes: without spot tenants it cannot.
        self._victims_exist = any(self._spot_tenant)
        self.preempts = self._victims_exist
        # Whether the engine must report every run's end through :meth:`ended`.
        self.follows_runs = self.preempts
        self.started_h: dict[int, float] = {}
        self._try_start = cluster.try_start

    def bind_fast_paths(self) -> None:
        """Once configured, skip layers the event loop would pay for on every job: with no
        spot tenants the spot queue is always empty, and without preemption a start needs no
        bookkeeping."""
        if not any(self._spot_tenant):
            self.submit = self._submit  # type: ignore[method-assign]
            self.dispatch = self._dispatch  # type: ignore[method-assign]
        if not self.preempts and type(self)._start is Policy._start:
            self._start = self.cluster.try_start  # type: ignore[method-assign,assignment]

    # -- engine hooks ------------------------------------------------------------------------

    def submit(self, job: int) -> None:
        """Take an arriving job: start it now if the policy allows, else queue it."""
        if self._spot_tenant[self.cluster.job_tenant[job]]:
            if self._spot or not self._start(job):
                self._spot.append(job)
        else:
            self._submit(job)

    def dispatch(self) -> None:
        """Start whatever the policy allows now (called whenever GPUs are freed or added)."""
        self._dispatch()
        if self._spot:
            self._dispatch_spot()

    def requeue(self, job: int) -> None:
        """Put back an interrupted job, ahead of every job of its kind not started yet."""
        if self._spot_tenant[self.cluster.job_tenant[job]]:
            self._spot.appendleft(job)
        else:
            self._requeue(job)

    def ended(self, job: int) -> None:
        """A run stopped: the job ended, or was interrupted or preempted."""
        self.started_h.pop(job, None)

    def fleet_changed(self) -> None:
        """GPUs came into or left service, failed or were repaired, or access changed."""

    def start_on(self, job: int, pools: Sequence[Pool]) -> bool:
        """Start ``job`` on one of ``pools`` now, outside the queue (a job running at time
        zero)."""
        return self._start(job, pools=pools)

    def waiting(self) -> Iterator[int]:
        """Every queued job, in no particular order."""
        yield from self._waiting()
        yield from self._spot

    # -- for subclasses -------------------------------------------------------------------------

    def _submit(self, job: int) -> None:
        raise NotImplementedError

    def _dispatch(self) -> None:
        raise NotImplementedError

    def _requeue(self, job: int) -> None:
        raise NotImplementedError

    def _waiting(self) -> Iterator[int]:
        raise NotImplementedError

    def _start(self, job: int, pools: Sequence[Pool] | None = None) -> bool:
        """Try to start ``job`` now, noting when it started if the policy may preempt it."""
        if self.preempts:
            return self._try_start(job, self._admitted, pools)
        return self._try_start(job, None, pools)

    def _admitted(self, job: int, _where: Allocation, _duration_h: float) -> bool:
        self.started_h[job] = self.cluster.now
        return True

    def _dispatch_spot(self) -> None:
        """Spot jobs take idle GPUs in arrival order; one that does not fit blocks no other."""
        left = deque(job for job in self._spot if not self._start(job))
        self._spot = left

    def _preemptible(self, job: int, victim: int) -> bool:
        """May ``job`` preempt ``victim``? Spot work yields to every other tier."""
        tenant = self.cluster.job_tenant
        return self._spot_tenant[tenant[victim]] and not self._spot_tenant[tenant[job]]

    def _victim_order(self, victim: int) -> tuple[float, ...]:
        """Spot first, then the latest started (it has the least progress since a restart),
        then the latest submitted."""
        spot = self._spot_tenant[self.cluster.job_tenant[victim]]
        return (0.0 if spot else 1.0, -self.started_h[victim], -victim)

    def _make_room(
        self,
        job: int,
        preemptible: Callable[[int], bool] | None = None,
        pools: Sequence[Pool] | None = None,
    ) -> bool:
        """Preempt the fewest victims that let ``job`` start now, and start it.

        Victims are tried in :meth:`_victim_order` within each pool; the pool needing the
        fewest wins. Nothing is preempted unless it makes room. Returns whether ``job`` started.
        """
        if not self.preempts or (preemptible is None and not self._victims_exist):
            return False
        cluster = self.cluster
        allowed = preemptible or (lambda victim: self._preemptible(job, victim))
        best: tuple[int, list[int], Pool] | None = None
        for pool in pools if pools is not None else cluster.pools(job):
            victims = [v for v, where in cluster.running.items() if where.pool is pool]
            victims = sorted((v for v in victims if allowed(v)), key=self._victim_order)
            if not victims:
                continue
            found = pool.fit_after(cluster.job_gpus[job], [cluster.running[v] for v in victims])
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], victims[: found[0]], pool)
        if best is None or best[0] == 0:
            return False
        _, victims, pool = best
        for victim in victims:
            cluster.preempt(victim)
        started = self._start(job, pools=[pool])
        # Requeued after the start, so a victim that is also first in line cannot jump it.
        for victim in reversed(victims):
            self.requeue(victim)
        return started


def level_queues(levels: Mapping[int, deque[int]]) -> Iterator[int]:
    """Every job in a set of per-level queues."""
    for queue in levels.values():
        yield from queue
