"""Time-weighted levels rebuilt from events, and the daily ``timeseries`` and ``pool_timeseries``.

A level (GPUs in service, busy, down; jobs and GPUs queued) is a start of 0 plus changes at event
times; its integral over an interval is in level-hours (e.g. GPU-hours).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.analysis.columns import FloatArray
from planner.analysis.runs import Segments
from planner.model.record import RunRecord
from planner.scenario.schema import HOURS_PER_DAY


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
    record: RunRecord, seg: Segments, cohorts: Sequence[int] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Changes in GPUs in service: a cohort enters whole; a retired one leaves as it drains.

    At retirement its free GPUs leave at once; GPUs still running a job leave when it ends.
    """
    rec = record.recorded
    into = rec.in_service_cohort
    sizes = np.array([c.gpus for c in record.cohorts], dtype=np.float64)
    times = [rec.in_service_h]
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


def _in_service_gpu_h(record: RunRecord, seg: Segments, cohort: int) -> float:
    """GPU-hours a cohort was in service up to the horizon."""
    t, d = _in_service_events(record, seg, [cohort])
    horizon = record.scenario.horizon_h
    order = np.argsort(t, kind="stable")
    t, level = np.minimum(t[order], horizon), np.cumsum(d[order])
    return float(
        np.sum(level[:-1] * np.diff(t)) + (level[-1] * (horizon - t[-1]) if len(t) else 0.0)
    )


def _down_events(record: RunRecord) -> tuple[FloatArray, FloatArray]:
    """GPUs on failed nodes under repair: up at each failure, down at each repair."""
    rec = record.recorded
    times = np.concatenate([rec.failure_h, rec.repair_h])
    gpus = np.concatenate([rec.failure_gpus, -rec.repair_gpus]).astype(np.float64)
    return times, gpus


def _day_frame(record: RunRecord) -> pd.DataFrame:
    sc = record.scenario
    days = sc.horizon_days
    return pd.DataFrame(
        {"day": np.arange(days), "date": pd.date_range(sc.start, periods=days, freq="D").date}
    )


def _timeseries(record: RunRecord, jobs: pd.DataFrame, seg: Segments) -> pd.DataFrame:
    horizon = record.scenario.horizon_h
    frame = _day_frame(record)
    frame["gpus_in_service"] = daily_mean(*_in_service_events(record, seg), horizon)
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
    frame["gpus_down"] = daily_mean(*_down_events(record), horizon)
    frame["gpus_queued"] = daily_mean(
        np.concatenate([submit, started]), np.concatenate([queued_gpus, -started_gpus]), horizon
    )
    edges = np.arange(len(frame) + 1) * HOURS_PER_DAY
    frame["jobs_submitted"] = np.histogram(submit, edges)[0]
    frame["jobs_started"] = np.histogram(started, edges)[0]
    frame["jobs_finished"] = np.histogram(jobs["end_h"].dropna().to_numpy(), edges)[0]
    return frame


def _pool_timeseries(record: RunRecord, seg: Segments) -> pd.DataFrame:
    horizon = record.scenario.horizon_h
    frames = []
    pools = sorted({(c.model, c.region) for c in record.cohorts})
    for gpu, region in pools:
        members = [c.index for c in record.cohorts if (c.model, c.region) == (gpu, region)]
        frame = _day_frame(record)
        frame.insert(2, "gpu_model", gpu)
        frame.insert(3, "region", region)
        frame["gpus_in_service"] = daily_mean(*_in_service_events(record, seg, members), horizon)
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
