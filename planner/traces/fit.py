"""Fit a synthetic workload to a trace: a size mix, a heavy-tailed work model and bursty
arrivals, with a report of how well each part matches.

- Arrivals: a renewal process with the trace's mean rate and inter-arrival coefficient of
  variation (``kind: bursty``, hyperexponential gaps). It matches those two moments exactly,
  not the correlation between gaps.
- Sizes: the trace's empirical mix of GPU counts (``kind: choice``).
- Work, in GPU-hours (run time x GPUs on the reference model), one of:
  - ``empirical`` (default): the sorted work cut into ``bins`` equal-count bins, each drawn
    with its share of the jobs as its own mean. It keeps the mean (to the six digits written)
    and the tail to within one bin (the top bin is the top 1/bins of jobs);
  - ``lognormal``: fitted by maximum likelihood on the logs, capped at the largest job. With
    traces as heavy-tailed as these it understates the mean (Philly: by half), so the load.
  How well it fits is reported as quantiles and the mean side by side, with the
  Kolmogorov-Smirnov distance of the logs for the lognormal. Work is drawn apart from size,
  so their correlation is lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from planner.catalog import gpu_model
from planner.traces.generic import Trace

HOURS_PER_DAY = 24.0
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Fit:
    """A fitted workload (``workload()`` gives the scenario block) and its report."""

    per_day: float
    cv: float
    sizes: dict[int, float]
    work: dict[str, Any]
    report: pd.DataFrame

    def workload(self) -> dict[str, Any]:
        """The ``workload`` block to paste into a tenant of a scenario."""
        return {
            "arrivals": {
                "kind": "bursty",
                "per_day": round(self.per_day, 3),
                "cv": round(max(self.cv, 1.0), 3),
            },
            "gpus": {
                "kind": "choice",
                "values": list(self.sizes),
                "weights": [round(w, 6) for w in self.sizes.values()],
            },
            "work_gpu_h": self.work,
        }


def fit_trace(
    trace: Trace,
    reference_model: str = "H800",
    *,
    work_model: str = "empirical",
    bins: int = 100,
    min_duration_s: float = 1.0,
) -> Fit:
    """Fit arrivals, sizes and work to ``trace`` (run times taken as on ``reference_model``)."""
    jobs = trace.jobs
    if len(jobs) < 3:
        raise ValueError(f"{trace.name}: a fit needs at least 3 jobs, the trace has {len(jobs)}")
    if work_model not in ("empirical", "lognormal"):
        raise ValueError(f"work_model is 'empirical' or 'lognormal', not {work_model!r}")
    submit_h = np.sort(jobs["submit_s"].to_numpy(dtype=float)) / 3600.0
    gaps = np.diff(submit_h)
    span_h = float(submit_h[-1] - submit_h[0])
    if span_h <= 0:
        raise ValueError(f"{trace.name}: every job arrives at the same time; no rate to fit")
    per_day = (len(submit_h) - 1) / span_h * HOURS_PER_DAY
    cv = float(gaps.std() / gaps.mean())
    gpus = jobs["gpus"].to_numpy(dtype=np.int64)
    values, counts = np.unique(gpus, return_counts=True)
    sizes = {int(v): float(c) / len(gpus) for v, c in zip(values, counts, strict=True)}
    duration_h = np.maximum(jobs["duration_s"].to_numpy(dtype=float), min_duration_s) / 3600.0
    work = duration_h * gpus * gpu_model(reference_model).throughput
    logs = np.log(work)
    mu, sigma = float(logs.mean()), float(logs.std())
    ks = float(stats.kstest(logs, "norm", args=(mu, sigma)).statistic)
    if work_model == "empirical":
        parts = [part for part in np.array_split(np.sort(work), bins) if len(part)]
        atoms = np.array([float(f"{part.mean():.6g}") for part in parts])
        weights = np.array([len(part) for part in parts], dtype=float) / len(work)
        spec: dict[str, Any] = {
            "kind": "choice",
            "values": atoms.tolist(),
            "weights": [round(float(w), 6) for w in weights],
        }
        cumulative = np.cumsum(weights)
        model_q = [float(atoms[np.searchsorted(cumulative, q)]) for q in QUANTILES]
        model_mean, fit_ks = float(atoms @ weights), math.nan
    else:
        cap = float(work.max())
        spec = {
            "kind": "lognormal",
            "median": round(math.exp(mu), 4),
            "sigma": round(sigma, 4),
            "max": round(cap, 2),
        }
        model = stats.lognorm(s=sigma, scale=math.exp(mu))
        model_q = [min(float(model.ppf(q)), cap) for q in QUANTILES]
        model_mean, fit_ks = float(model.expect(lambda x: np.minimum(x, cap))), ks
    rows = [
        ("jobs per day", per_day, per_day),
        ("inter-arrival CV", cv, max(cv, 1.0)),
        ("mean GPUs per job", float(gpus.mean()), float(sum(v * w for v, w in sizes.items()))),
        *(
            (f"work p{round(q * 100)}, GPU-h", float(np.quantile(work, q)), m)
            for q, m in zip(QUANTILES, model_q, strict=True)
        ),
        ("work mean, GPU-h", float(work.mean()), model_mean),
        ("KS distance, log work (lognormal)", math.nan, fit_ks),
    ]
    report = pd.DataFrame(rows, columns=["quantity", "trace", "model"])
    return Fit(per_day, cv, sizes, spec, report)
