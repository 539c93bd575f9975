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


def draw_gpus(dist: Distribution, rng: np.random.Generator, n: int, node_gpus: int) -> IntArray:
    """GPU counts: whole GPUs (uniform: integers low..high), multi-node jobs in whole nodes."""
    if isinstance(dist, Uniform):
        gpus = rng.integers(int(np.ceil(dist.low)), int(np.floor(dist.high)) + 1, n)
    else:
        gpus = np.ceil(draw(dist, rng, n)).astype(np.int64)
    gpus = np.maximum(gpus, 1)
    multi = gpus > node_gpus
    gpus[multi] = -(-gpus[multi] // node_gpus) * node_gpus
    return gpus.astype(np.int64)
