"""Node failures: when nodes fail, which one, and how long repair takes.

Every node in service fails at the same constant rate. Rather than one timer per node, failures
are drawn as a single Poisson stream at the rate of every node the scenario will ever have,
each landing on a node picked uniformly; a pick that lands on a node not (yet) in service, or
already down, is discarded. By Poisson thinning each node in service then fails at exactly its
rate, and the event count stays proportional to failures, not to nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import simpy

from planner.model.fleet import Pool
from planner.model.sampling import draw
from planner.model.streams import Streams
from planner.model.timing import call_at
from planner.scenario.schema import HOURS_PER_DAY, Failures, FixedCheckpoint

Node = tuple[Pool, int]


class NodeFailures:
    """Draws node failures and repairs; the engine decides what they do to jobs."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: Failures,
        streams: Streams,
        max_nodes: int,
        on_failure: Callable[[Pool, int, str], None],
        on_repair: Callable[[Pool, int], None],
    ) -> None:
        self.env = env
        self.spec = spec
        self.rate_per_node_h = spec.node_per_1000_node_days / 1000.0 / HOURS_PER_DAY
        self.nodes: list[Node] = []
        self._max_nodes = max(1, max_nodes)
        self._when = streams.get("failures/when")
        self._which = streams.get("failures/which")
        self._repair = streams.get("failures/repair")
        self._cause = streams.get("failures/cause")
        causes = spec.causes or {"node failure": 1.0}
        self._cause_names = list(causes)
        total = sum(causes.values())
        self._cause_p = [w / total for w in causes.values()]
        self._on_failure = on_failure
        self._on_repair = on_repair

    def add_nodes(self, pool: Pool, nodes: range) -> None:
        """Nodes entering service become subject to failure."""
        self.nodes.extend((pool, n) for n in nodes)

    def start(self) -> None:
        if self.rate_per_node_h > 0:
            self._next()

    def _next(self) -> None:
        gap_h = self._when.exponential(1.0 / (self.rate_per_node_h * self._max_nodes))
        call_at(self.env, gap_h, self._strike)

    def _strike(self) -> None:
        self._next()
        pick = int(self._which.integers(self._max_nodes))
        if pick < len(self.nodes):
            self._fail(*self.nodes[pick])

    def inject(self, t_h: float, cohort: int, node: int = 0) -> None:
        """Make the ``node``-th node of ``cohort`` fail at ``t_h`` (a deliberate what-if)."""

        def strike() -> None:
            mine = [(pool, n) for pool, n in self.nodes if pool.node_cohort[n] == cohort]
            self._fail(*mine[node])

        call_at(self.env, max(0.0, t_h - self.env.now), strike)

    def _fail(self, pool: Pool, node: int) -> None:
        if node in pool.down or pool.node_cohort[node] in pool.retired or node in pool.spares:
            return
        cause = self._cause_names[int(self._cause.choice(len(self._cause_p), p=self._cause_p))]
        self._on_failure(pool, node, cause)
        repair_h = float(draw(self.spec.repair_days, self._repair, 1)[0]) * HOURS_PER_DAY
        call_at(self.env, repair_h, lambda: self._on_repair(pool, node))


class Checkpoints:
    """How often jobs save progress, and what a restart from a save costs.

    Set by the scenario's ``failures`` block; without one (jobs can still be preempted) the
    defaults apply: a save every 30 minutes and a 10-minute restart.
    """

    def __init__(self, spec: Failures | None) -> None:
        spec = spec if spec is not None else Failures()
        self.spec = spec.checkpoint
        self.restart_h = spec.restart_min / 60.0
        self.rate_per_node_h = spec.node_per_1000_node_days / 1000.0 / HOURS_PER_DAY

    def interval_h(self, nodes: int) -> float:
        """Hours of progress between checkpoints for a job holding ``nodes`` nodes."""
        spec = self.spec
        if isinstance(spec, FixedCheckpoint):
            return spec.interval_min / 60.0
        rate = self.rate_per_node_h * nodes
        if rate <= 0:
            return math.inf
        return math.sqrt(2.0 * (spec.write_min / 60.0) / rate)


def saved_progress_h(run_h: float, overhead_h: float, interval_h: float) -> float:
    """Hours of progress kept at an interruption ``run_h`` after a (re)start.

    The first ``overhead_h`` restore the last checkpoint and make no progress; after that,
    progress is saved every ``interval_h``, and whatever came after the last save is lost.
    """
    progress_h = max(0.0, run_h - overhead_h)
    if math.isinf(interval_h):
        return 0.0
    return float(np.floor(progress_h / interval_h + 1e-12) * interval_h)
