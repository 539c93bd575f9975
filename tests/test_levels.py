"""A level rebuilt from its changes: integrals over intervals, without sorting the changes."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.analysis import Level, daily_mean, level_integral
from planner.analysis.timeseries import DayIndex
from planner.stats import time_average

changes = st.lists(
    st.tuples(
        st.floats(-10.0, 60.0, allow_nan=False).map(lambda t: round(t, 1)),
        st.integers(-8, 8),
    ),
    min_size=1,
    max_size=40,
)
edges = st.lists(
    st.floats(0.0, 50.0).map(lambda t: round(t, 1)), min_size=2, max_size=8, unique=True
)


@settings(max_examples=200, deadline=None)
@given(changes, edges)
def test_integral_matches_the_step_function_walked_in_time_order(
    points: list[tuple[float, int]], bounds: list[float]
) -> None:
    """Each interval's integral equals the time average of the level, rebuilt in time order
    (ties in any order: only the level after the last of them lasts), times its length."""
    times = np.array([t for t, _ in points])
    deltas = np.array([float(d) for _, d in points])
    cuts = np.sort(np.array(bounds))
    order = np.argsort(times, kind="stable")
    walked = [
        time_average(times[order], np.cumsum(deltas[order]), t_end=b, t_start=a) * (b - a)
        for a, b in pairwise(cuts)
    ]
    assert level_integral(times, deltas, cuts) == pytest.approx(walked, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(changes, st.floats(1.0, 80.0).map(lambda t: round(t, 1)))
def test_daily_means_match_the_step_function_day_by_day(
    points: list[tuple[float, int]], horizon_h: float
) -> None:
    """Days are [24 k, 24 k + 24) up to the horizon, the last one cut short by it."""
    times = np.array([t for t, _ in points])
    deltas = np.array([float(d) for _, d in points])
    order = np.argsort(times, kind="stable")
    bounds = [*np.arange(0.0, horizon_h, 24.0), horizon_h]
    walked = [
        time_average(times[order], np.cumsum(deltas[order]), t_end=b, t_start=a)
        for a, b in pairwise(bounds)
    ]
    assert daily_mean(times, deltas, horizon_h) == pytest.approx(walked, abs=1e-9)


def test_changes_before_the_first_edge_count_from_it_and_after_the_last_nowhere() -> None:
    """+3 at t=-5 and +100 at t=10: over [0, 4) and [4, 10) the level is 3 throughout."""
    got = level_integral(np.array([-5.0, 10.0]), np.array([3.0, 100.0]), np.array([0.0, 4.0, 10.0]))
    assert got.tolist() == [12.0, 18.0]


def test_daily_mean_averages_a_partial_last_day_over_its_own_length() -> None:
    """Two GPUs busy from 12 h to 30 h on a 36-hour horizon: day 0 half busy, day 1 (12 h
    long) busy half of it."""
    got = daily_mean(np.array([12.0, 30.0]), np.array([2.0, -2.0]), horizon_h=36.0)
    assert got.tolist() == [1.0, 1.0]


def test_one_day_index_carries_other_amounts_each_with_its_time() -> None:
    index = DayIndex.of(np.array([5.0, 1.0, 3.0]), horizon_h=10.0)
    assert (index.sums(np.array([2.0, 2.0, 2.0])).means() * 10.0).tolist() == [[42.0]]
    assert (index.sums(np.array([2.0, 0.0, 0.0])).means() * 10.0).tolist() == [[10.0]]


def test_daily_means_of_labelled_parts_equal_each_part_alone_exactly() -> None:
    """Parts of one level (a pool's share of the fleet's busy GPUs) come out exactly as the
    levels of their own changes would, days past the horizon and before 0 included."""
    rng = np.random.default_rng(7)
    times = rng.uniform(-30.0, 130.0, 500)
    deltas = rng.normal(0.0, 3.0, 500)
    labels = rng.integers(0, 3, 500)
    horizon_h = 100.0  # four whole days and a partial one
    parts = Level.of(times, deltas).daily_means(horizon_h, labels, 3)
    assert parts.shape == (3, 5)
    for k in range(3):
        alone = Level.of(times[labels == k], deltas[labels == k]).daily_mean(horizon_h)
        assert parts[k].tolist() == alone.tolist()
    walked = level_integral(times, deltas, np.array([0.0, 24.0, 48.0, 72.0, 96.0, 100.0]))
    assert Level.of(times, deltas).daily_mean(horizon_h) == pytest.approx(
        walked / np.array([24.0, 24.0, 24.0, 24.0, 4.0]), rel=1e-12
    )


def test_a_level_summed_part_by_part_equals_the_level_of_all_its_changes() -> None:
    """Runs' starts and their ends, summed each on its own day index, give the daily means of
    the level of every change at once (to rounding: the sums add in another order)."""
    rng = np.random.default_rng(11)
    starts_h = rng.uniform(-20.0, 90.0, 400)
    ends_h = starts_h + rng.exponential(15.0, 400)
    gpus = rng.integers(1, 9, 400).astype(np.float64)
    horizon_h = 100.0
    parts = DayIndex.of(starts_h, horizon_h).sums(gpus) + -DayIndex.of(ends_h, horizon_h).sums(gpus)
    whole = Level.of(np.concatenate([starts_h, ends_h]), np.concatenate([gpus, -gpus]))
    assert parts.means()[0] == pytest.approx(whole.daily_mean(horizon_h), rel=1e-12, abs=1e-12)


def test_one_amount_for_every_change_counts_the_changes() -> None:
    times_h = np.array([1.0, 5.0, 30.0, 30.0, 200.0])
    index = DayIndex.of(times_h, 48.0)
    counted = index.sums(-1.0).means()[0]
    assert counted.tolist() == index.sums(-np.ones(5)).means()[0].tolist()
    # Day 0: one change from 1 h, one from 5 h: (23 + 19) / 24 below zero. The change past the
    # horizon counts nowhere.
    assert counted == pytest.approx([-(23.0 + 19.0) / 24.0, -2.0 - 2.0 * 18.0 / 24.0])
