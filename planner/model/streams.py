"""Named random streams: one independent generator per source of randomness.

A stream's seed depends only on the run's seed and the stream's name, so adding a tenant or
changing the fleet does not shift any other source's draws (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Factory of ``numpy.random.Generator`` objects keyed by name, for one replication."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = seed
        self.replication = replication

    def get(self, name: str) -> np.random.Generator:
        """A fresh generator for ``name``; the same name always yields the same sequence."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.replication, key]))
