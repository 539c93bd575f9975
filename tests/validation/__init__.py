"""Statistical validation of the engine against queueing theory: shared builders and runners.

Everything here runs the public API (``planner.Scenario.model_validate`` and
``planner.simulate``) and reduces each replication to a few numbers; the test modules form
confidence intervals across replications with :func:`planner.stats.mean_ci`.

Replications are independent: replication ``r`` of a case runs ``simulate(sc, seed=case.seed,
replication=r)``, and every (seed, replication) pair gets its own named random streams. They run
on a process pool (one worker per CPU; ``PLANNER_TEST_WORKERS=1`` runs them in-process).
``PLANNER_VALIDATION_SCALE`` (default 1) multiplies the jobs per replication, for a tighter run
than the default, which is sized to finish in about a minute on two cores.
``PLANNER_VALIDATION_SEED`` (default 1) picks the seed set: case seeds are
``1_000_000 x base + case seed``. Different bases give independent runs of the same tests, which
is how the intervals' calibration is checked: at a family-wise 95% level about one base in twenty
may fail by chance, while a miss that persists across bases is a finding about the engine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

import planner
from planner.scenario import HOURS_PER_DAY

WARMUP_FRACTION = 0.05
"""Share of each replication's counted jobs (the earliest by submit time) deleted as warm-up.

Runs start empty and idle. The queue forgets that start in a few relaxation times, about
``rho / (1 - sqrt(rho))**2`` jobs (the M/M/1 relaxation time, about 340 jobs at rho = 0.9 and
26 at rho = 0.7); 5% of a replication is twenty such times or more in every case here.
"""

TAIL_DAYS = 2
"""Days simulated after the last counted submission, so every counted job has started.

In the M/M/c cases a wait beyond two days has probability below 1e-24 (waits are exponential
with rate c·mu - lam >= 1.2 per hour); the tests still assert that every counted job started.
"""

T = TypeVar("T")
R = TypeVar("R")


def scale() -> float:
    """The multiplier on jobs per replication, from ``PLANNER_VALIDATION_SCALE`` (default 1)."""
    value = float(os.environ.get("PLANNER_VALIDATION_SCALE", "1"))
    if not value > 0:
        raise ValueError(f"PLANNER_VALIDATION_SCALE must be positive, got {value}")
    return value


def seed_base() -> int:
    """The seed set, from ``PLANNER_VALIDATION_SEED`` (default 1), as an offset on case seeds."""
    base = int(os.environ.get("PLANNER_VALIDATION_SEED", "1"))
    if base < 0:
        raise ValueError(f"PLANNER_VALIDATION_SEED must be non-negative, got {base}")
    return 1_000_000 * base


def workers() -> int:
    """Worker processes for replications: ``PLANNER_TEST_WORKERS``, else one per usable CPU."""
    env = os.environ.get("PLANNER_TEST_WORKERS")
    if env is not None:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_all(fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
    """``[fn(t) for t in tasks]``, on a process pool when more than one worker is available.

    Results come back in task order, so they do not depend on the number of workers. Put the
    longest tasks first: the pool hands them out in order.
    """
    n = min(workers(), len(tasks))
    if n <= 1:
        return [fn(t) for t in tasks]
    with ProcessPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, tasks))


# -- M/M/c ---------------------------------------------------------------------------------------


def mmc_scenario(c: int, lam: float, mu: float, horizon_days: int) -> planner.Scenario:
    """An exact M/M/c queue: ``c`` one-GPU nodes in one pod, Poisson(lam) 1-GPU jobs, Exp(mu) work.

    A job's duration is ``work / (gpus x throughput)`` = work on one H800 (throughput 1.0), so
    service is exponential with rate ``mu`` per hour. FIFO on identical servers is M/M/c.
    ``horizon_days`` is a whole number: arrivals stop at the last whole day of the horizon.
    """
    return planner.Scenario.model_validate(
        {
            "name": f"mm{c}-lam{lam:g}-mu{mu:g}",
            "start": "2025-01-01",
            "horizon_days": horizon_days,
            "regions": [{"name": "r", "gpus_per_node": 1, "pod_gpus": c}],
            "fleet": [{"model": "H800", "region": "r", "gpus": c, "acquired": "2024-12-01"}],
            "tenants": [
                {
                    "name": "t",
                    "class": "paying",
                    "models": ["H800"],
                    "workload": {
                        "arrivals": {"kind": "poisson", "per_day": HOURS_PER_DAY * lam},
                        "gpus": {"kind": "constant", "value": 1},
                        "work_gpu_h": {"kind": "exponential", "mean": 1.0 / mu},
                    },
                }
            ],
            "scheduler": {"kind": "fifo"},
        }
    )


@dataclass(frozen=True)
class MmcCase:
    """One M/M/c configuration and its replication plan.

    ``jobs`` is the nominal number of jobs per replication (before scaling and warm-up); the
    counted jobs are those submitted in the first ``count_h`` hours, ``jobs / lam`` hours.
    """

    c: int
    rho: float
    replications: int
    jobs: int
    seed: int
    mu: float = 1.0

    @property
    def lam(self) -> float:
        return self.rho * self.c * self.mu

    @property
    def count_h(self) -> float:
        return self.jobs * scale() / self.lam

    @property
    def horizon_days(self) -> int:
        return math.ceil(self.count_h / HOURS_PER_DAY) + TAIL_DAYS

    @property
    def label(self) -> str:
        return f"M/M/{self.c} rho={self.rho:g}"


@dataclass(frozen=True)
class MmcReplication:
    """One replication of an M/M/c case reduced to its per-job means after warm-up."""

    mean_wait_h: float
    p_wait: float
    jobs: int
    unstarted: int
    wall_s: float


def mmc_replication(task: tuple[MmcCase, int]) -> MmcReplication:
    """Run replication ``r`` of ``case`` and reduce it to its mean wait and fraction that waited.

    Counted jobs: submitted before ``case.count_h``, minus the earliest ``WARMUP_FRACTION`` of
    them. ``unstarted`` counts counted jobs that never started (the caller asserts it is 0).
    """
    case, r = task
    sc = mmc_scenario(case.c, case.lam, case.mu, case.horizon_days)
    res = planner.simulate(sc, seed=seed_base() + case.seed, replication=r)
    jobs = res.jobs
    submit = jobs["submit_h"].to_numpy()
    wait = jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan)
    in_window = submit < case.count_h
    counted = wait[in_window][np.argsort(submit[in_window], kind="stable")]
    counted = counted[int(WARMUP_FRACTION * len(counted)) :]
    unstarted = int(np.isnan(counted).sum())
    return MmcReplication(
        mean_wait_h=float(np.nanmean(counted)),
        p_wait=float(np.mean(counted > 0.0)),
        jobs=len(counted),
        unstarted=unstarted,
        wall_s=res.wall_s,
    )


def run_mmc_cases(cases: Sequence[MmcCase]) -> dict[MmcCase, list[MmcReplication]]:
    """Every replication of every case, on the pool, the costliest case's replications first."""
    order = sorted(cases, key=lambda k: -k.jobs * k.replications)
    tasks = [(case, r) for case in order for r in range(case.replications)]
    results = run_all(mmc_replication, tasks)
    out: dict[MmcCase, list[MmcReplication]] = {case: [] for case in cases}
    for (case, _), rep in zip(tasks, results, strict=True):
        out[case].append(rep)
    return out


# -- a mixed-size workload on a multi-node fleet -------------------------------------------------


@dataclass(frozen=True)
class MixedCase:
    """Gang-scheduled jobs of several sizes on ``gpus`` H800s in 8-GPU nodes and ``pod_gpus`` pods.

    Sizes are equally likely; work per job is exponential with mean ``work_mean_gpu_h`` whatever
    the size, so a job holds ``gpus x duration = work`` GPU-hours and the offered load is
    ``lam x E[work] / gpus``. Replications count days ``[warmup_days, days)`` and run
    ``TAIL_DAYS`` more so every counted job starts.
    """

    load: float
    replications: int
    days: int
    seed: int
    gpus: int = 64
    pod_gpus: int = 32
    sizes: tuple[int, ...] = (1, 2, 4, 8, 16)
    work_mean_gpu_h: float = 2.0

    @property
    def lam(self) -> float:
        return self.load * self.gpus / self.work_mean_gpu_h

    @property
    def count_days(self) -> int:
        return max(1, round(self.days * scale()))

    @property
    def warmup_days(self) -> int:
        return max(1, math.ceil(WARMUP_FRACTION * self.count_days))

    def scenario(self, horizon_days: int | None = None) -> planner.Scenario:
        days = self.count_days + TAIL_DAYS if horizon_days is None else horizon_days
        return planner.Scenario.model_validate(
            {
                "name": f"mixed-{self.gpus}-load{self.load:g}",
                "start": "2025-01-01",
                "horizon_days": days,
                "regions": [{"name": "r", "gpus_per_node": 8, "pod_gpus": self.pod_gpus}],
                "fleet": [
                    {"model": "H800", "region": "r", "gpus": self.gpus, "acquired": "2024-12-01"}
                ],
                "tenants": [
                    {
                        "name": "t",
                        "class": "paying",
                        "models": ["H800"],
                        "workload": {
                            "arrivals": {"kind": "poisson", "per_day": HOURS_PER_DAY * self.lam},
                            "gpus": {"kind": "choice", "values": list(self.sizes)},
                            "work_gpu_h": {"kind": "exponential", "mean": self.work_mean_gpu_h},
                        },
                    }
                ],
                "scheduler": {"kind": "fifo"},
            }
        )


@dataclass(frozen=True)
class MixedReplication:
    """One replication reduced over the counted days (time averages from ``res.timeseries``).

    ``utilisation``: GPUs busy over GPUs in service; ``queue_jobs``: jobs waiting (time
    average); ``arrival_rate``: counted submissions per hour; ``mean_wait_h``: their mean wait.
    """

    utilisation: float
    queue_jobs: float
    arrival_rate: float
    mean_wait_h: float
    p_wait: float
    jobs: int
    unstarted: int

    def little_gap(self, lam: float | None = None) -> float:
        """``L - lam W`` for the queue, zero in expectation by Little's law.

        ``lam`` is the arrival rate to use; by default the rate measured in the same window.
        """
        rate = self.arrival_rate if lam is None else lam
        return self.queue_jobs - rate * self.mean_wait_h


def mixed_replication(task: tuple[MixedCase, int]) -> MixedReplication:
    """Run replication ``r`` of ``case`` and reduce it over days ``[warmup_days, count_days)``."""
    case, r = task
    res = planner.simulate(case.scenario(), seed=seed_base() + case.seed, replication=r)
    d0, d1 = case.warmup_days, case.count_days
    ts = res.timeseries
    window = ts[(ts["day"] >= d0) & (ts["day"] < d1)]
    jobs = res.jobs
    submit = jobs["submit_h"].to_numpy()
    counted = (submit >= d0 * HOURS_PER_DAY) & (submit < d1 * HOURS_PER_DAY)
    wait = jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan)[counted]
    return MixedReplication(
        utilisation=float(window["gpus_busy"].sum() / window["gpus_in_service"].sum()),
        queue_jobs=float(window["jobs_queued"].mean()),
        arrival_rate=float(counted.sum()) / ((d1 - d0) * HOURS_PER_DAY),
        mean_wait_h=float(np.nanmean(wait)),
        p_wait=float(np.mean(wait > 0.0)),
        jobs=int(counted.sum()),
        unstarted=int(np.isnan(wait).sum()),
    )
