"""Fit a synthetic workload to a trace: arrivals, sizes and work, with a report of how well
each part matches.

- Arrivals (``kind: bursty``): by default a profile over windows of a week: the trace's
  arrival rate in each window as a factor on its mean rate, hyperexponential gaps inside a
  window with the CV the trace's gaps have once its rate changes are taken out, and each
  window's mean work per job as a factor on the work. Replaying Philly showed its queue is
  built by weeks of heavy arrivals of long jobs, which a steady process with the same gaps'
  mean and CV does not reproduce (docs/validation.md). Shorter windows follow the trace more
  closely but leave fewer jobs per window to estimate from. ``window_h=None`` fits the steady
  process, which matches the whole trace's mean rate and gap CV exactly.
- Sizes: the trace's empirical mix of GPU counts (``kind: choice``).
- Work, in GPU-hours (run time x GPUs on the reference model), one of:
  - ``empirical`` (default): the sorted work cut into ``bins`` equal-count bins, each drawn
    with its share of the jobs as its own mean. It keeps the mean (to the six digits written)
    and the tail to within one bin. By default this is done for each GPU count apart
    (``kind: by_gpus``), because large jobs also run long: drawn apart from size, the same
    work on Philly offers two thirds of the load to the GPUs it should;
  - ``lognormal``: fitted by maximum likelihood on the logs, capped at the largest job, over
    all sizes. With traces as heavy-tailed as these it understates the mean (Philly: by half),
    so the load. The report gives the Kolmogorov-Smirnov distance of the logs.
  How well the work fits is reported as quantiles and the mean side by side, and the load as
  GPU-hours a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from planner.catalog import gpu_model
from planner.model.demand import bursty_arrivals
from planner.scenario.schema import BurstyArrivals, RateProfile
from planner.traces.generic import Trace
from planner.wording import counted

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
    profile: dict[str, Any] | None = None

    def workload(self) -> dict[str, Any]:
        """The ``workload`` block to paste into a tenant of a scenario."""
        arrivals: dict[str, Any] = {
            "kind": "bursty",
            "per_day": round(self.per_day, 3),
            "cv": round(max(self.cv, 1.0), 3),
        }
        if self.profile is not None:
            arrivals["rate_profile"] = self.profile
        return {
            "arrivals": arrivals,
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
    by_gpus: bool = True,
    window_h: float | None = 168.0,
    work_profile: bool = True,
    min_duration_s: float = 1.0,
) -> Fit:
    """Fit arrivals, sizes and work to ``trace`` (run times taken as on ``reference_model``)."""
    jobs = trace.jobs.sort_values("submit_s", kind="stable")
    if len(jobs) < 3:
        has = counted(len(jobs), "job")
        raise ValueError(f"{trace.name}: a fit needs at least 3 jobs, the trace has {has}")
    if work_model not in ("empirical", "lognormal"):
        raise ValueError(f"work_model is 'empirical' or 'lognormal', not {work_model!r}")
    if window_h is not None and window_h <= 0:
        raise ValueError(f"window_h must be positive, not {window_h}")
    submit_h = jobs["submit_s"].to_numpy(dtype=float) / 3600.0
    span_h = float(submit_h[-1] - submit_h[0])
    if span_h <= 0:
        raise ValueError(f"{trace.name}: every job arrives at the same time; no rate to fit")
    gpus = jobs["gpus"].to_numpy(dtype=np.int64)
    values, counts = np.unique(gpus, return_counts=True)
    sizes = {int(v): float(c) / len(gpus) for v, c in zip(values, counts, strict=True)}
    duration_h = np.maximum(jobs["duration_s"].to_numpy(dtype=float), min_duration_s) / 3600.0
    work = duration_h * gpus * gpu_model(reference_model).throughput

    per_day, cv, profile = _arrivals(submit_h, window_h)
    if window_h is not None and profile is not None and work_profile:
        profile["work_factors"] = _work_factors(submit_h, work, window_h)
    model_gaps = _model_gaps(per_day, cv, profile, span_h)
    if work_model == "empirical":
        if by_gpus:
            spec: dict[str, Any] = {
                "kind": "by_gpus",
                "by_gpus": {size: _bins(work[gpus == size], bins) for size in sizes},
            }
        else:
            spec = _bins(work, bins)
        atoms, weights = _atoms(spec, sizes)
        cumulative = np.cumsum(weights)
        model_q = [float(atoms[np.searchsorted(cumulative, q)]) for q in QUANTILES]
        model_mean, fit_ks = float(atoms @ weights), math.nan
    else:
        logs = np.log(work)
        mu, sigma = float(logs.mean()), float(logs.std())
        cap = float(work.max())
        spec = {
            "kind": "lognormal",
            "median": round(math.exp(mu), 4),
            "sigma": round(sigma, 4),
            "max": round(cap, 2),
        }
        model = stats.lognorm(s=sigma, scale=math.exp(mu))
        model_q = [min(float(model.ppf(q)), cap) for q in QUANTILES]
        model_mean = float(model.expect(lambda x: np.minimum(x, cap)))
        fit_ks = float(stats.kstest(logs, "norm", args=(mu, sigma)).statistic)
    trace_gaps = np.diff(submit_h)
    rows = [
        ("jobs per day", (len(submit_h) - 1) / span_h * HOURS_PER_DAY, per_day),
        ("inter-arrival CV", _cv(trace_gaps), _cv(model_gaps)),
        ("inter-arrival CV at a steady rate", cv, max(cv, 1.0)),
        ("mean GPUs per job", float(gpus.mean()), float(sum(v * w for v, w in sizes.items()))),
        *(
            (f"work p{round(q * 100)}, GPU-h", float(np.quantile(work, q)), m)
            for q, m in zip(QUANTILES, model_q, strict=True)
        ),
        ("work mean, GPU-h", float(work.mean()), model_mean),
        # Work factors average 1 over the jobs, so they leave the GPU-hours a day unchanged.
        ("work, GPU-h a day", float(work.sum()) / span_h * HOURS_PER_DAY, per_day * model_mean),
        ("KS distance, log work (lognormal)", math.nan, fit_ks),
    ]
    report = pd.DataFrame(rows, columns=["quantity", "trace", "model"])
    return Fit(per_day, cv, sizes, spec, report, profile)


def _arrivals(
    submit_h: NDArray[np.float64], window_h: float | None
) -> tuple[float, float, dict[str, Any] | None]:
    """Mean rate a day, the gaps' CV at a steady rate, and the rate profile (if windowed).

    With a profile, each gap is measured in operational time (hours x the window's rate
    factor), which takes the rate's changes out of the gaps before their CV is taken."""
    since_h = submit_h - submit_h[0]
    span_h = float(since_h[-1])
    if window_h is None:
        return (len(since_h) - 1) / span_h * HOURS_PER_DAY, _cv(np.diff(since_h)), None
    window, covered_h = _windows(since_h, window_h)
    counts = np.bincount(window, minlength=len(covered_h)).astype(float)
    # The mean rate is over the whole span, so a short last window weighs as little as it
    # lasts, and the expected count over the span is the trace's.
    mean_rate = counts.sum() / covered_h.sum()
    factors = counts / covered_h / mean_rate
    edges_u = np.concatenate(([0.0], np.cumsum(factors * window_h)))
    u = edges_u[window] + (since_h - window * window_h) * factors[window]
    profile = {"window_h": window_h, "factors": [round(float(f), 4) for f in factors]}
    return float(mean_rate) * HOURS_PER_DAY, _cv(np.diff(u)), profile


def _model_gaps(
    per_day: float, cv: float, profile: dict[str, Any] | None, span_h: float
) -> NDArray[np.float64]:
    """Gaps of one draw of the fitted arrivals over the trace's span, for the report only."""
    spec = BurstyArrivals(
        per_day=per_day,
        cv=max(cv, 1.0),
        rate_profile=None if profile is None else RateProfile(**profile),
    )
    return np.diff(bursty_arrivals(spec, 0.0, span_h, np.random.default_rng(0)))


def _cv(gaps: NDArray[np.float64]) -> float:
    return float(gaps.std() / gaps.mean()) if len(gaps) > 1 and gaps.mean() > 0 else math.nan


def _bins(work: NDArray[np.float64], bins: int) -> dict[str, Any]:
    """Equal-count bins of the sorted work, each drawn at its own mean."""
    parts = [part for part in np.array_split(np.sort(work), min(bins, len(work))) if len(part)]
    return {
        "kind": "choice",
        "values": [float(f"{part.mean():.6g}") for part in parts],
        "weights": [round(len(part) / len(work), 6) for part in parts],
    }


def _atoms(
    spec: dict[str, Any], sizes: dict[int, float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The fitted work's atoms and their probabilities over all jobs, sorted by value."""
    if spec["kind"] == "by_gpus":
        parts = [_atoms(spec["by_gpus"][size], sizes) for size in sizes]
        shares = [sizes[size] for size in sizes]
        atoms = np.concatenate([a for a, _ in parts])
        weights = np.concatenate([w * share for (_, w), share in zip(parts, shares, strict=True)])
    else:
        atoms = np.asarray(spec["values"], dtype=float)
        weights = np.asarray(spec["weights"], dtype=float)
    order = np.argsort(atoms, kind="stable")
    return atoms[order], weights[order] / weights.sum()


def _windows(
    since_h: NDArray[np.float64], window_h: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each time's window from the first, and each window's length (the last may be short)."""
    span_h = float(since_h[-1])
    n_windows = max(1, math.ceil(span_h / window_h))
    window = np.minimum((since_h // window_h).astype(np.int64), n_windows - 1)
    covered_h = np.full(n_windows, window_h)
    covered_h[-1] = span_h - window_h * (n_windows - 1) or window_h
    return window, covered_h


def _work_factors(
    submit_h: NDArray[np.float64], work: NDArray[np.float64], window_h: float
) -> list[float]:
    """Each window's mean work per job over the whole trace's (1 where a window has no jobs):
    the heavy weeks of a trace bring its longest, largest jobs, not just more jobs."""
    window, covered_h = _windows(submit_h - submit_h[0], window_h)
    counts = np.bincount(window, minlength=len(covered_h))
    sums = np.bincount(window, weights=work, minlength=len(covered_h))
    means = np.divide(sums, counts, out=np.full(len(covered_h), work.mean()), where=counts > 0)
    return [round(float(f), 4) for f in means / work.mean()]
