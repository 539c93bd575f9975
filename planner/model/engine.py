"""The simulation engine: builds the world from a scenario, runs it in SimPy, and finalises.

Phases: build (draw jobs, plan supply, install the starting fleet) → run (SimPy until the
horizon) → finalise (bill running jobs up to the horizon). Each job costs two SimPy events, its
arrival and its completion; the scheduler runs only on those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import simpy

from planner.catalog import gpu_model
from planner.model.billing import Billing
from planner.model.demand import JobBatch, generate_jobs
from planner.model.fleet import Allocation, Fleet, Pool
from planner.model.market import Market
from planner.model.scheduler import make_policy
from planner.model.streams import Streams
from planner.model.supply import CohortPlan, OrderOutcome, plan_supply
from planner.recording import Recorder
from planner.scenario.schema import Scenario


@dataclass(slots=True)
class Running:
    """A job while it holds GPUs: where it sits and how far it has been billed."""

    alloc: Allocation
    billed_to_h: float


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
        self.jobs = jobs if jobs is not None else generate_jobs(sc, self.streams)
        self.cohorts: list[CohortPlan]
        self.orders: list[OrderOutcome]
        self.cohorts, self.orders = plan_supply(sc)
        self.fleet = Fleet()
        self.billing = Billing(sc, self.market, self.recorder)
        self.policy = make_policy(sc.scheduler)
        self.running: dict[int, Running] = {}
        # Per-job columns as plain lists: indexing numpy scalars in the event loop is slow.
        self._submit_h: list[float] = self.jobs.submit_h.tolist()
        self._tenant: list[int] = self.jobs.tenant.tolist()
        self._gpus: list[int] = self.jobs.gpus.tolist()
        self._work: list[float] = self.jobs.work_gpu_h.tolist()
        self._keep_u: list[float] = self.jobs.keep_u.tolist()
        self._pool_keys = [self._preferences(i) for i in range(len(sc.tenants))]
        self._candidates: list[list[Pool]] = [[] for _ in sc.tenants]
        self._next_arrival = 0
        self._ran = False

    def _preferences(self, tenant: int) -> list[tuple[str, str]]:
        t = self.scenario.tenants[tenant]
        regions = t.regions if t.regions is not None else [r.name for r in self.scenario.regions]
        return [(m, r) for m in t.models for r in regions]

    # -- build ---------------------------------------------------------------------------------

    def _wire(self) -> None:
        horizon = self.scenario.horizon_h
        for cohort in self.cohorts:
            if cohort.in_service_h <= 0.0:
                self._install(cohort)
            elif cohort.in_service_h < horizon:
                self._at(cohort.in_service_h, partial(self._install, cohort))
        for tenant, account in self.billing.accounts.items():
            if account.granted_h < horizon:
                self._at(account.granted_h, partial(self._credit_change, tenant, "grant"))
            if account.granted_h < account.expires_h < horizon:
                self._at(account.expires_h, partial(self._credit_change, tenant, "expire"))
        if len(self.jobs):
            self._at(self._submit_h[0], self._on_arrival)

    def _at(self, t_h: float, action: Callable[[], None]) -> None:
        """Run ``action`` at time ``t_h`` (or now, if that has passed)."""
        event = self.env.timeout(max(0.0, t_h - self.env.now))
        event.callbacks.append(lambda _event: action())

    def _install(self, cohort: CohortPlan) -> None:
        region = self.scenario.region(cohort.region)
        self.fleet.install(
            cohort.index,
            cohort.model,
            cohort.region,
            cohort.gpus,
            region.gpus_per_node,
            region.pod_gpus,
            gpu_model(cohort.model).throughput,
        )
        self.recorder.cohort_in_service(cohort.index, self.env.now)
        pools = self.fleet.pools
        self._candidates = [[pools[k] for k in keys if k in pools] for keys in self._pool_keys]
        self.policy.dispatch(self._try_start)

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

    def _on_arrival(self) -> None:
        now = self.env.now
        submit_h, n = self._submit_h, len(self._submit_h)
        i = self._next_arrival
        # Every job due by now arrives in this one event: simultaneous submissions are common.
        while i < n and submit_h[i] <= now:
            if self.billing.submits(self._tenant[i], self._keep_u[i]):
                self.policy.submit(i)
            else:
                self.recorder.job_skipped(i)
            i += 1
        self._next_arrival = i
        if i < n:
            self._at(submit_h[i], self._on_arrival)
        self.policy.dispatch(self._try_start)

    def _try_start(self, job: int) -> bool:
        gpus = self._gpus[job]
        for pool in self._candidates[self._tenant[job]]:
            alloc = pool.allocate(gpus)
            if alloc is not None:
                break
        else:
            return False
        now = self.env.now
        self.running[job] = Running(alloc, now)
        self.recorder.job_started(job, now, alloc.cohort)
        done = self.env.timeout(self._work[job] / (gpus * pool.throughput), job)
        done.callbacks.append(self._on_end)
        return True

    def _on_end(self, event: simpy.Event) -> None:
        job: int = event.value  # type: ignore[assignment]  # the id given to its timeout
        now = self.env.now
        run = self.running.pop(job)
        alloc = run.alloc
        alloc.pool.release(alloc)
        self._bill(job, run, now)
        self.recorder.job_ended(job, now)
        self.policy.dispatch(self._try_start)

    def _bill(self, job: int, run: Running, to_h: float) -> None:
        alloc = run.alloc
        self.billing.bill(
            job,
            self._tenant[job],
            alloc.cohort,
            alloc.pool.model,
            self._gpus[job],
            run.billed_to_h,
            to_h,
        )
        run.billed_to_h = to_h

    def _credit_change(self, tenant: int, change: str) -> None:
        now = self.env.now
        # Bill the tenant's running jobs up to now so no billed stretch straddles the change.
        for job, run in self.running.items():
            if self._tenant[job] == tenant:
                self._bill(job, run, now)
        if change == "grant":
            self.billing.grant(tenant, now)
        else:
            self.billing.expire(tenant, now)

    # -- finalise ------------------------------------------------------------------------------

    def _finalise(self) -> None:
        horizon = self.scenario.horizon_h
        for job, run in self.running.items():
            self._bill(job, run, horizon)

    def queued_jobs(self) -> list[int]:
        return self.policy.queued()
