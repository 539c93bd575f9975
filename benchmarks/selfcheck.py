"""Correctness checks of the naive references, run by `python -m benchmarks.run --selfcheck`.

1. Both naive models give bit-identical waits (`np.array_equal`) on the benchmark workload and
   on M/M/c streams.
2. With 1-GPU jobs and exponential service they are M/M/c, so their mean wait must bracket the
   Erlang C value.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from benchmarks.naive_simpy import simulate_naive_source, simulate_naive_upfront
from benchmarks.workload import FloatArray, Workload, draw_mmc_workload, draw_workload

MMC_JOBS = 100_000
MMC_WARMUP = 5_000
GANG_SIZES = ((100_000, 4096), (100_000, 512))


def erlang_c_wait_h(servers: int, load: float, service_mean_h: float = 1.0) -> float:
    """Return the M/M/c mean wait in queue (Erlang C) at utilisation `load`."""
    offered = servers * load
    term = 1.0
    below_c = 0.0
    for k in range(servers):
        below_c += term
        term *= offered / (k + 1)
    tail = term / (1.0 - load)
    p_wait = tail / (below_c + tail)
    return p_wait * service_mean_h / (servers * (1.0 - load))


def both_naive(workload: Workload) -> tuple[FloatArray, FloatArray, bool]:
    """Run both naive models on `workload`; return both waits and whether they are equal."""
    upfront = simulate_naive_upfront(workload)
    source = simulate_naive_source(workload)
    return upfront, source, bool(np.array_equal(upfront, source))


def check_gang(seed: int) -> list[str]:
    """Compare the two naive models' waits on the benchmark workload at a few sizes."""
    lines = []
    for n_jobs, n_gpus in GANG_SIZES:
        upfront, _, same = both_naive(draw_workload(n_jobs, n_gpus, seed))
        verdict = "identical" if same else "DIFFERENT"
        lines.append(
            f"  gang workload {n_jobs:,} jobs on {n_gpus:,} GPUs: naive_upfront and naive_source"
            f" waits {verdict} (np.array_equal); mean wait {upfront.mean():.4f} h"
        )
    return lines


def check_mmc(seed: int, servers: int = 8, load: float = 0.8, reps: int = 8) -> list[str]:
    """Compare both naive models' M/M/c mean wait, with a 95% interval, with Erlang C."""
    from scipy import stats

    means, all_same = [], True
    for child in np.random.SeedSequence(seed).spawn(reps):
        upfront, _, same = both_naive(draw_mmc_workload(MMC_JOBS, servers, load, child))
        all_same = all_same and same
        means.append(float(upfront[MMC_WARMUP:].mean()))
    mean = statistics.fmean(means)
    half = stats.t.ppf(0.975, reps - 1) * statistics.stdev(means) / math.sqrt(reps)
    theory = erlang_c_wait_h(servers, load)
    inside = "inside" if abs(mean - theory) <= half else "OUTSIDE"
    return [
        f"  M/M/{servers}, rho={load}, {reps} reps x {MMC_JOBS:,} jobs, first {MMC_WARMUP:,}"
        f" dropped: naive_upfront and naive_source waits"
        f" {'identical' if all_same else 'DIFFERENT'} in every rep",
        f"  naive mean wait {mean:.4f} h +/- {half:.4f} (95%)",
        f"  Erlang C        {theory:.4f} h  -> {inside} the interval,"
        f" relative error {abs(mean - theory) / theory:.1%}",
    ]


def selfcheck(seed: int) -> str:
    """Run every check; return the report as text."""
    return "\n".join(["naive SimPy self-check", *check_gang(seed), *check_mmc(seed)])
