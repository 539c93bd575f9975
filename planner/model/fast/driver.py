"""The fast engine's run: SimPy handles the business events, the compiled kernel the job flow.

:class:`FastModel` is a :class:`~planner.model.engine.Model` whose build phase is the reference
engine's (jobs, cohorts, prices, accounts, candidates) and whose run is replaced: before SimPy
handles each business event, the kernel runs every job event that comes before it in the order
of events at one instant, then copies the few credit events it recorded into the same Recorder
(the per-job records stay in the kernel's arrays and become the run's record). The business
events themselves (cohorts entering and leaving service, bans, credit grants and expiries, the
daily samples) are the reference engine's own methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np

from planner.model.demand import JobBatch
from planner.model.engine import Model
from planner.model.fast import flow, interrupt, placement, sched
from planner.model.fast.state import (
    KIND,
    N_CHURNED,
    N_DRAWS,
    N_ENDS,
    N_EXHAUSTED,
    N_LEVELS,
    N_LOST,
    N_SKIPS,
    N_STARTS,
    NEXT_ARRIVAL_H,
    PLAIN,
    Q_HEAD,
    Q_TAIL,
    QUEUED_WORK,
    RECORDS_LOW,
    TRACKING,
    State,
    build_state,
    pool_keys,
    pull_accounts,
    push_accounts,
)
from planner.model.fleet import Pool
from planner.model.policies.base import Policy
from planner.model.record import Recorded, RunRecord
from planner.recording import Recorder
from planner.scenario.schema import Scenario


class KernelFifo(Policy):
    """The policy hooks the business events call, answered from the kernel's queues (the FIFO
    array, planner.model.fast.queues' linked queues, or those of planner.model.fast.sched for
    backfill and quota)."""

    def __init__(self, model: FastModel) -> None:
        super().__init__(model, [False] * len(model.scenario.tenants))
        self._model = model

    def dispatch(self) -> None:
        model = self._model
        model.make_room_for_records()
        flow.dispatch(model.state, model.env.now)
        model.copy_records()

    def start_on(self, job: int, pools: Sequence[Pool]) -> bool:
        model = self._model
        # As Model._start_warm: the job starts without having queued, and a start takes its
        # work off the queue.
        model.state.flow.clock[QUEUED_WORK] += model.state.jobs.work_gpu_h[job]
        started = bool(flow.start_on(model.state, job, model.pool_index(pools[0]), model.env.now))
        model.copy_records()
        return started

    def fleet_changed(self) -> None:
        sched.fleet_changed(self._model.state.sched)

    def waiting(self) -> Iterator[int]:
        state = self._model.state
        queued = sched.waiting(state.sched)
        pol = state.policy
        if queued is not None:
            yield from queued
            if pol.flags[KIND] == PLAIN:
                return
            # Backfill and quota keep spot jobs in the linked spot queue.
            after = pol.q_next.tolist()
            job = int(pol.q_head[int(pol.flags[N_LEVELS])])
            while job >= 0:
                yield job
                job = after[job]
            return
        if pol.flags[KIND] != PLAIN:
            after = pol.q_next.tolist()
            for job in pol.q_head[: int(pol.flags[N_LEVELS]) + 1].tolist():
                while job >= 0:
                    yield job
                    job = after[job]
            return
        count = state.flow.counters
        yield from state.flow.queue[count[Q_HEAD] : count[Q_TAIL]].tolist()


def _extend(column: Any, values: np.ndarray) -> None:
    """Append a numpy slice to a Recorder column (an ``array.array`` of the same item type)."""
    column.frombytes(values.astype(column.typecode).tobytes())


class FastModel(Model):
    """One replication of a scenario on the compiled kernel (see
    planner.model.fast).

    The Fleet keeps the pools' shape (pods, nodes, cohorts, GPUs in service) for the business
    events; which GPUs are free, what runs where and the queue live in :attr:`state` only, so
    the Fleet's free counts, ``running`` and ``drawn_to_h`` are not kept up to date here.
    """

    def __init__(
        self, sc: Scenario, seed: int = 0, *, jobs: JobBatch | None = None, replication: int = 0
    ) -> None:
        super().__init__(sc, seed, jobs=jobs, replication=replication)
        self.job_tenant = []
        self.state: State = build_state(self)
        self._pools = {key: p for p, key in enumerate(pool_keys(self))}
        self._mirrored_retired: set[int] = set()
        self._copied = [0] * 3  # records already in the Recorder, per kind (see copy_records)
        self._taken: dict[str, np.ndarray] = {}  # the kernel's records, once the run is over
        # Which tenants may run on each pool, and the tenants' pool lists it was read from
        # (they change only when a business event changes what a tenant may use).
        self._users_of: list[list[int]] = []
        self._users_read_from = (b"", b"")
        self.policy = KernelFifo(self)

    def _job_columns(
        self,
    ) -> tuple[Sequence[float], Sequence[int], Sequence[int], list[float]]:
        # The kernel reads the jobs' arrays; of the reference loop's lists only the tenants are
        # read, whole, while the policy is built. The tenants' array stands in for that list
        # rather than a copy of every column being made for nothing.
        return [], cast(Sequence[int], self.jobs.tenant), [], []

    def pool_index(self, pool: Pool) -> int:
        return self._pools[(pool.model, pool.region)]

    # -- business events: the reference's, with the kernel's arrays kept in step --------------

    def _refresh_candidates(self) -> None:
        self._mirror_fleet()
        super()._refresh_candidates()
        tenants = self.state.tenants
        for tenant, pools in enumerate(self._candidates):
            tenants.n_candidates[tenant] = len(pools)
            tenants.candidates[tenant, : len(pools)] = [self.pool_index(p) for p in pools]
        tenants.usable_gpus[:] = self._usable_gpus

    def _mirror_fleet(self) -> None:
        """Bring cohorts the Fleet installed or retired since the last call into the arrays.

        Every change to the fleet is followed by :meth:`_refresh_candidates` in the reference
        engine, before any job could be placed."""
        fleet = self.state.fleet
        for key, pool in self.fleet.pools.items():
            p = self._pools[key]
            fleet.pool_throughput[p] = pool.throughput
            fleet.pool_multinode[p] = pool.multinode_throughput
            added = pool.pods[fleet.pool_pods[p] :]
            for pod in added:
                placement.add_pod(fleet, p, pod.nodes.start, len(pod.nodes), pod.cohort)
            for cohort in sorted({pod.cohort for pod in added} if pool.spares else ()):
                self._hold_spares(p, pool, cohort)
            for cohort in sorted(pool.retired - self._mirrored_retired):
                placement.retire(fleet, p, cohort)
                self._mirrored_retired.add(cohort)

    def _next_arrival_at(self, t_h: float) -> None:
        now = self.env.now
        self.state.flow.clock[NEXT_ARRIVAL_H] = now + (t_h - now)

    def _credit_change(self, tenant: int, change: str) -> None:
        flow.draw_running(self.state, flow.runs_in_start_order(self.state), tenant, self.env.now)
        self.copy_records()
        pull_accounts(self, self.state.accounts)
        if change == "grant":
            self.billing.grant(tenant, self.env.now)
        else:
            self.billing.expire(tenant, self.env.now)
        push_accounts(self, self.state.accounts)

    def _sample_fragmentation(self) -> None:
        """Model._sample_fragmentation, with free and stranded GPUs read from the arrays."""
        fleet = self.state.fleet
        # Per tenant: how many jobs wait and their distinct sizes, over the queue at once (a
        # long queue is a million jobs, sampled every day).
        waiting = self._waiting()
        tenant_of = self.state.jobs.tenant[waiting]
        gpus_of = self.state.jobs.gpus[waiting]
        counts = np.bincount(tenant_of, minlength=len(self.scenario.tenants)).tolist()
        sizes: list[set[int]] = [set() for _ in self.scenario.tenants]
        span = int(gpus_of.max()) + 1 if len(gpus_of) else 1
        for key in np.unique(tenant_of * span + gpus_of).tolist():
            sizes[key // span].add(key % span)
        users_of = self._pool_users()
        for key, pool in self.fleet.pools.items():
            if pool.gpus == 0:
                continue
            p = self._pools[key]
            users = users_of[p]
            stranded = self._stranded_gpus(p, [g for t in users for g in sizes[t]])
            queued = sum(counts[t] for t in users)
            self.recorder.fragmentation_sampled(
                self.env.now,
                pool.model,
                pool.region,
                int(fleet.pool_free_gpus[p]),
                stranded,
                queued,
            )

    def _pool_users(self) -> list[list[int]]:
        """The tenants that may run on each pool now, for every pool at once; read again only
        when a tenant's pools changed since the last sample."""
        tenants = self.state.tenants
        lists = (tenants.candidates.tobytes(), tenants.n_candidates.tobytes())
        if lists != self._users_read_from:
            listed = np.arange(tenants.candidates.shape[1]) < tenants.n_candidates[:, None]
            may_use = np.zeros((len(self._pools), len(self.scenario.tenants)), dtype=bool)
            tenant, slot = np.nonzero(listed)
            may_use[tenants.candidates[tenant, slot], tenant] = True
            self._users_of = [np.flatnonzero(row).tolist() for row in may_use]
            self._users_read_from = lists
        return self._users_of

    def _waiting(self) -> np.ndarray:
        """Every queued job: FIFO's array slice as it is, the other queues as KernelFifo.waiting
        lists them."""
        state = self.state
        if state.sched.kind[0] == sched.FIFO and state.policy.flags[KIND] == PLAIN:
            count = state.flow.counters
            return state.flow.queue[count[Q_HEAD] : count[Q_TAIL]]
        return np.fromiter(self.policy.waiting(), np.int64)

    def _stranded_gpus(self, p: int, queued_gpus: Sequence[int]) -> int:
        """Pool.stranded_gpus on the arrays."""
        fleet = self.state.fleet
        if not fleet.pool_free_gpus[p] or not queued_gpus:
            return 0
        size = int(fleet.pool_node_gpus[p])
        smallest = min((g for g in queued_gpus if g < size), default=size + 1)
        fewest_nodes = min((-(-g // size) for g in queued_gpus if g >= size), default=None)
        stranded = 0
        for free, nodes in enumerate(fleet.partial_count[p, :size].tolist()):
            if free and nodes and free < smallest:
                stranded += free * nodes
        first = int(fleet.pool_pod0[p])
        for whole in fleet.pod_whole[first : first + int(fleet.pool_pods[p])].tolist():
            if whole and smallest > size and (fewest_nodes is None or whole < fewest_nodes):
                stranded += whole * size
        return stranded

    # -- run ------------------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> Recorder:
        if self._ran:
            raise RuntimeError("a Model runs once; build a new one for another replication")
        self._ran = True
        self._wire()
        horizon = self.scenario.horizon_h
        env = self.env
        shown = 0
        # The queue's head is (time, priority, sequence, event); the kernel runs every job
        # event before it, then SimPy handles it. Nothing at the horizon itself is handled,
        # as with ``env.run(until=horizon)``.
        while env._queue and env._queue[0][0] < horizon:
            t_h, priority = env._queue[0][0], env._queue[0][1]
            self._advance(t_h, priority)
            env.step()
            if progress is not None and int(100 * t_h / horizon) > shown:
                shown = int(100 * t_h / horizon)
                progress(shown / 100)
        self._advance(horizon, 0)
        self._finalise()
        if progress is not None:
            progress(1.0)
        return self.recorder

    def _finalise(self) -> None:
        flow.draw_running(
            self.state, flow.runs_in_start_order(self.state), -1, self.scenario.horizon_h
        )
        self.copy_records()
        pull_accounts(self, self.state.accounts)
        self._taken = self._take_records()
        # The run's arrays (the queue, the heap, where each job ran) are of no use to the
        # tables; a large run needs their memory back before the tables are built.
        del self.state

    def copy_records(self) -> None:
        """Append the credit events and churns the kernel recorded since the last call to the
        Recorder, in order among those the business events record.

        The per-job columns (starts, ends, skips, credit draws) only the kernel records; they
        stay in its arrays and the run's record takes them from there once it is over
        (:meth:`record`), so a large run holds them once, not twice."""
        rec, out, count = self.state.records, self.recorder, self.state.flow.counters
        done = self._copied
        for i in range(done[0], int(count[N_EXHAUSTED])):
            out.credit_event(
                int(rec.exhausted_tenant[i]), "exhausted", float(rec.exhausted_h[i]), 0.0
            )
        done[0] = int(count[N_EXHAUSTED])
        for i in range(done[1], int(count[N_CHURNED])):
            out.tenant_churned(int(rec.churned_tenant[i]), float(rec.churned_h[i]))
        done[1] = int(count[N_CHURNED])
        self._copy_lost()

    # -- runs cut short: failures, repairs, and the record arrays they lengthen ----------------

    def _copy_lost(self) -> None:
        pol, out, done = self.state.policy, self.recorder, self._copied
        n = int(pol.flags[N_LOST])
        if n > done[2]:
            _extend(out.lost_job, pol.lost_job[done[2] : n])
            _extend(out.lost_cohort, pol.lost_cohort[done[2] : n])
            _extend(out.lost_gpu_h, pol.lost_gpu_h[done[2] : n])
            done[2] = n

    def _advance(self, until_h: float, until_priority: int) -> None:
        """flow.advance, growing the record arrays whenever it stops for room."""
        while True:
            self.make_room_for_records()
            flow.advance(self.state, until_h, until_priority)
            self.copy_records()
            if not self.state.policy.flags[RECORDS_LOW]:
                return

    def make_room_for_records(self) -> None:
        """Runs cut short record more starts, ends, draws and losses than there are jobs: make
        the arrays hold at least one more event of every kind (see interrupt.reserve)."""
        state = self.state
        pol = state.policy
        pol.flags[RECORDS_LOW] = 0
        if not pol.flags[TRACKING] or not interrupt.records_low(state):
            return
        room = int(interrupt.reserve(state))
        rec, count = state.records, state.flow.counters

        def grow(column: np.ndarray, used: int) -> np.ndarray:
            if used + room <= len(column):
                return column
            bigger = np.zeros(max(2 * len(column), used + room), column.dtype)
            bigger[:used] = column[:used]
            return bigger

        starts, ends, draws = int(count[N_STARTS]), int(count[N_ENDS]), int(count[N_DRAWS])
        lost = int(pol.flags[N_LOST])
        self.state = state._replace(
            records=rec._replace(
                start_job=grow(rec.start_job, starts),
                start_h=grow(rec.start_h, starts),
                start_cohort=grow(rec.start_cohort, starts),
                start_gpus=grow(rec.start_gpus, starts),
                start_in_quota=grow(rec.start_in_quota, starts),
                end_job=grow(rec.end_job, ends),
                end_h=grow(rec.end_h, ends),
                credit_job=grow(rec.credit_job, draws),
                credit_usd=grow(rec.credit_usd, draws),
            ),
            policy=pol._replace(
                end_kind=grow(pol.end_kind, ends),
                lost_job=grow(pol.lost_job, lost),
                lost_cohort=grow(pol.lost_cohort, lost),
                lost_gpu_h=grow(pol.lost_gpu_h, lost),
            ),
        )
        self.state.policy.flags[RECORDS_LOW] = 0

    def _hold_spares(self, p: int, pool: Pool, cohort: int) -> None:
        """Pool.hold_spares ran on the Fleet's pool: hold the same nodes back in the arrays."""
        for node in pool.spares:
            if pool.node_cohort[node] == cohort:
                interrupt.unfree(self.state, p, node)

    def _node_failed(self, pool: Pool, node: int, cause: str) -> None:
        """Model._node_failed: the Fleet's pool keeps which nodes are down and spare; the
        kernel cuts the runs short, takes the node out, brings the spare in and dispatches."""
        spare = pool.spares[-1] if pool.spares else -1
        spare_used = pool.fail(node)
        if spare_used:
            self._spare_took.add((id(pool), node))
        self.recorder.node_failed(
            self.env.now, pool.node_cohort[node], pool.node_gpus, spare_used, cause
        )
        self.policy.fleet_changed()
        self.make_room_for_records()
        interrupt.fail_node(
            self.state, self.pool_index(pool), node, spare if spare_used else -1, self.env.now
        )
        self.copy_records()

    def _node_repaired(self, pool: Pool, node: int) -> None:
        back_to_spares = (id(pool), node) in self._spare_took
        self._spare_took.discard((id(pool), node))
        pool.repair(node, back_to_spares)
        self.recorder.node_repaired(self.env.now, pool.node_cohort[node], pool.node_gpus)
        self.policy.fleet_changed()
        to_service = not back_to_spares and pool.node_cohort[node] not in pool.retired
        self.make_room_for_records()
        interrupt.repair_node(self.state, self.pool_index(pool), node, to_service, self.env.now)
        self.copy_records()

    def _take_records(self) -> dict[str, np.ndarray]:
        """The kernel's per-job records as the Recorder's columns: views, no copy."""
        rec, count = self.state.records, self.state.flow.counters
        starts, ends = int(count[N_STARTS]), int(count[N_ENDS])
        skips, draws = int(count[N_SKIPS]), int(count[N_DRAWS])
        return {
            "start_job": rec.start_job[:starts],
            "start_h": rec.start_h[:starts],
            "start_cohort": rec.start_cohort[:starts],
            "start_gpus": rec.start_gpus[:starts],
            "quota_start": np.flatnonzero(rec.start_in_quota[:starts]).astype(np.int64),
            "end_job": rec.end_job[:ends],
            "end_h": rec.end_h[:ends],
            "end_interrupted": (
                self.state.policy.end_kind[:ends].astype(np.int8)
                if self.state.policy.flags[TRACKING]
                else np.zeros(ends, np.int8)
            ),
            "skipped_job": rec.skipped_job[:skips],
            "skipped_reason": rec.skipped_reason[:skips].astype(np.int8),
            "credit_job": rec.credit_job[:draws],
            "credit_usd": rec.credit_usd[:draws],
        }

    def record(self) -> RunRecord:
        record = super().record()
        return replace(record, recorded=Recorded.of(self.recorder, self._taken))
