"""Statistics for simulation output: confidence intervals across independent replications.

A simulation run is one sample path, and observations within a run (one job's wait, the next
job's wait) are correlated, so a standard error computed from them is wrong. Instead each
replication, run with its own seed, is reduced to one number (a mean wait, a fraction of jobs
that waited, a utilisation), and the interval is formed across replications. The replications
are independent by construction (each seed gives independent random streams), and by the central
limit theorem their means are approximately normal when each run is long, which is what the
Student t interval needs. A proportion measured per replication (say, the fraction of jobs that
waited) is such a mean too, so it takes the same interval; no separate binomial interval is
needed or correct here, because the indicators within a run are not independent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _scipy_stats

__all__ = ["Interval", "mean_ci", "time_average"]


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval ``[low, high]`` around ``mean`` from ``n`` samples.

    ``level`` is the nominal coverage, e.g. 0.95.
    """

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        """Half the interval's width (``high - mean`` for a symmetric interval)."""
        return (self.high - self.low) / 2.0

    @property
    def relative_half_width(self) -> float:
        """``half_width / |mean|``: the precision as a fraction of the estimate (inf at 0)."""
        return self.half_width / abs(self.mean) if self.mean else math.inf

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the closed interval ``[low, high]``."""
        return self.low <= x <= self.high

    def __str__(self) -> str:
        return (
            f"{self.mean:.6g} ± {self.half_width:.3g} "
            f"({self.level:.0%} CI [{self.low:.6g}, {self.high:.6g}], n={self.n})"
        )


def mean_ci(samples: Iterable[float], level: float = 0.95) -> Interval:
    """Student t confidence interval for the mean of independent samples.

    The interval is ``mean ± t_{(1+level)/2, n-1} · s / sqrt(n)`` with ``s`` the sample standard
    deviation (``ddof=1``).

    Assumptions, which the caller is responsible for:

    * the samples are independent, e.g. one summary per replication with distinct seeds, never
      individual jobs from one run (those are autocorrelated and give far too narrow intervals);
    * each sample is approximately normal, which holds for means over long enough runs by the
      central limit theorem; with few replications a skewed per-replication statistic
      (e.g. mean wait near saturation) undercovers.

    At least two finite samples are needed. If every sample is equal the interval has zero width.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    # Lists, generators and pandas Series are materialised first; arrays are used as they are.
    values = np.asarray(
        samples if isinstance(samples, np.ndarray) else list(samples), dtype=float
    ).ravel()
    n = int(values.size)
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 samples, got {n}")
    if not np.all(np.isfinite(values)):
        raise ValueError("samples must be finite (no NaN or inf)")
    mean = float(values.mean())
    std_error = float(values.std(ddof=1)) / math.sqrt(n)
    t = float(_scipy_stats.t.ppf(0.5 + level / 2.0, df=n - 1))
    half = t * std_error
    return Interval(mean=mean, low=mean - half, high=mean + half, n=n, level=level)


def time_average(
    times: ArrayLike, values: ArrayLike, t_end: float, t_start: float | None = None
) -> float:
    """Time average over ``[t_start, t_end]`` of a piecewise-constant level.

    ``values[k]`` holds from ``times[k]`` until ``times[k + 1]`` (the last until ``t_end``);
    ``times`` must be non-decreasing. ``t_start`` defaults to ``times[0]``; the level before
    ``times[0]`` is taken as 0. Parts of the path outside the window are ignored.
    """
    t: NDArray[np.float64] = np.asarray(times, dtype=float).ravel()
    v: NDArray[np.float64] = np.asarray(values, dtype=float).ravel()
    if t.size != v.size:
        raise ValueError(f"times and values differ in length: {t.size} != {v.size}")
    if t.size == 0:
        raise ValueError("need at least one (time, value) point")
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be non-decreasing")
    start = float(t[0]) if t_start is None else float(t_start)
    if not t_end > start:
        raise ValueError(f"t_end ({t_end!r}) must be after t_start ({start!r})")
    # Segment k is [times[k], times[k+1]); clipping each to the window drops what lies outside,
    # so a window opening before times[0] sees level 0 there.
    edges = np.concatenate([t, [np.inf]])
    lo = np.clip(edges[:-1], start, t_end)
    hi = np.clip(edges[1:], start, t_end)
    area = float(np.sum(v * (hi - lo)))
    return area / (t_end - start)
