"""Collectors: the recorder's raw records → tidy pandas tables of one run.

Time-weighted levels (GPUs busy, queue length) are rebuilt here from job start and end times, so
the event loop pays nothing for them. Money by calendar month (the ``ledger`` and
``credit_ledger`` tables) comes from each stretch a job held GPUs, cut at month edges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import date, timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.leasing import LeaseTerm, lease_terms
from planner.model.engine import Model
from planner.model.supply import OrderOutcome
from planner.recording import SKIP_REASONS
from planner.scenario.schema import HOURS_PER_DAY, HOURS_PER_YEAR, Scenario

FloatArray = NDArray[np.float64]

CLASSES = ("credit", "paying", "internal", "wholesale")
STATES = ("queued", "running", "finished")
PAID_WITH = ("cash", "credit", "mixed", "internal")

JOB_COLUMNS = (
    "job_id",
    "tenant",
    "tenant_class",
    "campaign",
    "gpus",
    "gpu_model",
    "region",
    "cohort",
    "submit_h",
    "start_h",
    "end_h",
    "wait_h",
    "state",
    "work_gpu_h",
    "gpu_h",
    "restarts",
    "lost_gpu_h",
    "revenue_usd",
    "credit_usd",
    "cash_usd",
    "paid_with",
)


@dataclass(frozen=True)
class Tables:
    """Every table of one run."""

    jobs: pd.DataFrame
    timeseries: pd.DataFrame
    pool_timeseries: pd.DataFrame
    cohorts: pd.DataFrame
    tenants: pd.DataFrame
    orders: pd.DataFrame
    credit_events: pd.DataFrame
    ledger: pd.DataFrame
    credit_ledger: pd.DataFrame
    failures: pd.DataFrame
    runs: pd.DataFrame


def collect(model: Model) -> Tables:
    """Build every table from a model that has run."""
    seg = segments(model)
    jobs = _jobs(model, seg)
    months = calendar_months(model.scenario)
    pieces = month_pieces(seg, months.edges_h)
    piece_revenue = piece_revenue_usd(model, seg, pieces.seg, pieces.from_h, pieces.to_h)
    credit = credit_use(model, seg, pieces)
    cohorts = _cohorts(model, seg)
    return Tables(
        jobs=jobs,
        timeseries=_timeseries(model, jobs, seg),
        pool_timeseries=_pool_timeseries(model, seg),
        cohorts=cohorts,
        tenants=_tenants(model, jobs, seg, pieces, credit, cohorts),
        orders=_orders(model),
        credit_events=_credit_events(model),
        ledger=_ledger(model, seg, months, pieces, piece_revenue),
        credit_ledger=_credit_ledger(model, seg, months, pieces, piece_revenue, credit),
        failures=_failures(model),
        runs=_runs(model, seg),
    )


@dataclass(frozen=True)
class Segments:
    """Each stretch a job held GPUs: [from_h, to_h) on a cohort, with the revenue it earned.

    A job that started k times has k segments; one still running ends at the horizon.
    """

    job: NDArray[np.int64]
    cohort: NDArray[np.int64]
    from_h: FloatArray
    to_h: FloatArray
    gpus: NDArray[np.int64]
    charged: NDArray[np.bool_]  # False for internal tenants, who pay nothing
    revenue_usd: FloatArray
    interrupted: NDArray[np.bool_]  # the run ended because a node failed


def segments(model: Model) -> Segments:
    """Pair each start with the job's matching end (the k-th start with the k-th end)."""
    rec, horizon = model.recorder, model.scenario.horizon_h
    s_job = np.frombuffer(rec.start_job, dtype=np.int64)
    s_h = np.frombuffer(rec.start_h)
    s_cohort = np.frombuffer(rec.start_cohort, dtype=np.int64)
    e_job = np.frombuffer(rec.end_job, dtype=np.int64)
    e_h = np.frombuffer(rec.end_h)
    s_order = np.lexsort((s_h, s_job))
    e_order = np.lexsort((e_h, e_job))
    base = len(s_job) + 1  # more than any job's number of starts
    s_key = _occurrence_key(s_job[s_order], base)
    e_key = _occurrence_key(e_job[e_order], base)
    to_h = np.full(len(s_job), horizon)
    where = np.searchsorted(e_key, s_key)
    found = where < len(e_key)
    found[found] = e_key[where[found]] == s_key[found]
    to_h[s_order[found]] = e_h[e_order[where[found]]]
    interrupted = np.zeros(len(s_job), dtype=bool)
    flags = np.frombuffer(rec.end_interrupted, dtype=np.int8).astype(bool)
    interrupted[s_order[found]] = flags[e_order[where[found]]]
    job, cohort, from_h = s_job, s_cohort, s_h.copy()
    gpus = model.jobs.gpus[job]
    revenue = np.zeros(len(job))
    is_charged = np.array([t.tenant_class != "internal" for t in model.scenario.tenants])
    charged = is_charged[model.jobs.tenant[job]]
    for c, price in enumerate(model.prices):
        mine = charged & (cohort == c)
        revenue[mine] = gpus[mine] * price.integral_array(from_h[mine], to_h[mine])
    return Segments(job, cohort, from_h, to_h, gpus, charged, revenue, interrupted)


def _occurrence_key(sorted_jobs: NDArray[np.int64], base: int) -> NDArray[np.int64]:
    """Sortable key ``job * base + k`` for the k-th occurrence of each job in a sorted array."""
    n = len(sorted_jobs)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[0, np.flatnonzero(np.diff(sorted_jobs)) + 1]
    rank = np.arange(n, dtype=np.int64) - np.repeat(first, np.diff(np.r_[first, n]))
    return np.asarray(sorted_jobs * base + rank, dtype=np.int64)


def _jobs(model: Model, seg: Segments) -> pd.DataFrame:
    sc, rec, batch = model.scenario, model.recorder, model.jobs
    n = len(batch)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    cohort = np.full(n, -1, dtype=np.int64)
    # The first start sets the wait; with restarts a job starts more than once. Assigning in
    # reverse time order leaves each job's earliest start in place.
    order = np.argsort(seg.from_h, kind="stable")[::-1]
    start[seg.job[order]] = seg.from_h[order]
    # A job's cohort is where its last run was (segments are in start order).
    cohort[seg.job] = seg.cohort
    end_job = np.frombuffer(rec.end_job, dtype=np.int64)
    interrupted = np.frombuffer(rec.end_interrupted, dtype=np.int8).astype(bool)
    end[end_job[~interrupted]] = np.frombuffer(rec.end_h)[~interrupted]
    restarts = np.bincount(end_job[interrupted], minlength=n)
    lost_gpu_h = np.bincount(
        np.frombuffer(rec.lost_job, dtype=np.int64), np.frombuffer(rec.lost_gpu_h), minlength=n
    )

    revenue = np.bincount(seg.job, seg.revenue_usd, minlength=n)
    held_h = np.bincount(seg.job, seg.to_h - seg.from_h, minlength=n)
    credit = np.bincount(
        np.frombuffer(rec.credit_job, dtype=np.int64), np.frombuffer(rec.credit_usd), minlength=n
    )
    submitted = np.ones(n, dtype=bool)
    submitted[np.frombuffer(rec.skipped_job, dtype=np.int64)] = False

    tenants = sc.tenants
    classes = np.array([CLASSES.index(t.tenant_class) for t in tenants], dtype=np.int64)
    job_class = classes[batch.tenant]
    state = np.where(np.isnan(start), 0, np.where(np.isnan(end), 1, 2))
    cash = revenue - credit
    paid_with = np.zeros(n, dtype=np.int64)  # cash
    paid_with[credit > 0] = 1
    paid_with[(credit > 0) & (cash > 1e-9 * revenue)] = 2
    paid_with[job_class == CLASSES.index("internal")] = 3
    paid_with[np.isnan(start)] = -1
    cohorts = model.cohorts
    table = pd.DataFrame(
        {
            "job_id": np.arange(n),
            "tenant": _labels(batch.tenant, [t.name for t in tenants]),
            "tenant_class": _labels(job_class, CLASSES),
            "campaign": _labels(batch.campaign, batch.campaign_names),
            "gpus": batch.gpus,
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "submit_h": batch.submit_h,
            "start_h": start,
            "end_h": end,
            "wait_h": start - batch.submit_h,
            "state": _labels(state, STATES),
            "work_gpu_h": batch.work_gpu_h,
            "gpu_h": batch.gpus * held_h,
            "restarts": restarts,
            "lost_gpu_h": lost_gpu_h,
            "revenue_usd": revenue,
            "credit_usd": credit,
            "cash_usd": cash,
            "paid_with": _labels(paid_with, PAID_WITH),
        }
    )
    return table[submitted].reset_index(drop=True)


def _labels(codes: NDArray[np.int64], names: Sequence[str]) -> pd.Categorical:
    """A categorical column from integer codes into ``names`` (-1 for none).

    Categoricals keep a million-row table small: one small integer per row, not a string.
    Repeated names (say two cohorts both called "spare") share one category.
    """
    if not len(codes):
        # An empty column gets no labels: Parquet keeps none for it, so it reads back the same.
        return pd.Categorical.from_codes(codes, categories=pd.Index([], dtype="str"))
    unique = list(dict.fromkeys(names))
    remap = np.array([unique.index(name) for name in names] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(unique, dtype="str"))


def censored_wait_h(jobs: pd.DataFrame, horizon_h: float) -> FloatArray:
    """Each job's wait, counting a job still queued at the horizon as waiting until then.

    For queued jobs this is a lower bound, so percentiles over it are lower bounds too; dropping
    them instead would hide exactly the waits a planner worries about.
    """
    waits = jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(waits), horizon_h - jobs["submit_h"].to_numpy(), waits)


def daily_mean(times_h: FloatArray, deltas: FloatArray, horizon_h: float) -> FloatArray:
    """Time-average per day of a level that changes by ``deltas`` at ``times_h`` (from 0 at t=0).

    The last day may be partial; it is averaged over its own length.
    """
    edges = np.append(np.arange(0.0, horizon_h, HOURS_PER_DAY), horizon_h)
    return np.asarray(level_integral(times_h, deltas, edges) / np.diff(edges), dtype=np.float64)


def level_integral(times_h: FloatArray, deltas: FloatArray, edges_h: FloatArray) -> FloatArray:
    """Integral of a level over each [edges_h[k], edges_h[k+1]) (level-hours, e.g. GPU-hours).

    The level starts at 0 and changes by ``deltas`` at ``times_h``; times are clipped to the
    edges' span.
    """
    if len(times_h) == 0:
        return np.zeros(len(edges_h) - 1)
    order = np.argsort(times_h, kind="stable")
    t = np.clip(times_h[order], edges_h[0], edges_h[-1])
    level = np.cumsum(deltas[order])
    # area[k]: integral of the level from the first edge to t[k] (the level before t[0] is 0).
    area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(t))])
    k = np.searchsorted(t, edges_h, side="right") - 1
    at_edges = np.where(
        k >= 0,
        area[np.maximum(k, 0)] + level[np.maximum(k, 0)] * (edges_h - t[np.maximum(k, 0)]),
        0.0,
    )
    return np.asarray(np.diff(at_edges), dtype=np.float64)


def _busy_events(
    seg: Segments, mine: NDArray[np.bool_] | None = None
) -> tuple[FloatArray, FloatArray]:
    """GPUs taken at each run's start and given back at its end (a job interrupted by a
    failure holds nothing while it waits to restart)."""
    keep = slice(None) if mine is None else mine
    gpus = seg.gpus[keep].astype(np.float64)
    return np.concatenate([seg.from_h[keep], seg.to_h[keep]]), np.concatenate([gpus, -gpus])


def _in_service_events(
    model: Model, seg: Segments, cohorts: Sequence[int] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Changes in GPUs in service: a cohort enters whole; a retired one leaves as it drains.

    At retirement its free GPUs leave at once; GPUs still running a job leave when it ends.
    """
    rec = model.recorder
    into = np.frombuffer(rec.in_service_cohort, dtype=np.int64)
    sizes = np.array([c.gpus for c in model.cohorts], dtype=np.float64)
    times = [np.frombuffer(rec.in_service_h)]
    deltas = [sizes[into]]
    owners = [into]
    for cohort, retired_h in zip(rec.retired_cohort, rec.retired_h, strict=True):
        draining = (seg.cohort == cohort) & (seg.from_h < retired_h) & (seg.to_h > retired_h)
        held = seg.gpus[draining].astype(np.float64)
        times += [np.array([retired_h]), seg.to_h[draining]]
        deltas += [np.array([-(sizes[cohort] - held.sum())]), -held]
        owners += [np.array([cohort]), np.full(len(held), cohort)]
    t, d, who = np.concatenate(times), np.concatenate(deltas), np.concatenate(owners)
    if cohorts is not None:
        keep = np.isin(who, np.asarray(cohorts, dtype=np.int64))
        return t[keep], d[keep]
    return t, d


def _in_service_gpu_h(model: Model, seg: Segments, cohort: int) -> float:
    """GPU-hours a cohort was in service up to the horizon."""
    t, d = _in_service_events(model, seg, [cohort])
    horizon = model.scenario.horizon_h
    order = np.argsort(t, kind="stable")
    t, level = np.minimum(t[order], horizon), np.cumsum(d[order])
    return float(
        np.sum(level[:-1] * np.diff(t)) + (level[-1] * (horizon - t[-1]) if len(t) else 0.0)
    )


def _runs(model: Model, seg: Segments) -> pd.DataFrame:
    """One row per run of a job: a stretch on one cohort, ended by completion, by a node
    failure (``interrupted``), or by the horizon (``to_h`` is then the horizon)."""
    cohorts = model.cohorts
    order = np.lexsort((seg.from_h, seg.job))
    job = seg.job[order]
    first = np.r_[0, np.flatnonzero(np.diff(job)) + 1] if len(job) else np.zeros(0, np.int64)
    run = np.arange(len(job)) - np.repeat(first, np.diff(np.r_[first, len(job)]))
    cohort = seg.cohort[order]
    return pd.DataFrame(
        {
            "job_id": job,
            "run": run,
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "gpus": seg.gpus[order],
            "from_h": seg.from_h[order],
            "to_h": seg.to_h[order],
            "interrupted": seg.interrupted[order],
            "revenue_usd": seg.revenue_usd[order],
        }
    )


def _failures(model: Model) -> pd.DataFrame:
    """One row per node failure: when, on which cohort, and whether a spare replaced it."""
    rec = model.recorder
    cohort = np.frombuffer(rec.failure_cohort, dtype=np.int64)
    cohorts = model.cohorts
    return pd.DataFrame(
        {
            "t_h": np.frombuffer(rec.failure_h).copy(),
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "gpus": np.frombuffer(rec.failure_gpus, dtype=np.int64).copy(),
            "spare_used": np.frombuffer(rec.failure_spare, dtype=np.int8).astype(bool),
            "cause": pd.Series(rec.failure_cause, dtype="str"),
        }
    )


def _down_events(model: Model) -> tuple[FloatArray, FloatArray]:
    """GPUs on failed nodes under repair: up at each failure, down at each repair."""
    rec = model.recorder
    times = np.concatenate([np.frombuffer(rec.failure_h), np.frombuffer(rec.repair_h)])
    gpus = np.concatenate(
        [
            np.frombuffer(rec.failure_gpus, dtype=np.int64),
            -np.frombuffer(rec.repair_gpus, dtype=np.int64),
        ]
    ).astype(np.float64)
    return times, gpus


def _day_frame(model: Model) -> pd.DataFrame:
    sc = model.scenario
    days = sc.horizon_days
    return pd.DataFrame(
        {"day": np.arange(days), "date": pd.date_range(sc.start, periods=days, freq="D").date}
    )


def _timeseries(model: Model, jobs: pd.DataFrame, seg: Segments) -> pd.DataFrame:
    horizon = model.scenario.horizon_h
    frame = _day_frame(model)
    frame["gpus_in_service"] = daily_mean(*_in_service_events(model, seg), horizon)
    frame["gpus_busy"] = daily_mean(*_busy_events(seg), horizon)
    frame["utilisation"] = _ratio(frame["gpus_busy"], frame["gpus_in_service"])
    submit = jobs["submit_h"].to_numpy()
    started = jobs["start_h"].dropna().to_numpy()
    frame["jobs_queued"] = daily_mean(
        np.concatenate([submit, started]),
        np.concatenate([np.ones(len(submit)), -np.ones(len(started))]),
        horizon,
    )
    queued_gpus = jobs["gpus"].to_numpy(dtype=np.float64)
    started_gpus = jobs.loc[jobs["start_h"].notna(), "gpus"].to_numpy(dtype=np.float64)
    frame["gpus_down"] = daily_mean(*_down_events(model), horizon)
    frame["gpus_queued"] = daily_mean(
        np.concatenate([submit, started]), np.concatenate([queued_gpus, -started_gpus]), horizon
    )
    edges = np.arange(len(frame) + 1) * HOURS_PER_DAY
    frame["jobs_submitted"] = np.histogram(submit, edges)[0]
    frame["jobs_started"] = np.histogram(started, edges)[0]
    frame["jobs_finished"] = np.histogram(jobs["end_h"].dropna().to_numpy(), edges)[0]
    return frame


def _pool_timeseries(model: Model, seg: Segments) -> pd.DataFrame:
    horizon = model.scenario.horizon_h
    frames = []
    pools = sorted({(c.model, c.region) for c in model.cohorts})
    for gpu, region in pools:
        members = [c.index for c in model.cohorts if (c.model, c.region) == (gpu, region)]
        frame = _day_frame(model)
        frame.insert(2, "gpu_model", gpu)
        frame.insert(3, "region", region)
        frame["gpus_in_service"] = daily_mean(*_in_service_events(model, seg, members), horizon)
        on_pool = np.isin(seg.cohort, members)
        frame["gpus_busy"] = daily_mean(*_busy_events(seg, on_pool), horizon)
        frame["utilisation"] = _ratio(frame["gpus_busy"], frame["gpus_in_service"])
        frames.append(frame)
    if not frames:
        return pd.DataFrame(
            columns=[
                "day",
                "date",
                "gpu_model",
                "region",
                "gpus_in_service",
                "gpus_busy",
                "utilisation",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def _cohorts(model: Model, seg: Segments) -> pd.DataFrame:
    """Per cohort: capex, use, revenue against its potential, and its book value.

    ``stranded_book_value_usd`` is, for a cohort obsolete within the horizon, its book value at
    obsolescence (written off then: see :class:`BookValue`); for one still in service at the
    horizon, the part of its book value at the horizon that its revenue so far has not earned
    back: ``min(book value at horizon, max(0, capex - revenue to date))``.
    """
    sc, rec = model.scenario, model.recorder
    horizon = sc.horizon_h
    in_service = dict(zip(rec.in_service_cohort, rec.in_service_h, strict=True))
    retired = dict(zip(rec.retired_cohort, rec.retired_h, strict=True))
    lease_rate = lease_usd_per_idle_gpu_h(model)
    n = len(model.cohorts)
    failures_on = np.bincount(np.frombuffer(rec.failure_cohort, dtype=np.int64), minlength=n)
    lost_on = np.bincount(
        np.frombuffer(rec.lost_cohort, dtype=np.int64), np.frombuffer(rec.lost_gpu_h), minlength=n
    )
    rows = []
    for c, price in zip(model.cohorts, model.prices, strict=True):
        obsolete = price.obsolete_at_h
        mine = seg.cohort == c.index
        a, b = seg.from_h[mine], seg.to_h[mine]
        revenue = float(seg.revenue_usd[mine].sum())
        paying = seg.charged[mine]
        gpus = seg.gpus[mine][paying]
        before = float(
            np.sum(gpus * price.curve.integral_array(a[paying], np.minimum(b[paying], obsolete)))
        )
        after = float(
            np.sum(gpus * price.integral_array(np.maximum(a[paying], obsolete), b[paying]))
        )
        served_from = in_service.get(c.index, math.nan)
        served_to = retired.get(c.index, horizon)
        in_service_gpu_h = potential = 0.0
        if not math.isnan(served_from):
            potential = c.gpus * price.curve.integral(served_from, min(served_to, obsolete))
            in_service_gpu_h = _in_service_gpu_h(model, seg, c.index)
        busy_gpu_h = float(np.sum(seg.gpus[mine] * (b - a)))
        book = book_value(model, c.index)
        capex = book.capex_usd
        opex = in_service_gpu_h * price.opex_usd_per_gpu_h
        leased_share, usd_per_idle_gpu_h = lease_rate[c.index]
        idle_gpu_h = max(0.0, in_service_gpu_h - busy_gpu_h)
        leased_gpu_h, lease = idle_gpu_h * leased_share, idle_gpu_h * usd_per_idle_gpu_h
        rows.append(
            {
                "cohort": c.name,
                "gpu_model": c.model,
                "region": c.region,
                "gpus": c.gpus,
                "source": c.source,
                "capex_usd": capex,
                "opex_usd_per_gpu_h": price.opex_usd_per_gpu_h,
                "acquired_h": c.in_service_h,
                "in_service_from_h": served_from,
                "retired_at_h": retired.get(c.index, math.nan),
                "obsolete_at_h": obsolete,
                "obsolete_within_horizon": obsolete < horizon,
                "in_service_gpu_h": in_service_gpu_h,
                "busy_gpu_h": busy_gpu_h,
                "utilisation": busy_gpu_h / in_service_gpu_h if in_service_gpu_h else math.nan,
                "node_failures": int(failures_on[c.index]),
                "lost_gpu_h": float(lost_on[c.index]),
                "goodput": 1.0 - lost_on[c.index] / busy_gpu_h if busy_gpu_h else math.nan,
                "revenue_usd": revenue,
                "revenue_before_obsolescence_usd": before,
                "revenue_after_obsolescence_usd": after,
                "potential_revenue_usd": potential,
                "leased_gpu_h": leased_gpu_h,
                "lease_revenue_usd": lease,
                "payback": (before + lease) / capex,
                "capture": (before + lease) / potential if potential > 0 else math.nan,
                "idle_value_usd": potential - before - lease,
                "opex_usd": opex,
                "margin_usd": revenue + lease - opex,
                "book_value_at_obsolescence_usd": book.at_obsolescence_usd,
                "book_value_at_horizon_usd": float(book.book_value_usd(np.array(horizon))),
                "stranded_book_value_usd": stranded_book_value_usd(book, horizon, revenue + lease),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class BookValue:
    """A cohort's book value: ``capex_usd`` written down straight-line from ``acquired_h`` to zero
    over ``life_h``; whatever is left when it becomes obsolete is written off at that moment.

    Times are hours since the scenario's start; arrays in, arrays out.
    """

    capex_usd: float
    acquired_h: float
    life_h: float
    obsolete_at_h: float  # never before acquired_h

    def straight_line_usd(self, t_h: FloatArray) -> FloatArray:
        """Capex less depreciation up to ``t_h``, ignoring obsolescence (capex until acquired)."""
        left = np.clip(1.0 - (np.asarray(t_h) - self.acquired_h) / self.life_h, 0.0, 1.0)
        return np.asarray(self.capex_usd * left, dtype=np.float64)

    @property
    def at_obsolescence_usd(self) -> float:
        """Book value when the cohort becomes obsolete: what is written off, stranded."""
        return float(self.straight_line_usd(np.array(self.obsolete_at_h)))

    def book_value_usd(self, t_h: FloatArray) -> FloatArray:
        """Book value carried at ``t_h``: zero until acquired, straight-line, zero once written
        off. At the instant of acquisition or write-off the value is the one just before."""
        t = np.asarray(t_h, dtype=np.float64)
        carried = (t > self.acquired_h) & (t <= self.obsolete_at_h)
        return np.where(carried, self.straight_line_usd(t), 0.0)

    def capex_spent_usd(self, from_h: FloatArray, to_h: FloatArray) -> FloatArray:
        """Capex of an acquisition inside each [from_h, to_h)."""
        inside = (from_h <= self.acquired_h) & (self.acquired_h < to_h)
        return np.where(inside, self.capex_usd, 0.0)

    def depreciation_usd(self, from_h: FloatArray, to_h: FloatArray) -> FloatArray:
        """Straight-line depreciation over each [from_h, to_h), while acquired and not obsolete."""
        lo = np.clip(from_h, self.acquired_h, self.obsolete_at_h)
        hi = np.clip(to_h, self.acquired_h, self.obsolete_at_h)
        return self.straight_line_usd(lo) - self.straight_line_usd(hi)

    def written_off_usd(self, from_h: FloatArray, to_h: FloatArray) -> FloatArray:
        """Book value written off at obsolescence, if that falls inside each [from_h, to_h)."""
        inside = (from_h <= self.obsolete_at_h) & (self.obsolete_at_h < to_h)
        return np.where(inside, self.at_obsolescence_usd, 0.0)


def book_value(model: Model, cohort: int) -> BookValue:
    """The book value of cohort ``cohort`` of ``model``, over the market's book life."""
    c, price = model.cohorts[cohort], model.prices[cohort]
    return BookValue(
        capex_usd=c.gpus * c.unit_capex_usd,
        acquired_h=c.in_service_h,
        life_h=model.scenario.market.book_life_years * HOURS_PER_YEAR,
        obsolete_at_h=price.obsolete_at_h,
    )


def lease_usd_per_idle_gpu_h(model: Model) -> list[tuple[float, float]]:
    """Per cohort: share of its idle GPU-hours leased out, and lease revenue per idle GPU-hour."""
    rates = [(0.0, 0.0) for _ in model.cohorts]
    for term in model_lease_terms(model):
        share, usd = rates[term.cohort]
        rates[term.cohort] = (share + term.share, usd + term.share * term.usd_per_gpu_h)
    return rates


def model_lease_terms(model: Model) -> list[LeaseTerm]:
    return lease_terms(model.scenario, [(c.model, c.region) for c in model.cohorts])


def stranded_book_value_usd(book: BookValue, horizon_h: float, revenue_usd: float) -> float:
    """Book value stranded by obsolescence, or at risk of it at the horizon.

    Obsolete within the horizon: the book value written off at obsolescence. Still in service at
    the horizon: the part of its book value then that revenue to date has not earned back (zero
    once revenue covers capex; the whole book value if it earned nothing).
    """
    if book.obsolete_at_h < horizon_h:
        return book.at_obsolescence_usd
    on_books = float(book.book_value_usd(np.array(horizon_h)))
    return min(on_books, max(0.0, book.capex_usd - revenue_usd))


def _tenants(
    model: Model,
    jobs: pd.DataFrame,
    seg: Segments,
    pieces: Pieces,
    credit: CreditUse,
    cohorts: pd.DataFrame,
) -> pd.DataFrame:
    """Per tenant: jobs, waits, revenue, leases, and for a credit tenant its deal (:func:`_deal`).

    ``jobs_skipped`` counts would-be submissions that never happened, of which ``jobs_balked``
    balked at a long expected wait; ``churned_at_h`` is when a tenant left after long waits.
    ``lease_revenue_usd`` is what a wholesale lessee paid for idle GPU-hours (not job revenue).
    """
    sc = model.scenario
    waits = censored_wait_h(jobs, sc.horizon_h)
    skipped_tenant = model.jobs.tenant[np.frombuffer(model.recorder.skipped_job, dtype=np.int64)]
    balked = np.frombuffer(model.recorder.skipped_reason, dtype=np.int8) == SKIP_REASONS.index(
        "balked"
    )
    idle_gpu_h = np.zeros(0)
    if not cohorts.empty:
        idle = cohorts["in_service_gpu_h"] - cohorts["busy_gpu_h"]
        idle_gpu_h = idle.clip(lower=0.0).to_numpy()
    leased_gpu_h = np.zeros(len(sc.tenants))
    lease_usd = np.zeros(len(sc.tenants))
    for term in model_lease_terms(model):
        leased_gpu_h[term.tenant] += idle_gpu_h[term.cohort] * term.share
        lease_usd[term.tenant] += idle_gpu_h[term.cohort] * term.share * term.usd_per_gpu_h
    n = len(sc.tenants)
    piece_tenant = model.jobs.tenant[seg.job[pieces.seg]]
    credit_gpu_h = np.bincount(piece_tenant, credit.gpu_h, minlength=n)
    opex = np.array([p.opex_usd_per_gpu_h for p in model.prices], dtype=np.float64)
    compute_cost = np.bincount(
        piece_tenant, credit.gpu_h * opex[seg.cohort[pieces.seg]], minlength=n
    )
    rows = []
    for i, t in enumerate(sc.tenants):
        mine = (jobs["tenant"] == t.name).to_numpy()
        j = jobs[mine]
        w = waits[mine]
        rows.append(
            {
                "tenant": t.name,
                "tenant_class": t.tenant_class,
                "jobs_submitted": int(mine.sum()),
                "jobs_skipped": int(np.sum(skipped_tenant == i)),
                "jobs_balked": int(np.sum(balked & (skipped_tenant == i))),
                "churned_at_h": model.recorder.churned.get(i, math.nan),
                "jobs_finished": int((j["state"] == "finished").sum()),
                "jobs_running": int((j["state"] == "running").sum()),
                "jobs_queued": int((j["state"] == "queued").sum()),
                "gpu_h": float(j["gpu_h"].sum()),
                "restarts": int(j["restarts"].sum()),
                "lost_gpu_h": float(j["lost_gpu_h"].sum()),
                "goodput": (
                    1.0 - float(j["lost_gpu_h"].sum()) / float(j["gpu_h"].sum())
                    if float(j["gpu_h"].sum()) > 0
                    else math.nan
                ),
                "wait_mean_h": float(w.mean()) if len(w) else math.nan,
                "wait_p50_h": _pct(w, 50),
                "wait_p95_h": _pct(w, 95),
                "wait_p99_h": _pct(w, 99),
                "revenue_usd": float(j["revenue_usd"].sum()),
                "cash_usd": float(j["cash_usd"].sum()),
                "leased_gpu_h": float(leased_gpu_h[i]),
                "lease_revenue_usd": float(lease_usd[i]),
                **_deal(
                    model,
                    i,
                    burned_usd=float(j["credit_usd"].sum()),
                    credit_gpu_h=float(credit_gpu_h[i]),
                    compute_cost_usd=float(compute_cost[i]),
                ),
            }
        )
    return pd.DataFrame(rows)


def _deal(
    model: Model, tenant: int, *, burned_usd: float, credit_gpu_h: float, compute_cost_usd: float
) -> dict[str, object]:
    """A tenant's credit deal: its size, what became of the credits, and what they bought.

    ``escrow_revenue_usd`` is the escrow view: the whole grant, recognised when granted (beside
    ``credits_burned_usd``, recognised as burned). ``credit_gpu_h`` are the GPU-hours paid with
    credits (see :func:`credit_use`); ``compute_cost_usd`` is their operating cost on the cohorts
    they ran on. ``effective_usd_per_gpu_h`` is what the start-up paid in equity per GPU-hour it
    got: credits granted / credit GPU-hours; ``inf`` if credits were granted but never used,
    NaN if none were granted (within the horizon). While a grant is still valid at the horizon
    its unused credits count as paid for, so the figure is then an upper bound.
    """
    grant = model.scenario.tenants[tenant].credit
    account = model.billing.accounts.get(tenant)
    events = [e for e in model.recorder.credit_events if e.tenant == tenant]
    granted = math.fsum(e.amount_usd for e in events if e.kind == "granted")
    forfeited = math.fsum(e.amount_usd for e in events if e.kind == "expired")
    if credit_gpu_h > 0:
        effective = granted / credit_gpu_h
    else:
        effective = math.inf if granted > 0 else math.nan
    investment = grant.investment_usd if grant is not None else None
    share = grant.credit_share if grant is not None else None
    return {
        "investment_usd": investment if investment is not None else math.nan,
        "credit_share": share if share is not None else math.nan,
        "credits_granted_usd": granted,
        "credits_burned_usd": burned_usd,
        "credits_forfeited_usd": forfeited,
        "credits_left_usd": account.balance_usd if account is not None else 0.0,
        "credit_state": account.state if account is not None else None,
        "escrow_revenue_usd": granted,
        "credit_gpu_h": credit_gpu_h,
        "compute_list_value_usd": burned_usd,
        "compute_cost_usd": compute_cost_usd,
        "effective_usd_per_gpu_h": effective,
    }


def _pct(values: FloatArray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def _orders(model: Model) -> pd.DataFrame:
    columns = [f.name for f in fields(OrderOutcome)]
    frame = pd.DataFrame([astuple(o) for o in model.orders], columns=columns)
    return frame.rename(columns={"name": "order", "model": "gpu_model"})


def _credit_events(model: Model) -> pd.DataFrame:
    names = [t.name for t in model.scenario.tenants]
    rows = [[names[e.tenant], e.kind, e.t_h, e.amount_usd] for e in model.recorder.credit_events]
    return pd.DataFrame(rows, columns=["tenant", "kind", "t_h", "amount_usd"])


# -- money by calendar month -------------------------------------------------------------------


@dataclass(frozen=True)
class Months:
    """The calendar months a run covers: month k is [edges_h[k], edges_h[k+1]).

    The first runs from the scenario's start, the last to the horizon; either may be partial.
    """

    first_day: list[date]  # the 1st of each month, even when the run starts later in it
    edges_h: FloatArray

    def of(self, t_h: FloatArray) -> NDArray[np.int64]:
        """The month each time falls in (times at the horizon count in the last month)."""
        k = np.searchsorted(self.edges_h, t_h, side="right") - 1
        return np.asarray(np.clip(k, 0, len(self.first_day) - 1), dtype=np.int64)


def calendar_months(sc: Scenario) -> Months:
    """The calendar months from ``sc``'s start to its horizon."""
    days = [sc.start.replace(day=1)]
    while (after := (days[-1] + timedelta(days=32)).replace(day=1)) < sc.end:
        days.append(after)
    inner = [sc.hours_since_start(day) for day in days[1:]]
    return Months(days, np.array([0.0, *inner, sc.horizon_h], dtype=np.float64))


@dataclass(frozen=True)
class Pieces:
    """Segments cut at month edges: piece i is the part of segment ``seg[i]`` in ``month[i]``."""

    seg: NDArray[np.int64]
    month: NDArray[np.int64]
    from_h: FloatArray
    to_h: FloatArray


def month_pieces(seg: Segments, edges_h: FloatArray) -> Pieces:
    """Cut every segment at the month edges (most lie inside one month and stay whole)."""
    last_month = len(edges_h) - 2
    first = np.clip(np.searchsorted(edges_h, seg.from_h, side="right") - 1, 0, last_month)
    last = np.clip(np.searchsorted(edges_h, seg.to_h, side="left") - 1, 0, last_month)
    count = np.maximum(last - first + 1, 1)
    owner = np.repeat(np.arange(len(count), dtype=np.int64), count)
    rank = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    month = first[owner] + rank
    from_h = np.maximum(seg.from_h[owner], edges_h[month])
    to_h = np.maximum(from_h, np.minimum(seg.to_h[owner], edges_h[month + 1]))
    return Pieces(owner, month, from_h, to_h)


def piece_revenue_usd(
    model: Model, seg: Segments, owner: NDArray[np.int64], from_h: FloatArray, to_h: FloatArray
) -> FloatArray:
    """Revenue of segment ``owner[i]``'s GPUs over [from_h[i], to_h[i]) at its cohort's price
    (zero for internal tenants)."""
    revenue = np.zeros(len(owner))
    cohort, gpus, charged = seg.cohort[owner], seg.gpus[owner], seg.charged[owner]
    for c, price in enumerate(model.prices):
        mine = charged & (cohort == c)
        revenue[mine] = gpus[mine] * price.integral_array(from_h[mine], to_h[mine])
    return revenue


@dataclass(frozen=True)
class CreditUse:
    """The part of each piece paid with credits: its list-price value and its GPU-hours."""

    usd: FloatArray
    gpu_h: FloatArray


def credit_use(model: Model, seg: Segments, pieces: Pieces) -> CreditUse:
    """Which GPU-hours each job paid with credits, and when.

    A job draws credits at its cohort's price only for its hours inside its tenant's grant window
    [granted, expires), so those hours are its *eligible* ones. Where its credits cover all of
    them (every job but the one that exhausts a grant) this is exact: the credit-paid hours are
    the eligible hours. The job that exhausts a grant pays part of a stretch from credits and the
    rest in cash, and the model does not say which hours were which; there each eligible piece
    is counted as paid with credits in the job's ratio of credits drawn to eligible revenue.
    So per piece: credit = ratio x eligible revenue, credit GPU-hours = ratio x eligible
    GPU-hours, and summed over a job's pieces the credit is exactly its credits drawn.
    """
    rec = model.recorder
    n_tenants = len(model.scenario.tenants)
    # Tenants without a grant get an empty window.
    opens, closes = np.zeros(n_tenants), np.zeros(n_tenants)
    for tenant, account in model.billing.accounts.items():
        opens[tenant], closes[tenant] = account.granted_h, account.expires_h
    job = seg.job[pieces.seg]
    tenant_of = model.jobs.tenant[job]
    lo = np.maximum(pieces.from_h, opens[tenant_of])
    hi = np.maximum(lo, np.minimum(pieces.to_h, closes[tenant_of]))
    eligible_usd = piece_revenue_usd(model, seg, pieces.seg, lo, hi)
    eligible_gpu_h = seg.gpus[pieces.seg] * (hi - lo)
    n_jobs = len(model.jobs)
    drawn = np.bincount(
        np.frombuffer(rec.credit_job, dtype=np.int64),
        np.frombuffer(rec.credit_usd),
        minlength=n_jobs,
    )
    eligible_per_job = np.bincount(job, eligible_usd, minlength=n_jobs)
    ratio = np.divide(drawn, eligible_per_job, out=np.zeros(n_jobs), where=eligible_per_job > 0)[
        job
    ]
    return CreditUse(usd=ratio * eligible_usd, gpu_h=ratio * eligible_gpu_h)


LEDGER_COLUMNS = (
    "month",
    "from_h",
    "to_h",
    "cohort",
    "gpu_model",
    "region",
    "gpus_in_service",
    "in_service_gpu_h",
    "busy_gpu_h",
    "utilisation",
    "revenue_usd",
    "potential_revenue_usd",
    "opex_usd",
    "leased_gpu_h",
    "lease_revenue_usd",
    "margin_usd",
    "capex_spent_usd",
    "depreciation_usd",
    "written_off_usd",
    "book_value_usd",
    "cumulative_revenue_usd",
    "payback_to_date",
)


def _ledger(
    model: Model, seg: Segments, months: Months, pieces: Pieces, piece_revenue: FloatArray
) -> pd.DataFrame:
    """One row per calendar month and cohort: use, revenue, costs and book value.

    Revenue is earned as GPU-hours are used (each stretch's price integrated over its part in the
    month), so summed over months it is the cohort's ``revenue_usd``; GPU-hours and opex likewise.
    Potential revenue counts in-service GPU-hours before obsolescence only, as in ``cohorts``.
    The book value rolls forward: its value at a month's end is the previous month's plus
    ``capex_spent_usd`` less ``depreciation_usd`` and ``written_off_usd`` (see :class:`BookValue`).
    """
    n_months, n_cohorts = len(months.first_day), len(model.cohorts)
    key = seg.cohort[pieces.seg] * n_months + pieces.month
    size = n_cohorts * n_months
    revenue = np.bincount(key, piece_revenue, minlength=size).reshape(n_cohorts, n_months)
    held_gpu_h = seg.gpus[pieces.seg] * (pieces.to_h - pieces.from_h)
    busy = np.bincount(key, held_gpu_h, minlength=size).reshape(n_cohorts, n_months)
    frames = [_cohort_ledger(model, seg, c, months, revenue[c], busy[c]) for c in range(n_cohorts)]
    if not frames:
        return _empty(LEDGER_COLUMNS, labels=("month", "cohort", "gpu_model", "region"))
    table = pd.concat(frames, ignore_index=True)
    order = np.argsort(np.tile(np.arange(n_months), n_cohorts), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _cohort_ledger(
    model: Model,
    seg: Segments,
    cohort: int,
    months: Months,
    revenue_usd: FloatArray,
    busy_gpu_h: FloatArray,
) -> pd.DataFrame:
    """The ledger rows of one cohort, one per month."""
    c, price = model.cohorts[cohort], model.prices[cohort]
    t0, t1 = months.edges_h[:-1], months.edges_h[1:]
    in_service = level_integral(*_in_service_events(model, seg, [cohort]), months.edges_h)
    opex = in_service * price.opex_usd_per_gpu_h
    book = book_value(model, cohort)
    leased_share, usd_per_idle_gpu_h = lease_usd_per_idle_gpu_h(model)[cohort]
    idle_gpu_h = np.maximum(0.0, in_service - busy_gpu_h)
    lease = idle_gpu_h * usd_per_idle_gpu_h
    cumulative = np.cumsum(revenue_usd + lease)
    return pd.DataFrame(
        {
            "month": months.first_day,
            "from_h": t0,
            "to_h": t1,
            "cohort": c.name,
            "gpu_model": c.model,
            "region": c.region,
            "gpus_in_service": in_service / (t1 - t0),
            "in_service_gpu_h": in_service,
            "busy_gpu_h": busy_gpu_h,
            "utilisation": np.divide(
                busy_gpu_h, in_service, out=np.full(len(t0), np.nan), where=in_service > 0
            ),
            "revenue_usd": revenue_usd,
            "potential_revenue_usd": _potential_revenue_usd(model, cohort, months),
            "opex_usd": opex,
            "leased_gpu_h": idle_gpu_h * leased_share,
            "lease_revenue_usd": lease,
            "margin_usd": revenue_usd + lease - opex,
            "capex_spent_usd": book.capex_spent_usd(t0, t1),
            "depreciation_usd": book.depreciation_usd(t0, t1),
            "written_off_usd": book.written_off_usd(t0, t1),
            "book_value_usd": book.book_value_usd(t1),
            "cumulative_revenue_usd": cumulative,
            "payback_to_date": cumulative / book.capex_usd,
        }
    )


def _potential_revenue_usd(model: Model, cohort: int, months: Months) -> FloatArray:
    """List price x the cohort's in-service GPU-hours before obsolescence, per month."""
    rec, price = model.recorder, model.prices[cohort]
    entered = dict(zip(rec.in_service_cohort, rec.in_service_h, strict=True))
    if cohort not in entered:
        return np.zeros(len(months.first_day))
    retired = dict(zip(rec.retired_cohort, rec.retired_h, strict=True))
    lo = entered[cohort]
    hi = max(lo, min(retired.get(cohort, model.scenario.horizon_h), price.obsolete_at_h))
    a = np.clip(months.edges_h[:-1], lo, hi)
    b = np.clip(months.edges_h[1:], lo, hi)
    return model.cohorts[cohort].gpus * price.curve.integral_array(a, b)


CREDIT_LEDGER_COLUMNS = (
    "month",
    "from_h",
    "to_h",
    "tenant",
    "revenue_usd",
    "cash_usd",
    "credits_burned_usd",
    "credits_granted_usd",
    "credits_forfeited_usd",
    "revenue_escrow_view_usd",
    "credit_gpu_h",
)


def _credit_ledger(
    model: Model,
    seg: Segments,
    months: Months,
    pieces: Pieces,
    piece_revenue: FloatArray,
    credit: CreditUse,
) -> pd.DataFrame:
    """One row per calendar month and credit tenant: both accounting views of its deal.

    The burn view recognises credits as they are burned (``credits_burned_usd``, timed by when
    the GPU-hours they paid for were used: see :func:`credit_use`); the escrow view recognises
    the whole grant in the month it is granted (``credits_granted_usd``). The tenant's revenue
    is ``cash_usd + credits_burned_usd`` in the first view and ``revenue_escrow_view_usd =
    cash_usd + credits_granted_usd`` in the second. Forfeits fall in the month of expiry.
    """
    n_months = len(months.first_day)
    names = [t.name for t in model.scenario.tenants]
    deals = sorted(model.billing.accounts)
    piece_tenant = model.jobs.tenant[seg.job[pieces.seg]]
    frames = []
    for tenant in deals:
        mine = piece_tenant == tenant
        revenue = np.bincount(pieces.month[mine], piece_revenue[mine], minlength=n_months)
        burned = np.bincount(pieces.month[mine], credit.usd[mine], minlength=n_months)
        gpu_h = np.bincount(pieces.month[mine], credit.gpu_h[mine], minlength=n_months)
        granted, forfeited = np.zeros(n_months), np.zeros(n_months)
        for e in model.recorder.credit_events:
            if e.tenant == tenant and e.kind in ("granted", "expired"):
                into = granted if e.kind == "granted" else forfeited
                into[months.of(np.array(e.t_h))] += e.amount_usd
        cash = revenue - burned
        frames.append(
            pd.DataFrame(
                {
                    "month": months.first_day,
                    "from_h": months.edges_h[:-1],
                    "to_h": months.edges_h[1:],
                    "tenant": names[tenant],
                    "revenue_usd": revenue,
                    "cash_usd": cash,
                    "credits_burned_usd": burned,
                    "credits_granted_usd": granted,
                    "credits_forfeited_usd": forfeited,
                    "revenue_escrow_view_usd": cash + granted,
                    "credit_gpu_h": gpu_h,
                }
            )
        )
    if not frames:
        return _empty(CREDIT_LEDGER_COLUMNS, labels=("month", "tenant"))
    table = pd.concat(frames, ignore_index=True)
    order = np.argsort(np.tile(np.arange(n_months), len(frames)), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _empty(columns: Sequence[str], labels: Sequence[str]) -> pd.DataFrame:
    """A table with no rows: ``labels`` columns hold objects (dates, names), the rest floats."""
    return pd.DataFrame(
        {name: pd.Series([], dtype=object if name in labels else np.float64) for name in columns}
    )
