"""Scheduling policies: which queued job to try next. Placement is the fleet's business.

A policy sees job ids and a ``try_start(job) -> bool`` callback that places and starts a job if it
fits now. Policies are chosen by the scenario's ``scheduler.kind``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from planner.scenario.schema import FifoScheduler, PriorityScheduler, Scenario


class Policy(Protocol):
    """What the engine needs of a scheduling policy."""

    def submit(self, job: int, try_start: Callable[[int], bool]) -> None:
        """Take an arriving job: start it now if the policy allows, else queue it."""

    def dispatch(self, try_start: Callable[[int], bool]) -> None:
        """Start whatever the policy allows now (called whenever GPUs are freed or added)."""

    def requeue(self, job: int) -> None:
        """Put back an interrupted job, ahead of every job that has not started yet."""


class Fifo:
    """Strict FIFO with head-of-line blocking: while the head job cannot start, nothing starts."""

    def __init__(self) -> None:
        self._queue: deque[int] = deque()

    def submit(self, job: int, try_start: Callable[[int], bool]) -> None:
        # An arrival frees no GPUs, so behind a blocked head it cannot start either.
        if self._queue or not try_start(job):
            self._queue.append(job)

    def dispatch(self, try_start: Callable[[int], bool]) -> None:
        queue = self._queue
        while queue and try_start(queue[0]):
            queue.popleft()

    def requeue(self, job: int) -> None:
        self._queue.appendleft(job)


class Priority:
    """Strict priority: the head of the highest waiting level goes first, FIFO within a level.

    While that head cannot start, nothing starts (no backfilling past it).
    """

    def __init__(self, tenant_level: Sequence[int], tenant_of_job: Sequence[int]) -> None:
        self._tenant_level = tenant_level
        self._tenant_of = tenant_of_job
        self._queues: dict[int, deque[int]] = {}

    def _level(self, job: int) -> int:
        return self._tenant_level[self._tenant_of[job]]

    def submit(self, job: int, try_start: Callable[[int], bool]) -> None:
        level = self._level(job)
        # An arrival frees no GPUs: it may start only if nothing at its level or above waits.
        waiting_ahead = any(queue for lvl, queue in self._queues.items() if lvl <= level)
        if waiting_ahead or not try_start(job):
            self._queues.setdefault(level, deque()).append(job)

    def dispatch(self, try_start: Callable[[int], bool]) -> None:
        for level in sorted(self._queues):
            queue = self._queues[level]
            while queue and try_start(queue[0]):
                queue.popleft()
            if queue:
                return

    def requeue(self, job: int) -> None:
        self._queues.setdefault(self._level(job), deque()).appendleft(job)


def make_policy(sc: Scenario, tenant_of_job: Sequence[int]) -> Policy:
    """The policy a scenario asks for."""
    spec = sc.scheduler
    match spec:
        case FifoScheduler():
            return Fifo()
        case PriorityScheduler():
            levels = [
                t.priority if t.priority is not None else spec.class_order.index(t.tenant_class)
                for t in sc.tenants
            ]
            return Priority(levels, tenant_of_job)
