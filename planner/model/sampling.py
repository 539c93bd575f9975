"""Vectorised draws from the scenario's distribution specifications."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.scenario.distributions import (
    Choice,
    Constant,
    Distribution,
    Exponential,
    Lognormal,
    Uniform,
    WorkByGpus,
    WorkDistribution,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def draw(dist: Distribution, rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` independent draws of ``dist`` (clipped at its ``max`` where it has one)."""
    match dist:
        case Constant():
            return np.full(n, dist.value, dtype=np.float64)
        case Exponential():
            values = rng.exponential(dist.mean_value, n)
        case Lognormal():
            values = rng.lognormal(dist.mu, dist.sigma, n)
        case Choice():
            values = rng.choice(
                np.asarray(dist.values, dtype=np.float64), size=n, p=dist.probabilities()
            )
        case Uniform():
            values = rng.uniform(dist.low, dist.high, n)
    if dist.kind in ("exponential", "lognormal") and dist.upper_bound() < np.inf:
        values = np.minimum(values, dist.upper_bound())
    return np.asarray(values, dtype=np.float64)


def draw_sizes(dist: Distribution, rng: np.random.Generator, n: int) -> IntArray:
    """GPU counts as asked for: whole GPUs (uniform: integers low..high), at least one."""
    if isinstance(dist, Uniform):
        gpus = rng.integers(int(np.ceil(dist.low)), int(np.floor(dist.high)) + 1, n)
    else:
        gpus = np.ceil(draw(dist, rng, n)).astype(np.int64)
    return np.maximum(gpus, 1).astype(np.int64)


def whole_nodes_array(gpus: IntArray, node_gpus: int) -> IntArray:
    """A job larger than one node holds whole nodes."""
    multi = gpus > node_gpus
    return np.where(multi, -(-gpus // node_gpus) * node_gpus, gpus).astype(np.int64)


def draw_work(dist: WorkDistribution, sizes: IntArray, rng: np.random.Generator) -> FloatArray:
    """Work per job; ``by_gpus`` draws each size's jobs from that size's distribution."""
    if not isinstance(dist, WorkByGpus):
        return draw(dist, rng, len(sizes))
    work = np.empty(len(sizes), dtype=np.float64)
    for size, size_dist in sorted(dist.by_gpus.items()):
        mine = sizes == size
        work[mine] = draw(size_dist, rng, int(mine.sum()))
    return work
