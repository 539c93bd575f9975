"""The simulation engine: builds the world from a scenario, runs it in SimPy, and finalises.

Phases: build (draw jobs, plan supply, install the starting fleet) → run (SimPy until the
horizon) → finalise (bill running jobs up to the horizon). Each job costs two SimPy events, its
arrival and its completion; the scheduler runs only on those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from types import MappingProxyType

import simpy

from planner.catalog import gpu_model
from planner.errors import RUNNING, Problem, ScenarioError
from planner.model.billing import Billing
from planner.model.demand import JobBatch, check_jobs, generate_jobs, warm_jobs
from planner.model.failures import Checkpoints, NodeFailures, saved_progress_h
from planner.model.fleet import Allocation, Fleet, Pool
from planner.model.market import Market
from planner.model.policies import make_policy
from planner.model.policies.base import Admit
from planner.model.record import CreditAccountRecord, Recorded, RunRecord
from planner.model.streams import Streams
from planner.model.supply import CohortPlan, OrderOutcome, plan_supply
from planner.model.timing import ARRIVALS, DAILY, Wake, call_at
from planner.recording import SKIP_REASONS, Recorder
from planner.scenario.schema import HOURS_PER_DAY, RegionBar, Scenario

CREDIT_RULE, BALKED, CHURNED = (SKIP_REASONS.index(r) for r in ("credit_rule", "balked", "churned"))


class Model:
    """One replication of a scenario, from build to finalise."""

    def __init__(
        self, sc: Scenario, seed: int = 0, *, jobs: JobBatch | None = None, replication: int = 0
    ) -> None:
        self.scenario = sc
        self.streams = Streams(seed, replication)
        self.env = simpy.Environment()
        self.recorder = Recorder()
        self.market = Market(sc)
        if jobs is not None:
            check_jobs(sc, jobs)
        self.jobs = jobs if jobs is not None else generate_jobs(sc, self.streams, self.market)
        if jobs is None and any(
            t.workload is not None and t.workload.arrivals.kind == "trace" for t in sc.tenants
        ):
            check_jobs(sc, self.jobs)  # a replayed trace's sizes are known only now
        self.cohorts: list[CohortPlan]
        self.orders: list[OrderOutcome]
        self.cohorts, self.orders = plan_supply(sc, self.streams)
        self.fleet = Fleet()
        self.prices = [
            self.market.cohort_price(c.model, c.in_service_h, c.opex_usd_per_gpu_h)
            for c in self.cohorts
        ]
        self.billing = Billing(sc, self.recorder)
        self.running: dict[int, Allocation] = {}
        # How far each running job of a credit tenant has drawn on its credits.
        self.drawn_to_h: dict[int, float] = {}
        self.job_submit_h: Sequence[float]
        self.job_tenant: Sequence[int]
        self.job_gpus: Sequence[int]
        self._work: list[float]  # what is left of each job's work: cut as runs are cut short
        self.job_submit_h, self.job_tenant, self.job_gpus, self._work = self._job_columns()
        self.policy = make_policy(sc, self, self.streams)
        self._ended = self.policy.ended if self.policy.follows_runs else None
        self.checkpoints = Checkpoints(sc.failures)
        self._multinode_throughput = sc.placement.capped_nvlink_multinode_throughput
        self._pays_credits = [i in self.billing.accounts for i in range(len(sc.tenants))]
        patience = [t.patience for t in sc.tenants]
        self._balk_wait_h = [p.balk_wait_h if p else None for p in patience]
        self._churn_wait_h = [p.churn_wait_h if p else None for p in patience]
        self._long_waits = [0] * len(sc.tenants)
        # Tenants whose arrivals must pass a check before they are submitted.
        self._screened = self.billing.gated | {
            i for i, p in enumerate(patience) if p and (p.balk_wait_h or p.churn_wait_h)
        }
        self._queued_work_gpu_h = 0.0
        self._usable_gpus = [0.0] * len(sc.tenants)
        self.failures: NodeFailures | None = None
        if sc.failures is not None:
            node_gpus = {r.name: r.gpus_per_node for r in sc.regions}
            self.failures = NodeFailures(
                self.env,
                sc.failures,
                self.streams,
                sum(c.gpus // node_gpus[c.region] for c in self.cohorts),
                self._node_failed,
                self._node_repaired,
            )
        # Kept only when runs can be cut short (nodes fail, or the policy preempts): which jobs
        # sit on each node, each running job's wake and run start, its restarts, and failed
        # nodes whose place a spare took.
        self._tracking = self.failures is not None or self.policy.preempts
        self._on_node: dict[tuple[int, int], set[int]] = {}
        self._wakes: dict[int, Wake] = {}
        self._run_start_h: dict[int, float] = {}
        self._restarts: dict[int, int] = {}
        self._spare_took: set[tuple[int, int]] = set()
        self._pool_keys = [self._preferences(i) for i in range(len(sc.tenants))]
        self._candidates: list[list[Pool]] = [[] for _ in sc.tenants]
        self._by_cost = [t.placement == "cost" for t in sc.tenants]
        self._warm = warm_jobs(sc, self.jobs)
        self._warm_started = frozenset(self._warm.running)
        self._next_arrival = 0
        self._ran = False
        # Bound once: the event loop calls these for every job.
        self._on_end_cb = self._on_end
        self._on_arrival_cb = self._on_arrival

    def _job_columns(
        self,
    ) -> tuple[Sequence[float], Sequence[int], Sequence[int], list[float]]:
        """The jobs' submission times, tenants, GPUs and work, as the event loop reads them:
        plain lists, since indexing numpy scalars one at a time is slow."""
        jobs = self.jobs
        return (
            jobs.submit_h.tolist(),
            jobs.tenant.tolist(),
            jobs.gpus.tolist(),
            jobs.work_gpu_h.tolist(),
        )

    def _preferences(self, tenant: int) -> list[tuple[str, str]]:
        t = self.scenario.tenants[tenant]
        regions = t.regions if t.regions is not None else [r.name for r in self.scenario.regions]
        return [(m, r) for m in t.models for r in regions]

    # -- build ---------------------------------------------------------------------------------

    def _wire(self) -> None:
        horizon = self.scenario.horizon_h
        retiring = self.scenario.market.at_obsolescence == "retire"
        for cohort, price in zip(self.cohorts, self.prices, strict=True):
            until = price.obsolete_at_h if retiring else horizon
            # A sale takes the cohort out of service as a retirement does (finance.sell).
            until = min(until, self.scenario.sale_h(cohort.name))
            if until <= max(cohort.in_service_h, 0.0):
                continue  # obsolete before it could serve
            if cohort.in_service_h <= 0.0:
                self._install(cohort)
            elif cohort.in_service_h < horizon:
                self._at(cohort.in_service_h, partial(self._install, cohort))
            if until < horizon:
                self._at(until, partial(self._retire, cohort))
        for tenant, account in self.billing.accounts.items():
            if account.granted_h < horizon:
                self._at(account.granted_h, partial(self._credit_change, tenant, "grant"))
            if account.granted_h < account.expires_h < horizon:
                self._at(account.expires_h, partial(self._credit_change, tenant, "expire"))
        for event in self.scenario.export_controls:
            for bar in event.restrict:
                self._at(self.scenario.hours_since_start(event.effective), partial(self._bar, bar))
        self._start_warm()
        if len(self.jobs):
            self._next_arrival_at(max(0.0, float(self.jobs.submit_h[0])))
        if self.failures is not None:
            self.failures.start()
        self._every_day(self._sample_fragmentation)
        if any(self._by_cost):
            self._every_day(self._refresh_candidates)

    def _start_warm(self) -> None:
        """Start the jobs running at time zero on their stated pools, before any arrival."""
        for i, job in enumerate(self._warm.running):
            spec = self.scenario.initial_state.running[i]
            pool = self.fleet.pools.get((spec.model, spec.region))
            # It starts without having queued, and a start takes its work off the queue.
            self._queued_work_gpu_h += float(self.jobs.work_gpu_h[job])
            if pool is None or not self.policy.start_on(job, [pool]):
                raise ScenarioError(
                    RUNNING,
                    [
                        Problem(
                            f"initial_state.running.{i}",
                            f"{spec.gpus} GPUs of {spec.model} in {spec.region} cannot be "
                            "placed at time zero: the earlier running jobs fill the nodes",
                        )
                    ],
                )

    def _at(self, t_h: float, action: Callable[[], None]) -> None:
        """Run ``action`` at time ``t_h`` (or now, if that has passed), as a business event."""
        call_at(self.env, max(0.0, t_h - self.env.now), action)

    def _every_day(self, action: Callable[[], None]) -> None:
        """Run ``action`` now and at each midnight to the horizon, after all else then."""

        def tick() -> None:
            action()
            if self.env.now + HOURS_PER_DAY < self.scenario.horizon_h:
                call_at(self.env, HOURS_PER_DAY, tick, DAILY)

        call_at(self.env, 0.0, tick, DAILY)

    def _install(self, cohort: CohortPlan) -> None:
        region = self.scenario.region(cohort.region)
        spec = gpu_model(cohort.model)
        pool = self.fleet.install(
            cohort.index,
            cohort.model,
            cohort.region,
            cohort.gpus,
            region.gpus_per_node,
            region.pod_gpus,
            spec.throughput,
            self._multinode_throughput if spec.nvlink_capped else 1.0,
            self.scenario.placement.within(cohort.model, cohort.region),
        )
        self.recorder.cohort_in_service(cohort.index, self.env.now)
        if self.failures is not None:
            nodes = [n for pod in pool.pods if pod.cohort == cohort.index for n in pod.nodes]
            self.failures.add_nodes(pool, range(nodes[0], nodes[-1] + 1))
            pool.hold_spares(cohort.index, self.failures.spec.spare_fraction)
        self._refresh_candidates()
        self.policy.fleet_changed()
        self.policy.dispatch()

    def _refresh_candidates(self) -> None:
        pools = self.fleet.pools
        self._candidates = [[pools[k] for k in keys if k in pools] for keys in self._pool_keys]
        now = self.env.now
        for tenant, by_cost in enumerate(self._by_cost):
            if by_cost:
                # Cheapest list price per unit of work first; ties keep the tenant's order.
                self._candidates[tenant].sort(
                    key=lambda p: self.market.curve(p.model).price(now) / p.throughput
                )
        # Queued work is in reference (H800) GPU-hours, so capacity is counted the same way.
        self._usable_gpus = [
            sum(p.gpus * p.throughput for p in pools) for pools in self._candidates
        ]

    def _bar(self, bar: RegionBar) -> None:
        """From now on the barred tenants start no job in the barred regions."""
        names = [t.name for t in self.scenario.tenants]
        for tenant in bar.tenants:
            i = names.index(tenant)
            self._pool_keys[i] = [(m, r) for m, r in self._pool_keys[i] if r not in bar.regions]
        self._refresh_candidates()
        self.policy.fleet_changed()

    def _retire(self, cohort: CohortPlan) -> None:
        self.fleet.pools[(cohort.model, cohort.region)].retire(cohort.index)
        self.recorder.cohort_retired(cohort.index, self.env.now)
        self._refresh_candidates()
        self.policy.fleet_changed()

    # -- the cluster a policy sees -------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.env.now

    def pools(self, job: int) -> list[Pool]:
        """The pools ``job`` may run on now, in the order it tries them."""
        return self._candidates[self.job_tenant[job]]

    def all_pools(self) -> list[Pool]:
        return list(self.fleet.pools.values())

    def try_start(
        self,
        job: int,
        admit: Admit | None = None,
        pools: Sequence[Pool] | None = None,
        avoid: tuple[Pool, frozenset[int]] | None = None,
    ) -> bool:
        """Place ``job`` on the first of ``pools`` (default: its tenant's) where it fits, off
        the nodes ``avoid`` names in its pool, and ``admit`` agrees; start it there. Returns
        whether it started."""
        gpus = self.job_gpus[job]
        tenant = self.job_tenant[job]
        for pool in self._candidates[tenant] if pools is None else pools:
            if avoid is not None and pool is avoid[0]:
                alloc = pool.allocate(gpus, avoid[1])
            else:
                alloc = pool.allocate(gpus)
            if alloc is None:
                continue
            duration = self.duration_h(job, pool)
            if admit is None or admit(job, alloc, duration):
                break
            pool.release(alloc)
        else:
            return False
        env = self.env
        now = env.now
        self.running[job] = alloc
        self._queued_work_gpu_h -= self._work[job]
        if self._pays_credits[tenant]:
            self.drawn_to_h[job] = now
        if self._churn_wait_h[tenant] is not None and job not in self._restarts:
            self._count_long_wait(tenant, now - self.job_submit_h[job])
        self.recorder.job_started(job, now, alloc.cohort, alloc.held_gpus)
        if not self._tracking:
            Wake(env, duration, job, self._on_end_cb)
            return True
        self._wakes[job] = Wake(env, duration, job, self._on_end_cb)
        self._run_start_h[job] = now
        for node in alloc.nodes:
            self._on_node.setdefault((id(pool), node), set()).add(job)
        return True

    def duration_h(self, job: int, pool: Pool) -> float:
        """Hours ``job`` would run if started on ``pool`` now: its remaining work at the pool's
        rate, plus the restart from its last checkpoint if an earlier run was cut short."""
        run_h = self._work[job] / pool.work_rate(self.job_gpus[job])
        if self._tracking and job in self._restarts:
            run_h += self.checkpoints.restart_h
        return run_h

    def started_in_quota(self, job: int) -> None:
        self.recorder.run_in_quota()

    def preempt(self, job: int) -> None:
        """Stop a running job for another; the policy requeues it."""
        self._stop(job, preempted=True)

    # -- run -----------------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> Recorder:
        """Simulate to the horizon and bill what is still running; returns the recorder.

        ``progress``, if given, is called with the fraction of the horizon simulated so far.
        """
        if self._ran:
            raise RuntimeError("a Model runs once; build a new one for another replication")
        self._ran = True
        self._wire()
        horizon = self.scenario.horizon_h
        if progress is None:
            self.env.run(until=horizon)
        else:
            steps = 100
            for step in range(1, steps + 1):
                self.env.run(until=horizon * step / steps)
                progress(step / steps)
        self._finalise()
        return self.recorder

    def _next_arrival_at(self, t_h: float) -> None:
        Wake(self.env, t_h - self.env.now, -1, self._on_arrival_cb, ARRIVALS)

    def _on_arrival(self, _event: Wake) -> None:
        now = self.env.now
        submit_h, tenant_of, screened = self.job_submit_h, self.job_tenant, self._screened
        submit = self.policy.submit
        warm = self._warm.all
        i, n = self._next_arrival, len(submit_h)
        # Every job due by now arrives in this one event: simultaneous submissions are common.
        while i < n and submit_h[i] <= now:
            if warm and i in warm:
                # Already in the system at time zero: started then, or queued without screening.
                # (Not "running now": one preempted before this event is queued already.)
                if i not in self._warm_started:
                    self._queued_work_gpu_h += self._work[i]
                    submit(i)
                i += 1
                continue
            refused = (
                self._refusal(i, tenant_of[i]) if screened and tenant_of[i] in screened else -1
            )
            if refused >= 0:
                self.recorder.job_skipped(i, refused)
            else:
                self._queued_work_gpu_h += self._work[i]
                submit(i)
            i += 1
        self._next_arrival = i
        if i < n:
            Wake(self.env, submit_h[i] - now, -1, self._on_arrival_cb, ARRIVALS)

    def _refusal(self, job: int, tenant: int) -> int:
        """Why a screened tenant's job is not submitted (a ``SKIP_REASONS`` index), or -1."""
        if tenant in self.recorder.churned:
            return CHURNED
        if tenant in self.billing.gated and not self.billing.submits(
            tenant, float(self.jobs.keep_u[job])
        ):
            return CREDIT_RULE
        balk = self._balk_wait_h[tenant]
        if balk is not None:
            usable = self._usable_gpus[tenant]
            if usable == 0 or self._queued_work_gpu_h / usable > balk:
                return BALKED
        return -1

    def _count_long_wait(self, tenant: int, wait_h: float) -> None:
        patience = self.scenario.tenants[tenant].patience
        if patience is None or patience.churn_wait_h is None:
            raise RuntimeError(f"tenant {tenant} counts long waits but has no churn_wait_h")
        if wait_h > patience.churn_wait_h:
            self._long_waits[tenant] += 1
            if self._long_waits[tenant] == patience.churn_after:
                self.recorder.tenant_churned(tenant, self.env.now)

    def _on_end(self, event: Wake) -> None:
        job = event.job
        if job < 0:
            return  # the run was cut short by a failure or a preemption
        now = self.env.now
        alloc = self.running.pop(job)
        if self._tracking:
            self._forget_run(job, alloc)
            if job in self._restarts:  # this last run began by restoring a checkpoint
                restart_gpu_h = self.checkpoints.restart_h * alloc.held_gpus
                self.recorder.work_lost(job, alloc.cohort, restart_gpu_h)
        alloc.pool.release(alloc)
        if job in self.drawn_to_h:
            self._draw(job, alloc, now)
            del self.drawn_to_h[job]
        self.recorder.job_ended(job, now)
        if self._ended is not None:
            self._ended(job)
        self.policy.dispatch()

    def _forget_run(self, job: int, alloc: Allocation) -> None:
        del self._wakes[job]
        del self._run_start_h[job]
        for node in alloc.nodes:
            here = self._on_node.get((id(alloc.pool), node))
            if here is not None:  # a failed node's set is already gone
                here.discard(job)

    def _node_failed(self, pool: Pool, node: int, cause: str) -> None:
        jobs = sorted(self._on_node.pop((id(pool), node), set()))
        spare_used = pool.fail(node)
        if spare_used:
            self._spare_took.add((id(pool), node))
        self.recorder.node_failed(
            self.env.now, pool.node_cohort[node], pool.node_gpus, spare_used, cause
        )
        self.policy.fleet_changed()
        # Interrupted jobs go back to the head of the queue in their original order.
        for job in reversed(jobs):
            self._stop(job, preempted=False)
            self.policy.requeue(job)
        self.policy.dispatch()

    def _stop(self, job: int, preempted: bool) -> None:
        """Cut a run short: keep the job's checkpointed work and count the rest as lost."""
        now = self.env.now
        alloc = self.running.pop(job)
        self._wakes[job].job = -1
        run_h = now - self._run_start_h[job]
        self._forget_run(job, alloc)
        alloc.pool.release(alloc)
        if job in self.drawn_to_h:
            self._draw(job, alloc, now)
            del self.drawn_to_h[job]
        overhead_h = self.checkpoints.restart_h if job in self._restarts else 0.0
        interval_h = self.checkpoints.interval_h(len(alloc.nodes))
        saved_h = saved_progress_h(run_h, overhead_h, interval_h)
        rate = alloc.pool.work_rate(self.job_gpus[job])
        self._work[job] = max(self._work[job] - saved_h * rate, 1e-9)
        self._restarts[job] = self._restarts.get(job, 0) + 1
        self.recorder.job_interrupted(job, now, preempted)
        self.recorder.work_lost(job, alloc.cohort, (run_h - saved_h) * alloc.held_gpus)
        self._queued_work_gpu_h += self._work[job]
        if self._ended is not None:
            self._ended(job)

    def _node_repaired(self, pool: Pool, node: int) -> None:
        back_to_spares = (id(pool), node) in self._spare_took
        self._spare_took.discard((id(pool), node))
        pool.repair(node, back_to_spares)
        self.recorder.node_repaired(self.env.now, pool.node_cohort[node], pool.node_gpus)
        self.policy.fleet_changed()
        self.policy.dispatch()

    def _sample_fragmentation(self) -> None:
        """Record, per pool, free GPUs and those no queued job could use as they lie."""
        sizes: list[set[int]] = [set() for _ in self.scenario.tenants]
        counts = [0] * len(sizes)
        for job in self.policy.waiting():
            tenant = self.job_tenant[job]
            sizes[tenant].add(self.job_gpus[job])
            counts[tenant] += 1
        for pool in self.fleet.pools.values():
            if pool.gpus == 0:
                continue
            users = [t for t, pools in enumerate(self._candidates) if pool in pools]
            stranded = pool.stranded_gpus([g for t in users for g in sizes[t]])
            queued = sum(counts[t] for t in users)
            self.recorder.fragmentation_sampled(
                self.env.now, pool.model, pool.region, pool.free_gpus, stranded, queued
            )

    def _draw(self, job: int, alloc: Allocation, to_h: float) -> None:
        """Pay a credit tenant's running job from its credits up to ``to_h``."""
        self.billing.draw(
            job,
            self.job_tenant[job],
            self.prices[alloc.cohort],
            alloc.held_gpus,
            self.drawn_to_h[job],
            to_h,
        )
        self.drawn_to_h[job] = to_h

    def _credit_change(self, tenant: int, change: str) -> None:
        now = self.env.now
        # Draw for the tenant's running jobs up to now so no drawn stretch straddles the change.
        for job in self.drawn_to_h:
            if self.job_tenant[job] == tenant:
                self._draw(job, self.running[job], now)
        if change == "grant":
            self.billing.grant(tenant, now)
        else:
            self.billing.expire(tenant, now)

    # -- finalise ------------------------------------------------------------------------------

    def _finalise(self) -> None:
        horizon = self.scenario.horizon_h
        for job in self.drawn_to_h:
            self._draw(job, self.running[job], horizon)
        # The event loop's per-job lists are copies of ``self.jobs``; a large run needs the
        # memory back before its tables are built.
        self.job_submit_h, self.job_tenant, self.job_gpus, self._work = [], [], [], []

    # -- record --------------------------------------------------------------------------------

    def record(self) -> RunRecord:
        """The run's record, which the tables are built from; only once it has run."""
        if not self._ran:
            raise RuntimeError("a Model has a record only once it has run")
        return RunRecord(
            scenario=self.scenario,
            seed=self.streams.seed,
            replication=self.streams.replication,
            jobs=self.jobs,
            cohorts=tuple(self.cohorts),
            prices=tuple(self.prices),
            orders=tuple(self.orders),
            accounts=MappingProxyType(
                {t: CreditAccountRecord.of(a) for t, a in self.billing.accounts.items()}
            ),
            recorded=Recorded.of(self.recorder),
        )
