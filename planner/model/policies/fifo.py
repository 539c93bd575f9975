"""First in, first out."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from planner.model.policies.base import Cluster, Policy


class Fifo(Policy):
    """Strict FIFO with head-of-line blocking: while the head job cannot start, nothing starts
    (a blocked head may only preempt spot work)."""

    def __init__(self, cluster: Cluster, spot_tenants: Sequence[bool]) -> None:
        super().__init__(cluster, spot_tenants)
        self._queue: deque[int] = deque()

    def _submit(self, job: int) -> None:
        # An arrival frees no GPUs, so behind a blocked head it cannot start either.
        if self._queue or not (self._start(job) or (self.preempts and self._make_room(job))):
            self._queue.append(job)

    def _dispatch(self) -> None:
        queue, start = self._queue, self._start
        if not self.preempts:  # the common case, kept lean: this runs at every job's end
            while queue and start(queue[0]):
                queue.popleft()
            return
        while queue and (start(queue[0]) or self._make_room(queue[0])):
            queue.popleft()

    def _requeue(self, job: int) -> None:
        self._queue.appendleft(job)

    def _waiting(self) -> Iterator[int]:
        return iter(self._queue)
