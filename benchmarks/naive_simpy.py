"""Naive SimPy reference: one process per job, the fleet as a `simpy.Container` of GPUs.

`Container.get` serves its queue in strict FIFO order with head-of-line blocking, so this is a
FIFO gang scheduler with no placement: any `gpus` free GPUs will do.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import simpy

from benchmarks.workload import FloatArray, Workload

ProcessGen = Generator[simpy.Event, object, None]


@dataclass(frozen=True, slots=True, eq=False)
class NaiveModel:
    """A built, not yet run, naive model: the environment and the buffer the jobs fill."""

    env: simpy.Environment
    wait_h: array[float]


def _job(
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


def _arrivals(
    env: simpy.Environment,
    fleet: simpy.Container,
    workload: Workload,
    wait_h: array[float],
) -> ProcessGen:
    """Start one job process at each job's submit time, reading the arrays as Python scalars."""
    jobs = zip(
        memoryview(workload.submit_h),
        memoryview(workload.gpus),
        memoryview(workload.duration_h),
        strict=True,
    )
    for index, (submit_h, gpus, duration_h) in enumerate(jobs):
        yield env.timeout(max(0.0, submit_h - env.now))
        env.process(_job(env, fleet, index, gpus, duration_h, wait_h))


def build_naive(workload: Workload) -> NaiveModel:
    """Build the environment, the GPU container and the arrival process for `workload`."""
    env = simpy.Environment()
    fleet = simpy.Container(env, capacity=workload.n_gpus, init=workload.n_gpus)
    wait_h = array("d", bytes(8 * workload.n_jobs))
    env.process(_arrivals(env, fleet, workload, wait_h))
    return NaiveModel(env=env, wait_h=wait_h)


def run_naive(model: NaiveModel) -> FloatArray:
    """Run the model until every job has finished; return the per-job waits in hours."""
    model.env.run()
    return np.frombuffer(model.wait_h, dtype=np.float64).copy()


def simulate_naive(workload: Workload) -> FloatArray:
    """Simulate `workload` on the naive model; return the per-job waits in hours."""
    return run_naive(build_naive(workload))
