"""Strict priority by level, first in first out within a level, with optional aging and
preemption."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence

from planner.model.policies.base import Cluster, Policy, level_queues


class Priority(Policy):
    """The head of the highest waiting level goes first; while it cannot start, nothing starts.

    With ``aging_h``, a job's level drops by one (rises in priority) per ``aging_h`` waited;
    within a level the oldest job has aged most, so only level heads compete. With
    ``preempt``, a blocked head may stop running jobs of lower levels.
    """

    def __init__(
        self,
        cluster: Cluster,
        spot_tenants: Sequence[bool],
        tenant_level: Sequence[int],
        aging_h: float | None = None,
        preempt: bool = False,
    ) -> None:
        super().__init__(cluster, spot_tenants)
        self._tenant_level = tenant_level
        self._tenant_of = cluster.job_tenant
        self._aging_h = aging_h
        self._preempt_lower = preempt
        self._victims_exist = self._victims_exist or preempt
        self.preempts = self.follows_runs = self.preempts or preempt
        self._queues: dict[int, deque[int]] = {}

    def _level(self, job: int) -> int:
        return self._tenant_level[self._tenant_of[job]]

    def _effective(self, job: int) -> float:
        """The job's level now, after aging (lower runs first)."""
        level = self._level(job)
        if self._aging_h is None:
            return level
        waited_h = self.cluster.now - self.cluster.job_submit_h[job]
        return level - math.floor(max(0.0, waited_h) / self._aging_h)

    def _submit(self, job: int) -> None:
        level = self._level(job)
        if self._aging_h is None:
            # An arrival frees no GPUs: it may start only if nothing at its level or above waits.
            waiting_ahead = any(queue for lvl, queue in self._queues.items() if lvl <= level)
        else:
            waiting_ahead = any(self._queues.values())
        if waiting_ahead or not (self._start(job) or self._make_room(job)):
            self._queues.setdefault(level, deque()).append(job)

    def _next_queue(self) -> deque[int] | None:
        """The queue whose head goes next: best effective level, then earliest submitted."""
        heads = [q for q in self._queues.values() if q]
        if not heads:
            return None
        if self._aging_h is None:
            return min(heads, key=lambda q: self._level(q[0]))
        submit_h = self.cluster.job_submit_h
        return min(heads, key=lambda q: (self._effective(q[0]), submit_h[q[0]]))

    def _dispatch(self) -> None:
        while (queue := self._next_queue()) is not None:
            if not (self._start(queue[0]) or self._make_room(queue[0])):
                return
            queue.popleft()

    def _requeue(self, job: int) -> None:
        self._queues.setdefault(self._level(job), deque()).appendleft(job)

    def _waiting(self) -> Iterator[int]:
        return level_queues(self._queues)

    def _preemptible(self, job: int, victim: int) -> bool:
        if super()._preemptible(job, victim):
            return True
        # By level before aging: aging lets a job start sooner, not stop jobs of its own level.
        return self._preempt_lower and self._level(victim) > self._level(job)

    def _victim_order(self, victim: int) -> tuple[float, ...]:
        spot_first, *latest_first = super()._victim_order(victim)
        return (spot_first, -self._level(victim), *latest_first)
