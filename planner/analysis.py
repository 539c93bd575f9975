"""Collectors: the recorder's raw records → tidy pandas tables of one run.

Time-weighted levels (GPUs busy, queue length) are rebuilt here from job start and end times, so
the event loop pays nothing for them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.model.engine import Model
from planner.model.supply import OrderOutcome
from planner.scenario.schema import HOURS_PER_DAY, HOURS_PER_YEAR

FloatArray = NDArray[np.float64]

CLASSES = ("credit", "paying", "internal")
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


def collect(model: Model) -> Tables:
    """Build every table from a model that has run."""
    seg = segments(model)
    jobs = _jobs(model, seg)
    return Tables(
        jobs=jobs,
        timeseries=_timeseries(model, jobs, seg),
        pool_timeseries=_pool_timeseries(model, jobs, seg),
        cohorts=_cohorts(model, seg),
        tenants=_tenants(model, jobs),
        orders=_orders(model),
        credit_events=_credit_events(model),
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
    job, cohort, from_h = s_job, s_cohort, s_h.copy()
    gpus = model.jobs.gpus[job]
    revenue = np.zeros(len(job))
    is_charged = np.array([t.tenant_class != "internal" for t in model.scenario.tenants])
    charged = is_charged[model.jobs.tenant[job]]
    for c, price in enumerate(model.prices):
        mine = charged & (cohort == c)
        revenue[mine] = gpus[mine] * price.integral_array(from_h[mine], to_h[mine])
    return Segments(job, cohort, from_h, to_h, gpus, charged, revenue)


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
    cohort[seg.job] = seg.cohort
    end[np.frombuffer(rec.end_job, dtype=np.int64)] = np.frombuffer(rec.end_h)

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
            "restarts": np.zeros(n, dtype=np.int64),
            "lost_gpu_h": np.zeros(n),
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
    if len(times_h) == 0:
        return np.zeros(len(edges) - 1)
    order = np.argsort(times_h, kind="stable")
    t = np.clip(times_h[order], 0.0, horizon_h)
    level = np.cumsum(deltas[order])
    # area[k]: integral of the level from 0 to t[k] (the level before t[0] is 0).
    area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(t))])
    k = np.searchsorted(t, edges, side="right") - 1
    at_edges = np.where(
        k >= 0,
        area[np.maximum(k, 0)] + level[np.maximum(k, 0)] * (edges - t[np.maximum(k, 0)]),
        0.0,
    )
    return np.asarray(np.diff(at_edges) / np.diff(edges), dtype=np.float64)


def _busy_events(jobs: pd.DataFrame, horizon_h: float) -> tuple[FloatArray, FloatArray]:
    started = jobs[jobs["start_h"].notna()]
    starts = started["start_h"].to_numpy()
    ends = started["end_h"].fillna(horizon_h).to_numpy()
    gpus = started["gpus"].to_numpy(dtype=np.float64)
    return np.concatenate([starts, ends]), np.concatenate([gpus, -gpus])


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
    frame["gpus_busy"] = daily_mean(*_busy_events(jobs, horizon), horizon)
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
    frame["gpus_queued"] = daily_mean(
        np.concatenate([submit, started]), np.concatenate([queued_gpus, -started_gpus]), horizon
    )
    edges = np.arange(len(frame) + 1) * HOURS_PER_DAY
    frame["jobs_submitted"] = np.histogram(submit, edges)[0]
    frame["jobs_started"] = np.histogram(started, edges)[0]
    frame["jobs_finished"] = np.histogram(jobs["end_h"].dropna().to_numpy(), edges)[0]
    return frame


def _pool_timeseries(model: Model, jobs: pd.DataFrame, seg: Segments) -> pd.DataFrame:
    horizon = model.scenario.horizon_h
    frames = []
    pools = sorted({(c.model, c.region) for c in model.cohorts})
    for gpu, region in pools:
        members = [c.index for c in model.cohorts if (c.model, c.region) == (gpu, region)]
        frame = _day_frame(model)
        frame.insert(2, "gpu_model", gpu)
        frame.insert(3, "region", region)
        frame["gpus_in_service"] = daily_mean(*_in_service_events(model, seg, members), horizon)
        on_pool = jobs[(jobs["gpu_model"] == gpu) & (jobs["region"] == region)]
        frame["gpus_busy"] = daily_mean(*_busy_events(on_pool, horizon), horizon)
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
    sc, rec = model.scenario, model.recorder
    horizon = sc.horizon_h
    in_service = dict(zip(rec.in_service_cohort, rec.in_service_h, strict=True))
    retired = dict(zip(rec.retired_cohort, rec.retired_h, strict=True))
    book_life_h = sc.market.book_life_years * HOURS_PER_YEAR
    rows = []
    for c, price in zip(model.cohorts, model.prices, strict=True):
        obsolete = price.obsolete_at_h
        mine = seg.cohort == c.index
        a, b = seg.from_h[mine], seg.to_h[mine]
        revenue = float(seg.revenue_usd[mine].sum())
        paying = seg.charged[mine]
        before = float(
            np.sum(
                seg.gpus[mine][paying]
                * price.curve.integral_array(a[paying], np.minimum(b[paying], obsolete))
            )
        )
        served_from = in_service.get(c.index, math.nan)
        served_to = retired.get(c.index, horizon)
        in_service_gpu_h = potential = 0.0
        if not math.isnan(served_from):
            potential = c.gpus * price.curve.integral(served_from, min(served_to, obsolete))
            in_service_gpu_h = _in_service_gpu_h(model, seg, c.index)
        busy_gpu_h = float(np.sum(seg.gpus[mine] * (b - a)))
        capex = c.gpus * c.unit_capex_usd
        book_left = capex * max(0.0, 1.0 - (obsolete - c.in_service_h) / book_life_h)
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
                "revenue_usd": revenue,
                "revenue_before_obsolescence_usd": before,
                "potential_revenue_usd": potential,
                "payback": before / capex,
                "capture": before / potential if potential > 0 else math.nan,
                "idle_value_usd": potential - before,
                "opex_usd": in_service_gpu_h * price.opex_usd_per_gpu_h,
                "book_value_at_obsolescence_usd": book_left,
            }
        )
    return pd.DataFrame(rows)


def _tenants(model: Model, jobs: pd.DataFrame) -> pd.DataFrame:
    sc = model.scenario
    horizon = sc.horizon_h
    waits = censored_wait_h(jobs, horizon)
    events = _credit_events(model)
    rows = []
    for i, t in enumerate(sc.tenants):
        mine = (jobs["tenant"] == t.name).to_numpy()
        j = jobs[mine]
        w = waits[mine]
        mine_events = events[events["tenant"] == t.name] if len(events) else events
        granted = (
            float(mine_events.loc[mine_events["kind"] == "granted", "amount_usd"].sum())
            if len(events)
            else 0.0
        )
        forfeited = (
            float(mine_events.loc[mine_events["kind"] == "expired", "amount_usd"].sum())
            if len(events)
            else 0.0
        )
        account = model.billing.accounts.get(i)
        burned = float(j["credit_usd"].sum())
        rows.append(
            {
                "tenant": t.name,
                "tenant_class": t.tenant_class,
                "jobs_submitted": int(mine.sum()),
                "jobs_skipped": int(
                    np.sum(
                        model.jobs.tenant[np.frombuffer(model.recorder.skipped_job, dtype=np.int64)]
                        == i
                    )
                ),
                "jobs_finished": int((j["state"] == "finished").sum()),
                "jobs_running": int((j["state"] == "running").sum()),
                "jobs_queued": int((j["state"] == "queued").sum()),
                "gpu_h": float(j["gpu_h"].sum()),
                "wait_mean_h": float(w.mean()) if len(w) else math.nan,
                "wait_p50_h": _pct(w, 50),
                "wait_p95_h": _pct(w, 95),
                "wait_p99_h": _pct(w, 99),
                "revenue_usd": float(j["revenue_usd"].sum()),
                "cash_usd": float(j["cash_usd"].sum()),
                "credits_granted_usd": granted,
                "credits_burned_usd": burned,
                "credits_forfeited_usd": forfeited,
                "credits_left_usd": account.balance_usd if account is not None else 0.0,
                "credit_state": account.state if account is not None else None,
            }
        )
    del horizon
    return pd.DataFrame(rows)


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
