"""Time-weighted levels rebuilt from events, and the daily ``timeseries`` and ``pool_timeseries``.

A level (GPUs in service, busy, down; jobs and GPUs queued) is a start of 0 plus changes at event
times; its integral over an interval is in level-hours (e.g. GPU-hours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.analysis.columns import FloatArray, _sum_by
from planner.analysis.jobs import JobTimes
from planner.analysis.runs import Segments
from planner.model.record import RunRecord
from planner.scenario.schema import HOURS_PER_DAY


def daily_mean(times_h: FloatArray, deltas: FloatArray, horizon_h: float) -> FloatArray:
    """Time-average per day of a level that changes by ``deltas`` at ``times_h`` (from 0 at t=0).

    The last day may be partial; it is averaged over its own length.
    """
    return Level.of(times_h, deltas).daily_mean(horizon_h)


def level_integral(times_h: FloatArray, deltas: FloatArray, edges_h: FloatArray) -> FloatArray:
    """Integral of a level over each [edges_h[k], edges_h[k+1]) (level-hours, e.g. GPU-hours).

    The level starts at 0 and changes by ``deltas`` at ``times_h``; times are clipped to the
    edges' span.
    """
    return Level.of(times_h, deltas).integral(edges_h)


@dataclass(frozen=True)
class Level:
    """A level's changes, in any order: ``deltas[i]`` at ``t_h[i]``.

    Its integral over each of a set of intervals is built from two sums per interval (what
    changed before it, and what changed inside it weighted by the time left), so nothing is
    sorted: the levels are as long as twice the runs, and a sort of them cost more than the
    rest of the table phase.
    """

    t_h: FloatArray
    deltas: FloatArray

    @classmethod
    def of(cls, times_h: FloatArray, deltas: FloatArray) -> Level:
        return cls(np.asarray(times_h, dtype=np.float64), np.asarray(deltas, dtype=np.float64))

    def integral(self, edges_h: FloatArray) -> FloatArray:
        """:func:`level_integral` of this level.

        Over interval k, [e_k, e_k+1), the level is the sum of the changes before e_k, held
        for the whole interval, plus each change inside it, held from its time to e_k+1. A
        change before the first edge counts from the first edge; one at or after the last
        edge counts nowhere.
        """
        edges_h = np.asarray(edges_h, dtype=np.float64)
        if len(edges_h) < 2:
            return np.zeros(0)
        t = np.maximum(self.t_h, edges_h[0])
        return self._integral(np.searchsorted(edges_h, t, side="right") - 1, t, edges_h)

    def _integral(
        self, interval: NDArray[np.int64], t: FloatArray, edges_h: FloatArray
    ) -> FloatArray:
        """:meth:`integral`, given each change's interval (``len(edges_h) - 1`` or more past
        the last edge) and its time ``t`` no earlier than the first edge."""
        n_intervals = len(edges_h) - 1
        inside = interval < n_intervals
        if not inside.all():
            interval, t, deltas = interval[inside], t[inside], self.deltas[inside]
        else:
            deltas = self.deltas
        changed = _sum_by(interval, deltas, n_intervals)
        before = np.concatenate([[0.0], np.cumsum(changed[:-1])])
        held_to_end = _sum_by(interval, deltas * (edges_h[interval + 1] - t), n_intervals)
        return np.asarray(before * np.diff(edges_h) + held_to_end, dtype=np.float64)

    def daily_mean(self, horizon_h: float) -> FloatArray:
        """:func:`daily_mean` of this level."""
        mean: FloatArray = self.daily_means(horizon_h)[0]
        return mean

    def daily_means(
        self, horizon_h: float, labels: NDArray[np.int64] | None = None, count: int = 1
    ) -> FloatArray:
        """The daily mean of each part of this level, one row per part: the changes labelled
        0, 1, ... ``count - 1`` (one label per change, as given), or all of them as one part.

        Each part's days are as :meth:`integral` would give them, summed in the same order, so
        a part comes out exactly as the level of its changes alone would.
        """
        return DayIndex.of(self.t_h, horizon_h).sums(self.deltas, labels, count).means()


@dataclass(frozen=True)
class DayIndex:
    """Where changes at some times fall among the days of [0, horizon): each change's day and
    the hours left in that day after it. The last day may be partial.

    A change before 0 counts from 0. One at or after the horizon goes to one more day past the
    last, counted nowhere; held from the horizon, it weighs nothing there. Days are whole from
    0, so a change's day is a division, not a search.

    Built once per array of times and shared by every level that changes at them (a job's
    submission moves both the jobs and the GPUs queued), and summed part by part, so a level
    made of several arrays of changes (runs' starts and their ends) is never concatenated.
    """

    day: NDArray[np.intp]
    left_in_day_h: FloatArray
    edges_h: FloatArray

    @classmethod
    def of(cls, t_h: FloatArray, horizon_h: float) -> DayIndex:
        edges_h = np.append(np.arange(0.0, horizon_h, HOURS_PER_DAY), horizon_h)
        n_days = len(edges_h) - 1
        t = np.clip(np.asarray(t_h, dtype=np.float64), 0.0, horizon_h)
        day = (t / HOURS_PER_DAY).astype(np.intp)
        day[t >= horizon_h] = n_days
        left = np.append(edges_h[1:], horizon_h)[day]
        left -= t
        return cls(day, left, edges_h)

    def sums(
        self,
        deltas: FloatArray | float,
        labels: NDArray[np.int64] | None = None,
        count: int = 1,
    ) -> DaySums:
        """The changes by ``deltas`` (one each, or one for all) summed per label and day:
        labelled 0, 1, ... ``count - 1`` (one label per change), or all as one part."""
        width = len(self.edges_h)  # the days and one past the horizon
        slot = self.day if labels is None else labels * width + self.day
        size = count * width
        if np.ndim(deltas) == 0:
            # One amount for every change (a job joining or leaving the queue): counts scaled.
            amount = float(deltas)
            changed = np.bincount(slot, minlength=size).astype(np.float64)
            changed *= amount
            held = _sum_by(slot, self.left_in_day_h, size)
            held *= amount
        else:
            changed = _sum_by(slot, deltas, size)  # type: ignore[arg-type]
            held = _sum_by(slot, deltas * self.left_in_day_h, size)
        return DaySums(changed.reshape(count, width), held.reshape(count, width), self.edges_h)


@dataclass(frozen=True)
class DaySums:
    """A level's changes summed per part and day (one row per part, one column per day and a
    last one past the horizon): their total, and each weighted by the hours left in its day.

    The sums of a level's changes at several arrays of times add up to the sums of the level
    (to rounding: each array is summed on its own, then the arrays' sums are added), and the
    sums of the opposite changes are exactly their negation.
    """

    changed: FloatArray
    held_h: FloatArray
    edges_h: FloatArray

    def __add__(self, other: DaySums) -> DaySums:
        return DaySums(self.changed + other.changed, self.held_h + other.held_h, self.edges_h)

    def __neg__(self) -> DaySums:
        return DaySums(-self.changed, -self.held_h, self.edges_h)

    def means(self) -> FloatArray:
        """Each part's daily mean, one row per part: over day k, what changed before it, held
        all day, plus what changed in it, held for the rest of the day."""
        widths_h = np.diff(self.edges_h)
        n_days = len(widths_h)
        before = np.zeros((len(self.changed), n_days))
        np.cumsum(self.changed[:, : n_days - 1], axis=1, out=before[:, 1:])
        integral = before * widths_h + self.held_h[:, :n_days]
        return np.asarray(integral / widths_h, dtype=np.float64)


def queued_daily_means(
    submit_h: FloatArray,
    first_start_h: FloatArray,
    gpus_submitted: FloatArray,
    gpus_started: FloatArray,
    horizon_h: float,
) -> tuple[FloatArray, FloatArray]:
    """The daily means of jobs and of GPUs queued: a job waits from its submission to its
    first start (``first_start_h``, one per job that started, with its ``gpus_started``)."""
    # One index at a time: each is two numbers per job.
    joined = DayIndex.of(submit_h, horizon_h)
    jobs_joined, gpus_joined = joined.sums(1.0), joined.sums(gpus_submitted)
    del joined
    left = DayIndex.of(first_start_h, horizon_h)
    jobs = (jobs_joined + -left.sums(1.0)).means()[0]
    gpus = (gpus_joined + -left.sums(gpus_started)).means()[0]
    return jobs, gpus


@dataclass(frozen=True)
class Busy:
    """The daily mean of GPUs busy, in the fleet and in each pool (one row per pool, in
    :func:`pool_keys` order)."""

    fleet: FloatArray
    pools: FloatArray


def pool_keys(record: RunRecord) -> tuple[list[tuple[str, str]], NDArray[np.int64]]:
    """The fleet's pools (GPU model, region), sorted, and each cohort's pool."""
    pools = sorted({(c.model, c.region) for c in record.cohorts})
    pool_of = np.array([pools.index((c.model, c.region)) for c in record.cohorts], np.int64)
    return pools, pool_of


def _busy(record: RunRecord, seg: Segments) -> Busy:
    """GPUs taken at each run's start and given back at its end (a job interrupted by a
    failure holds nothing while it waits to restart), by day."""
    horizon = record.scenario.horizon_h
    gpus = seg.gpus.astype(np.float64)
    starts, ends = DayIndex.of(seg.from_h, horizon), DayIndex.of(seg.to_h, horizon)
    fleet = (starts.sums(gpus) + -ends.sums(gpus)).means()
    pools, pool_of = pool_keys(record)
    if len(pools) <= 1:  # one pool (the common case) is the whole fleet
        return Busy(fleet[0], fleet[: len(pools)])
    pool = pool_of[seg.cohort]
    by_pool = starts.sums(gpus, pool, len(pools)) + -ends.sums(gpus, pool, len(pools))
    return Busy(fleet[0], by_pool.means())


@dataclass(frozen=True)
class InService:
    """Changes in GPUs in service, each on its cohort: a cohort enters whole; a retired one
    leaves as it drains. At retirement its free GPUs leave at once; GPUs still running a job
    leave when it ends."""

    t_h: FloatArray
    deltas: FloatArray
    cohort: NDArray[np.int64]

    def level(self, cohorts: Sequence[int] | None = None) -> Level:
        """GPUs in service in ``cohorts`` (default: all)."""
        if cohorts is None:
            return Level.of(self.t_h, self.deltas)
        keep = np.isin(self.cohort, np.asarray(cohorts, dtype=np.int64))
        return Level.of(self.t_h[keep], self.deltas[keep])

    def gpu_h(self, cohort: int, horizon_h: float) -> float:
        """GPU-hours ``cohort`` was in service up to the horizon."""
        level = self.level([cohort])
        since_h = min(float(level.t_h.min()), 0.0) if len(level.t_h) else 0.0
        return float(level.integral(np.array([since_h, horizon_h]))[0])


def in_service(record: RunRecord, seg: Segments) -> InService:
    """Every change in GPUs in service of ``record``'s cohorts."""
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
    return InService(np.concatenate(times), np.concatenate(deltas), np.concatenate(owners))


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


def _timeseries(
    record: RunRecord, times: JobTimes, busy: Busy, in_service: InService
) -> pd.DataFrame:
    horizon = record.scenario.horizon_h
    n_days = record.scenario.horizon_days
    columns: dict[str, Any] = {}
    columns["gpus_in_service"] = in_service.level().daily_mean(horizon)
    columns["gpus_busy"] = busy.fleet
    columns["utilisation"] = _ratio_array(columns["gpus_busy"], columns["gpus_in_service"])
    # The jobs of the jobs table: those submitted.
    submit, start, end, gpus = (
        record.jobs.submit_h,
        times.start_h,
        times.end_h,
        record.jobs.gpus.astype(np.float64),
    )
    if times.submitted is not None:
        rows = times.submitted
        submit, start, end, gpus = submit[rows], start[rows], end[rows], gpus[rows]
    started = ~np.isnan(start)
    # Most runs start every job: then no copies of the jobs that did.
    first_start, gpus_started = (start, gpus) if started.all() else (start[started], gpus[started])
    columns["jobs_queued"], columns["gpus_queued"] = queued_daily_means(
        submit, first_start, gpus, gpus_started, horizon
    )
    del gpus, gpus_started
    columns["gpus_down"] = daily_mean(*_down_events(record), horizon)
    # Whole days from 0: the uniform-bin histogram, whose edges are exactly day * 24 h.
    days = (n_days, (0.0, n_days * HOURS_PER_DAY))
    columns["jobs_submitted"] = np.histogram(submit, *days)[0]
    columns["jobs_started"] = np.histogram(first_start, *days)[0]
    columns["jobs_finished"] = np.histogram(end[~np.isnan(end)], *days)[0]
    # One table built at once: adding columns one by one costs a pandas call each.
    return pd.concat([_day_frame(record), pd.DataFrame(columns)], axis=1)


def _pool_timeseries(record: RunRecord, busy: Busy, in_service: InService) -> pd.DataFrame:
    horizon = record.scenario.horizon_h
    frames = []
    pools, pool_of = pool_keys(record)
    for k, (gpu, region) in enumerate(pools):
        members = [c.index for c in record.cohorts if pool_of[c.index] == k]
        frame = _day_frame(record)
        frame.insert(2, "gpu_model", gpu)
        frame.insert(3, "region", region)
        frame["gpus_in_service"] = in_service.level(members).daily_mean(horizon)
        frame["gpus_busy"] = busy.pools[k]
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


def _ratio_array(num: FloatArray, den: FloatArray) -> FloatArray:
    """:func:`_ratio` of arrays: NaN where ``den`` is not positive."""
    return np.asarray(num / np.where(den > 0, den, np.nan), dtype=np.float64)
