"""When things happen: one kind of timed event, and the order of events at the same instant.

At one instant the engine handles, in this order (the rule every engine follows):

1. job ends (runs that complete), in the order the runs started;
2. business events (cohorts entering or leaving service, credit grants and expiries, export
   bans, node failures and repairs), in the order they were scheduled;
3. arrivals (every job submitted by then);
4. the daily samples (fragmentation, re-ordering pools by price).

So a job that ends as a cohort retires gives its GPUs back first, a job that arrives as a
grant starts sees the grant, and a day's sample sees everything that happened at midnight.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import EventPriority

# SimPy orders events at equal times by this priority (lower first), then by scheduling order.
ENDS, BUSINESS, ARRIVALS, DAILY = (EventPriority(p) for p in (1, 2, 3, 4))


class Wake(simpy.Event):
    """A timeout carrying its one callback: the cheapest way to be called back at a time.

    Arrivals and completions are a million of these in a large run; building the callback list
    in the constructor saves a method call per event over ``env.timeout(...).callbacks.append``.
    ``job`` is the job the wake is for (or -1); setting it to -1 later cancels a job's end.
    """

    __slots__ = ("job",)

    def __init__(
        self,
        env: simpy.Environment,
        delay: float,
        job: int,
        callback: Callable[[Wake], None],
        priority: EventPriority = ENDS,
    ) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        self.job = job
        env.schedule(self, priority, delay)


def call_at(
    env: simpy.Environment,
    delay: float,
    action: Callable[[], None],
    priority: EventPriority = BUSINESS,
) -> None:
    """Call ``action`` after ``delay`` hours, among events of ``priority`` at that instant."""
    Wake(env, delay, -1, lambda _event: action(), priority)
