"""Scheduling policies: which queued job to try next. Placement is the fleet's business.

A policy sees job ids and a ``try_start(job) -> bool`` callback that places and starts a job if it
fits now. Policies are chosen by the scenario's ``scheduler.kind``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from planner.scenario.schema import Scheduler


class Policy(Protocol):
    """What the engine needs of a scheduling policy."""

    def submit(self, job: int, try_start: Callable[[int], bool]) -> None:
        """Take an arriving job: start it now if the policy allows, else queue it."""

    def dispatch(self, try_start: Callable[[int], bool]) -> None:
        """Start whatever the policy allows now (called whenever GPUs are freed or added)."""

    def requeue(self, job: int) -> None:
        """Put back an interrupted job, ahead of every job that has not started yet."""

    def queued(self) -> list[int]:
        """Jobs still waiting, in queue order."""


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

    def queued(self) -> list[int]:
        return list(self._queue)


def make_policy(spec: Scheduler) -> Policy:
    """The policy a scenario asks for."""
    match spec.kind:
        case "fifo":
            return Fifo()
