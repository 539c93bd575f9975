"""Reference benchmark workload: a FIFO gang-scheduling job stream on an N-GPU fleet.

Job sizes are powers of two from 1 to min(1,024, N/4) with P(2^i) proportional to 0.5^i,
durations are lognormal with mean 1 h and sigma 1, and arrivals are Poisson at offered load 0.8
(see `shared/perf-reference.md`). Every draw comes from `numpy.random.default_rng(seed)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Seed = int | np.random.SeedSequence

MAX_JOB_GPUS = 1024
OFFERED_LOAD = 0.8
DURATION_MEAN_H = 1.0
DURATION_SIGMA = 1.0
SIZE_DECAY = 0.5


@dataclass(frozen=True, slots=True, eq=False)
class Workload:
    """A drawn job stream: read-only arrays, one entry per job, sorted by submit time."""

    submit_h: FloatArray
    gpus: IntArray
    duration_h: FloatArray
    n_gpus: int

    @property
    def n_jobs(self) -> int:
        """Number of jobs in the stream."""
        return int(self.submit_h.size)

    @property
    def work_gpu_h(self) -> FloatArray:
        """Work per job in reference-GPU-hours (throughput 1.0, so duration = work / gpus)."""
        return self.gpus * self.duration_h

    @property
    def last_submit_h(self) -> float:
        """Submit time of the last job, in hours."""
        return float(self.submit_h[-1]) if self.n_jobs else 0.0


def size_classes(n_gpus: int) -> tuple[IntArray, FloatArray]:
    """Return the job sizes (powers of two up to min(1,024, N/4)) and their probabilities."""
    if n_gpus < 4:
        raise ValueError(f"fleet must have at least 4 GPUs, got {n_gpus}")
    max_gpus = min(MAX_JOB_GPUS, n_gpus // 4)
    n_classes = max_gpus.bit_length()
    exponents = np.arange(n_classes, dtype=np.int64)
    weights = SIZE_DECAY**exponents
    return (2**exponents).astype(np.int64), weights / weights.sum()


def arrival_rate_per_h(n_gpus: int, load: float = OFFERED_LOAD) -> float:
    """Return the Poisson rate that offers `load` x N GPU-hours per hour."""
    sizes, probs = size_classes(n_gpus)
    mean_gpu_h = float(sizes @ probs) * DURATION_MEAN_H
    return load * n_gpus / mean_gpu_h


def _read_only(*arrays: npt.NDArray[np.generic]) -> None:
    """Mark arrays read-only so a frozen Workload cannot be changed in place."""
    for array in arrays:
        array.flags.writeable = False


def _poisson_submit_h(rng: np.random.Generator, n_jobs: int, rate_per_h: float) -> FloatArray:
    """Return sorted Poisson arrival times in hours from 0."""
    return np.cumsum(rng.exponential(1.0 / rate_per_h, size=n_jobs))


def draw_workload(n_jobs: int, n_gpus: int, seed: Seed, load: float = OFFERED_LOAD) -> Workload:
    """Draw the reference workload of `n_jobs` jobs for an `n_gpus` fleet."""
    rng = np.random.default_rng(seed)
    sizes, probs = size_classes(n_gpus)
    gpus = rng.choice(sizes, size=n_jobs, p=probs).astype(np.int64)
    mu = np.log(DURATION_MEAN_H) - DURATION_SIGMA**2 / 2
    duration_h = rng.lognormal(mean=mu, sigma=DURATION_SIGMA, size=n_jobs)
    submit_h = _poisson_submit_h(rng, n_jobs, arrival_rate_per_h(n_gpus, load))
    _read_only(submit_h, gpus, duration_h)
    return Workload(submit_h=submit_h, gpus=gpus, duration_h=duration_h, n_gpus=n_gpus)


def draw_mmc_workload(n_jobs: int, servers: int, load: float, seed: Seed) -> Workload:
    """Draw an M/M/c stream: 1-GPU jobs, exponential service of mean 1 h, utilisation `load`."""
    rng = np.random.default_rng(seed)
    gpus = np.ones(n_jobs, dtype=np.int64)
    duration_h = rng.exponential(DURATION_MEAN_H, size=n_jobs)
    submit_h = _poisson_submit_h(rng, n_jobs, load * servers / DURATION_MEAN_H)
    _read_only(submit_h, gpus, duration_h)
    return Workload(submit_h=submit_h, gpus=gpus, duration_h=duration_h, n_gpus=servers)
