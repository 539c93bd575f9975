"""Demand: every job the tenants would submit over the horizon, drawn up front as arrays.

Drawing the whole workload before the run keeps the event loop free of random draws and lets a
caller (a benchmark, a trace replay) hand in a job table of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.errors import RUNNING, Problem, ScenarioError
from planner.model.market import Market, PriceCurve
from planner.model.sampling import draw_sizes, draw_work, whole_nodes_array
from planner.model.streams import Streams
from planner.scenario.checks import MAX_EXPECTED_JOBS, largest_pod_gpus, whole_nodes
from planner.scenario.schema import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    BurstyArrivals,
    Poisson,
    Scenario,
    Tenant,
    TraceArrivals,
)

NO_CAMPAIGN = -1


@dataclass(frozen=True)
class JobBatch:
    """Jobs as parallel arrays, sorted by submit time; a job's id is its index.

    ``tenant`` indexes ``Scenario.tenants``; ``campaign`` indexes ``campaign_names`` (or is -1
    for jobs of a tenant's workload); ``keep_u`` is a uniform draw per job used to thin a
    tenant's submissions when it shrinks.
    """

    submit_h: NDArray[np.float64]
    tenant: NDArray[np.int64]
    gpus: NDArray[np.int64]
    work_gpu_h: NDArray[np.float64]
    campaign: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    keep_u: NDArray[np.float64] = field(default_factory=lambda: np.empty(0, np.float64))
    campaign_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.submit_h)
        if len(self.campaign) == 0 and n:
            object.__setattr__(self, "campaign", np.full(n, NO_CAMPAIGN, np.int64))
        if len(self.keep_u) == 0 and n:
            object.__setattr__(self, "keep_u", np.zeros(n, np.float64))
        arrays = (self.tenant, self.gpus, self.work_gpu_h, self.campaign, self.keep_u)
        if any(len(a) != n for a in arrays):
            raise ValueError("every JobBatch array must have one entry per job")
        if n and np.any(np.diff(self.submit_h) < 0):
            raise ValueError("JobBatch.submit_h must be sorted ascending")
        if n and (np.any(self.gpus < 1) or np.any(self.work_gpu_h <= 0)):
            raise ValueError("every job needs at least one GPU and positive work")

    def __len__(self) -> int:
        return len(self.submit_h)


def check_jobs(sc: Scenario, jobs: JobBatch) -> None:
    """Reject a caller's job table with jobs the scenario could never run.

    Generated workloads are checked when the scenario is validated; a job table handed in
    directly (a benchmark, a trace) gets the same checks here, so no job blocks a queue forever.
    """
    problems = []
    tenants = len(sc.tenants)
    bad_tenant = np.flatnonzero((jobs.tenant < 0) | (jobs.tenant >= tenants))
    if len(bad_tenant):
        problems.append(
            Problem(f"jobs[{bad_tenant[0]}].tenant", f"is not a tenant index (0..{tenants - 1})")
        )
    else:
        for i, tenant in enumerate(sc.tenants):
            capacity, _ = largest_pod_gpus(sc, tenant)
            node = sc.node_gpus(tenant)
            gpus = jobs.gpus[jobs.tenant == i]
            held = np.where(gpus > node, -(-gpus // node) * node, gpus)
            too_big = np.flatnonzero(jobs.tenant == i)[held > capacity]
            if len(too_big):
                j = too_big[0]
                problems.append(
                    Problem(
                        f"jobs[{j}].gpus",
                        f"{int(jobs.gpus[j])} GPUs can never fit: the largest pod tenant "
                        f"'{tenant.name}' may use holds {capacity} GPUs "
                        f"({len(too_big)} such job{'s' if len(too_big) > 1 else ''})",
                    )
                )
    if problems:
        raise ScenarioError("<jobs>", problems)


WARM_RUNNING, WARM_QUEUED = "warm:running:", "warm:queued:"


@dataclass(frozen=True)
class WarmJobs:
    """Jobs already in the system at time zero: ``running`` in ``initial_state.running`` order,
    and ``all`` of them, queued ones too."""

    running: list[int]
    all: frozenset[int]


def warm_jobs(sc: Scenario, jobs: JobBatch) -> WarmJobs:
    """Find the initial state's jobs in a batch by their campaign names."""
    names = jobs.campaign_names
    if not names or not any(n.startswith("warm:") for n in names):
        return WarmJobs([], frozenset())
    job_of = {names[c]: j for j, c in enumerate(jobs.campaign.tolist()) if c >= 0}
    running = [job_of[f"{WARM_RUNNING}{i}"] for i in range(len(sc.initial_state.running))]
    queued = [job_of[f"{WARM_QUEUED}{i}"] for i in range(len(sc.initial_state.queue))]
    return WarmJobs(running, frozenset(running + queued))


def generate_jobs(sc: Scenario, streams: Streams, market: Market | None = None) -> JobBatch:
    """Draw every tenant's workload arrivals and add its planned campaigns, after the jobs
    of the initial state (running ones submitted at 0, queued ones ``waiting_h`` before)."""
    market = market or Market(sc)
    parts: list[tuple[np.ndarray, ...]] = []
    names: list[str] = []
    tenant_index = {t.name: i for i, t in enumerate(sc.tenants)}
    state = sc.initial_state
    warm = [
        (WARM_RUNNING, i, 0.0, r.tenant, r.gpus, r.remaining_work_gpu_h)
        for i, r in enumerate(state.running)
    ] + [
        (WARM_QUEUED, i, -q.waiting_h, q.tenant, q.gpus, q.work_gpu_h)
        for i, q in enumerate(state.queue)
    ]
    for prefix, i, warm_submit_h, tenant_name, warm_gpus, warm_work in warm:
        names.append(f"{prefix}{i}")
        parts.append(
            (
                np.array([warm_submit_h]),
                np.array([tenant_index[tenant_name]]),
                np.array(
                    [whole_nodes(warm_gpus, sc.node_gpus(sc.tenants[tenant_index[tenant_name]]))]
                ),
                np.array([warm_work]),
                np.array([len(names) - 1]),
                np.zeros(1),
            )
        )
    for index, tenant in enumerate(sc.tenants):
        if tenant.workload is not None:
            parts.append(_workload_jobs(sc, index, tenant, streams, market))
        for planned in tenant.campaigns:
            planned_before = len(names) - len(warm)  # numbered among campaigns only
            names.append(planned.name or f"{tenant.name}-campaign-{planned_before}")
            parts.append(
                (
                    np.array([sc.hours_since_start(planned.submit)]),
                    np.array([index]),
                    np.array([planned.gpus]),
                    np.array([planned.work]),
                    np.array([len(names) - 1]),
                    np.zeros(1),
                )
            )
    if not parts:
        empty = np.empty(0)
        return JobBatch(empty, empty.astype(np.int64), empty.astype(np.int64), empty)
    submit, tenant_ix, gpus, work, campaign, keep_u = (
        np.concatenate(cols) for cols in zip(*parts, strict=True)
    )
    order = np.argsort(submit, kind="stable")
    return JobBatch(
        submit_h=submit[order].astype(np.float64, copy=False),
        tenant=tenant_ix[order].astype(np.int64, copy=False),
        gpus=gpus[order].astype(np.int64, copy=False),
        work_gpu_h=work[order].astype(np.float64, copy=False),
        campaign=campaign[order].astype(np.int64, copy=False),
        keep_u=keep_u[order].astype(np.float64, copy=False),
        campaign_names=tuple(names),
    )


def _workload_jobs(
    sc: Scenario, index: int, tenant: Tenant, streams: Streams, market: Market
) -> tuple[np.ndarray, ...]:
    workload = tenant.workload
    if workload is None:
        raise ValueError(f"tenant {tenant.name!r} has no workload to draw jobs from")
    begin_h = max(0.0, sc.hours_since_start(workload.active_from or sc.start))
    end_h = min(sc.horizon_h, sc.hours_since_start(workload.active_until or sc.end))
    rng = streams.get(f"arrivals/{tenant.name}")
    arrivals = workload.arrivals
    if isinstance(arrivals, TraceArrivals):
        submit, gpus, work = replay_trace(
            arrivals, begin_h, end_h, sc.node_gpus(tenant), rng, f"tenants.{tenant.name}"
        )
    else:
        if workload.gpus is None or workload.work_gpu_h is None:
            raise ValueError(f"tenant {tenant.name!r}: a workload needs gpus and work_gpu_h")
        if isinstance(arrivals, BurstyArrivals):
            submit = bursty_arrivals(arrivals, begin_h, end_h, rng)
        elif workload.price_elasticity > 0:
            curve = market.curve(tenant.models[0])
            reference = workload.reference_usd_per_gpu_h or curve.price(0.0)
            try:
                submit = elastic_arrivals(
                    arrivals, begin_h, end_h, rng, curve, reference, workload.price_elasticity
                )
            except ValueError as err:
                where = f"tenants.{tenant.name}.workload.price_elasticity"
                raise ScenarioError(RUNNING, [Problem(where, str(err))]) from None
        else:
            submit = poisson_arrivals(arrivals, begin_h, end_h, rng)
        sizes = draw_sizes(workload.gpus, streams.get(f"gpus/{tenant.name}"), len(submit))
        work = draw_work(workload.work_gpu_h, sizes, streams.get(f"work/{tenant.name}"))
        profile = arrivals.rate_profile if isinstance(arrivals, BurstyArrivals) else None
        if profile is not None and profile.work_factors is not None:
            window = ((submit - begin_h) // profile.window_h).astype(np.int64)
            work = work * np.asarray(profile.work_factors)[window % len(profile.factors)]
        gpus = whole_nodes_array(sizes, sc.node_gpus(tenant))
    n = len(submit)
    keep_u = streams.get(f"thinning/{tenant.name}").random(n)
    return submit, np.full(n, index), gpus, work, np.full(n, NO_CAMPAIGN), keep_u


def bursty_arrivals(
    arrivals: BurstyArrivals, begin_h: float, end_h: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Arrival times on [begin_h, end_h) of a renewal process with hyperexponential gaps.

    Balanced means: with mean gap m and squared CV c², phase 1 is taken with probability
    p = (1 + sqrt((c² - 1) / (c² + 1))) / 2 at rate 2p/m, phase 2 otherwise at rate
    2(1 - p)/m; each phase then carries half the mean, and the gaps have mean m and CV c.
    """
    if end_h <= begin_h:
        return np.empty(0)
    profile = arrivals.rate_profile
    if profile is None:
        return _renewal(arrivals, begin_h, end_h, rng)
    # A time change: a steady process in operational time u, where u grows at the profile's
    # factor, keeps its gaps' shape within a window and takes the window's rate.
    n_windows = math.ceil((end_h - begin_h) / profile.window_h)
    factors = np.resize(np.asarray(profile.factors, dtype=np.float64), n_windows)
    edges_h = begin_h + profile.window_h * np.arange(n_windows + 1)
    edges_h[-1] = end_h
    edges_u = np.concatenate(([0.0], np.cumsum(factors * np.diff(edges_h))))
    u = _renewal(arrivals, 0.0, float(edges_u[-1]), rng)
    window = np.searchsorted(edges_u, u, side="right") - 1
    times = edges_h[window] + (u - edges_u[window]) / factors[window]
    return times[times < end_h].astype(np.float64)


def _renewal(
    arrivals: BurstyArrivals, begin_h: float, end_h: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    if end_h <= begin_h:
        return np.empty(0)
    mean_h = HOURS_PER_DAY / arrivals.per_day
    c2 = arrivals.cv**2
    p = (1.0 + math.sqrt((c2 - 1.0) / (c2 + 1.0))) / 2.0
    scales = np.array([mean_h / (2.0 * p), mean_h / (2.0 * (1.0 - p))])
    expected = (end_h - begin_h) / mean_h
    times: list[NDArray[np.float64]] = []
    t = begin_h
    while t < end_h:
        n = int(expected + 6 * math.sqrt(expected) * arrivals.cv + 100)
        phase = (rng.random(n) >= p).astype(np.int64)
        gaps = rng.exponential(1.0, n) * scales[phase]
        chunk = t + np.cumsum(gaps)
        times.append(chunk)
        t = float(chunk[-1])
    out = np.concatenate(times)
    return out[out < end_h].astype(np.float64)


def replay_trace(
    spec: TraceArrivals,
    begin_h: float,
    end_h: float,
    node_gpus: int,
    rng: np.random.Generator,
    where: str,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """A trace's jobs as (submit_h, gpus, work_gpu_h) inside [begin_h, end_h).

    Thinning and repeating for ``load_scale`` draw from ``rng``, one uniform per trace job, so
    a higher load scale keeps every job a lower one kept.
    """
    from planner.catalog import gpu_model
    from planner.traces import read_trace

    try:
        trace = read_trace(Path(spec.path), spec.format)
    except ScenarioError as err:
        raise ScenarioError(
            f"{where}.workload.arrivals", [Problem(spec.path, str(p)) for p in err.problems]
        ) from None
    jobs = trace.jobs
    if spec.trace_tenants is not None and "tenant" in jobs:
        jobs = jobs[jobs["tenant"].isin(spec.trace_tenants)]
    if spec.trace_gpu_models is not None:
        models = jobs["gpu_model"] if "gpu_model" in jobs else pd.Series("", index=jobs.index)
        jobs = jobs[models.fillna("").astype(str).isin(spec.trace_gpu_models)]
    submit = spec.offset_h + jobs["submit_s"].to_numpy(dtype=float) / 3600.0 * spec.time_scale
    gpus = jobs["gpus"].to_numpy(dtype=np.int64)
    duration_h = np.maximum(jobs["duration_s"].to_numpy(dtype=float), spec.min_duration_s) / 3600
    u = rng.random(len(submit))
    whole, part = divmod(spec.load_scale, 1.0)
    copies = int(whole) + (u < part).astype(np.int64)
    submit, gpus, duration_h = (np.repeat(a, copies) for a in (submit, gpus, duration_h))
    inside = (submit >= begin_h) & (submit < end_h)
    submit, gpus, duration_h = submit[inside], gpus[inside], duration_h[inside]
    gpus = whole_nodes_array(gpus, node_gpus)
    work = duration_h * gpus * gpu_model(spec.reference_model).throughput
    order = np.argsort(submit, kind="stable")
    return (
        submit[order],
        gpus[order].astype(np.int64, copy=False),
        work[order].astype(np.float64, copy=False),
    )


def elastic_arrivals(
    arrivals: Poisson,
    begin_h: float,
    end_h: float,
    rng: np.random.Generator,
    curve: PriceCurve,
    reference_usd_per_gpu_h: float,
    elasticity: float,
) -> NDArray[np.float64]:
    """Arrivals whose rate also scales with price: ``(price / reference) ** -elasticity``.

    Drawn by time change: unit-rate Poisson points are mapped through the inverse of the
    cumulative rate. The same seed gives the same unit-rate points whatever the prices, so a
    higher price curve gives a subset of the arrivals, each no earlier: demand responds to
    price path by path, not only on average. The cumulative rate is integrated on an hourly
    grid that includes every price step (midpoint rule; the rate is smooth between steps).
    """
    if end_h <= begin_h:
        return np.empty(0)
    steps = curve.step_times_h
    grid = np.unique(
        np.r_[np.arange(begin_h, end_h, 1.0), end_h, steps[(steps > begin_h) & (steps < end_h)]]
    )
    mid = (grid[:-1] + grid[1:]) / 2
    growth = math.log1p(arrivals.annual_growth) / HOURS_PER_YEAR
    rate = (
        arrivals.per_day
        / HOURS_PER_DAY
        * np.exp(growth * mid)
        * (curve.price_array(mid) / reference_usd_per_gpu_h) ** -elasticity
    )
    cumulative = np.r_[0.0, np.cumsum(rate * np.diff(grid))]
    total = cumulative[-1]
    if not total <= MAX_EXPECTED_JOBS:  # checked here: the rate follows the simulated prices
        raise ValueError(
            f"prices this far below the reference make about {total:.2g} jobs, more than the "
            f"{MAX_EXPECTED_JOBS:,} a run can hold"
        )
    points = np.cumsum(rng.exponential(1.0, int(total + 6 * math.sqrt(total) + 10)))
    while points[-1] < total:
        points = np.r_[points, points[-1] + np.cumsum(rng.exponential(1.0, 1000))]
    points = points[points < total]
    return np.asarray(np.interp(points, cumulative, grid), dtype=np.float64)


def poisson_arrivals(
    arrivals: Poisson, begin_h: float, end_h: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Arrival times of a Poisson process with rate growing geometrically, on [begin_h, end_h).

    The rate is ``per_day/24 * g ** (t / HOURS_PER_YEAR)`` per hour with ``g = 1 + annual_growth``.
    Given the count, non-homogeneous Poisson points are i.i.d. with density proportional to the
    rate, so they are drawn exactly by inverting the cumulative rate at sorted uniforms.
    """
    if end_h <= begin_h:
        return np.empty(0)
    rate0 = arrivals.per_day / HOURS_PER_DAY
    log_g = math.log1p(arrivals.annual_growth) / HOURS_PER_YEAR
    if log_g == 0.0:
        total = rate0 * (end_h - begin_h)
        count = int(rng.poisson(total))
        return np.sort(rng.uniform(begin_h, end_h, count))
    # Cumulative rate from 0: (rate0 / log_g) * (exp(log_g * t) - 1).
    lo, hi = math.exp(log_g * begin_h), math.exp(log_g * end_h)
    total = rate0 / log_g * (hi - lo)
    count = int(rng.poisson(total))
    u = rng.uniform(min(lo, hi), max(lo, hi), count)
    return np.sort(np.log(u) / log_g).astype(np.float64)
