"""Naive SimPy references: one process per job, the fleet as a `simpy.Container` of GPUs.

`Container.get` serves its queue in strict FIFO order with head-of-line blocking, so both models
are a FIFO gang scheduler with no placement: any `gpus` free GPUs will do. They differ only in
how a job's process comes to exist:

- *upfront* (the perf-reference model): every job's process is created before `env.run()`; each
  first sleeps `env.timeout(submit_h)`, then takes its GPUs. Every job costs a process start,
  two timeouts, a get and a put, and all the processes sit in SimPy's event queue from time 0.
- *source*: one source process sleeps until each submit time and only then starts that job's
  process. The event queue stays short, so SimPy's heap operations are cheaper: this is the
  stronger (faster) of the two.

Both record a job's wait as its start time minus the time its process saw it arrive, and give
bit-identical waits on the same workload (`python -m benchmarks.run --selfcheck` checks it).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np
import simpy

from benchmarks.workload import FloatArray, Workload

ProcessGen = Generator[simpy.Event, object, None]


@dataclass(frozen=True, slots=True, eq=False)
class NaiveModel:
    """A built, not yet run, naive model: environment, GPU container, workload, wait buffer."""

    env: simpy.Environment
    fleet: simpy.Container
    workload: Workload
    wait_h: array[float]


def build_naive(workload: Workload) -> NaiveModel:
    """Build the environment, the full GPU container and a NaN-filled wait buffer."""
    env = simpy.Environment()
    fleet = simpy.Container(env, capacity=workload.n_gpus, init=workload.n_gpus)
    wait_h = array("d", [math.nan]) * workload.n_jobs
    return NaiveModel(env=env, fleet=fleet, workload=workload, wait_h=wait_h)


def naive_waits(model: NaiveModel) -> FloatArray:
    """Return the per-job waits in hours of a model that has run (NaN for unstarted jobs)."""
    return np.frombuffer(model.wait_h, dtype=np.float64).copy()


def _job_rows(workload: Workload) -> Iterator[tuple[int, tuple[float, int, float]]]:
    """Yield (index, (submit_h, gpus, duration_h)) as Python scalars, in submit order."""
    rows = zip(
        memoryview(workload.submit_h),
        memoryview(workload.gpus),
        memoryview(workload.duration_h),
        strict=True,
    )
    return enumerate(rows)


def _hold(
    env: simpy.Environment,
    fleet: simpy.Container,
    index: int,
    gpus: int,
    duration_h: float,
    wait_h: array[float],
) -> ProcessGen:
    """Take `gpus` GPUs (FIFO), hold them for `duration_h`, give them back; record the wait."""
    arrived_h = env.now
    yield fleet.get(gpus)
    wait_h[index] = env.now - arrived_h
    yield env.timeout(duration_h)
    yield fleet.put(gpus)


# -- upfront: every job process exists from time 0 ----------------------------------------------


def _upfront_job(
    env: simpy.Environment,
    fleet: simpy.Container,
    index: int,
    job: tuple[float, int, float],
    wait_h: array[float],
) -> ProcessGen:
    """Sleep until the job's submit time, then run it as `_hold` does.

    Written out flat rather than `yield from _hold(...)`, so the model pays for no delegation.
    """
    submit_h, gpus, duration_h = job
    yield env.timeout(submit_h)
    arrived_h = env.now
    yield fleet.get(gpus)
    wait_h[index] = env.now - arrived_h
    yield env.timeout(duration_h)
    yield fleet.put(gpus)


def run_naive_upfront(model: NaiveModel) -> NaiveModel:
    """Create one process per job, then run until every job has finished.

    Creating the processes is timed with the run: it is this model's way of scheduling the
    arrivals, which the source model (and the planner) do inside the run.
    """
    env, fleet, wait_h = model.env, model.fleet, model.wait_h
    for index, job in _job_rows(model.workload):
        env.process(_upfront_job(env, fleet, index, job, wait_h))
    env.run()
    return model


# -- source: a process starts each job's process at its submit time -----------------------------


def _source(env: simpy.Environment, fleet: simpy.Container, model: NaiveModel) -> ProcessGen:
    """Start one job process at each job's submit time."""
    wait_h = model.wait_h
    for index, (submit_h, gpus, duration_h) in _job_rows(model.workload):
        yield env.timeout(max(0.0, submit_h - env.now))
        env.process(_hold(env, fleet, index, gpus, duration_h, wait_h))


def run_naive_source(model: NaiveModel) -> NaiveModel:
    """Start the source process and run until every job has finished."""
    model.env.process(_source(model.env, model.fleet, model))
    model.env.run()
    return model


def simulate_naive_upfront(workload: Workload) -> FloatArray:
    """Simulate `workload` on the upfront model; return the per-job waits in hours."""
    return naive_waits(run_naive_upfront(build_naive(workload)))


def simulate_naive_source(workload: Workload) -> FloatArray:
    """Simulate `workload` on the source model; return the per-job waits in hours."""
    return naive_waits(run_naive_source(build_naive(workload)))
