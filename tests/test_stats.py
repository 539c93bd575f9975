"""Specification of :mod:`planner.stats`: replication intervals and time averages."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from planner.stats import Interval, mean_ci, time_average

# Student t quantiles from a printed table (two-sided 95% and 99%, 3 degrees of freedom), so the
# known-answer test does not check scipy against itself.
T_0975_DF3 = 3.182446
T_0995_DF3 = 5.840909


def test_four_samples_give_the_hand_computed_95_percent_interval() -> None:
    """[1, 2, 3, 4]: mean 2.5, s = sqrt(5/3), half-width t(0.975, 3) * s / 2."""
    ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    s = math.sqrt(5.0 / 3.0)
    half = T_0975_DF3 * s / math.sqrt(4)  # = 2.054260...
    assert ci.mean == 2.5
    assert ci.n == 4
    assert ci.level == 0.95
    assert ci.half_width == pytest.approx(half, rel=1e-6)
    assert ci.low == pytest.approx(2.5 - half, rel=1e-6)
    assert ci.high == pytest.approx(2.5 + half, rel=1e-6)
    assert ci.half_width == pytest.approx(2.054260, abs=1e-6)


def test_the_level_sets_the_t_quantile() -> None:
    """At 99%, the same four samples use t(0.995, 3) = 5.841."""
    ci = mean_ci([1.0, 2.0, 3.0, 4.0], level=0.99)
    assert ci.half_width == pytest.approx(T_0995_DF3 * math.sqrt(5.0 / 3.0) / 2, rel=1e-6)
    assert ci.level == 0.99


def test_many_samples_approach_the_normal_interval() -> None:
    """With n large the t quantile tends to z = 1.95996: mean ± 1.96 s / sqrt(n)."""
    x = np.random.default_rng(7).normal(10.0, 2.0, 100_000)
    ci = mean_ci(x)
    z_half = 1.959964 * x.std(ddof=1) / math.sqrt(len(x))
    assert ci.half_width == pytest.approx(z_half, rel=1e-4)


def test_interval_is_frozen_and_closed() -> None:
    ci = Interval(mean=1.0, low=0.5, high=1.5, n=3)
    assert ci.half_width == 0.5
    assert ci.relative_half_width == 0.5
    assert ci.contains(0.5) and ci.contains(1.5) and ci.contains(1.0)
    assert not ci.contains(0.4999) and not ci.contains(1.5001)
    assert not ci.contains(math.nan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ci.mean = 2.0  # type: ignore[misc]


def test_equal_samples_give_a_zero_width_interval() -> None:
    ci = mean_ci([3.0, 3.0, 3.0])
    assert (ci.low, ci.mean, ci.high) == (3.0, 3.0, 3.0)
    assert ci.contains(3.0)


@pytest.mark.parametrize(
    "samples",
    [
        [1.0, 2.0, 3.0, 4.0],
        (1.0, 2.0, 3.0, 4.0),
        np.array([1.0, 2.0, 3.0, 4.0]),
        pd.Series([1.0, 2.0, 3.0, 4.0]),
        (float(x) for x in range(1, 5)),
    ],
    ids=["list", "tuple", "ndarray", "series", "generator"],
)
def test_any_iterable_of_numbers_is_accepted(samples: object) -> None:
    ci = mean_ci(samples)  # type: ignore[arg-type]
    assert ci.mean == 2.5
    assert ci.n == 4


@pytest.mark.parametrize(
    ("samples", "level", "message"),
    [
        ([1.0], 0.95, "at least 2"),
        ([], 0.95, "at least 2"),
        ([1.0, math.nan], 0.95, "finite"),
        ([1.0, math.inf], 0.95, "finite"),
        ([1.0, 2.0], 1.0, "level"),
        ([1.0, 2.0], 0.0, "level"),
    ],
)
def test_bad_input_is_refused(samples: list[float], level: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mean_ci(samples, level=level)


@pytest.mark.parametrize(("n", "level"), [(3, 0.95), (10, 0.95), (10, 0.99), (30, 0.90)])
def test_coverage_of_normal_samples_is_the_nominal_level(n: int, level: float) -> None:
    """Over many independent normal samples, the interval holds the true mean ``level`` of times.

    The count of covering intervals is Binomial(trials, level); it must fall in the central
    99.9% range of that binomial. At n = 3 an interval using the normal quantile instead of
    Student t would cover only about 81% of the time and fail this.
    """
    trials = 4000
    rng = np.random.default_rng(20240 + n)
    true_mean = 5.0
    draws = rng.normal(true_mean, 3.0, size=(trials, n))
    covered = sum(mean_ci(row, level=level).contains(true_mean) for row in draws)
    low, high = scipy_stats.binom.interval(0.999, trials, level)
    assert low <= covered <= high, f"coverage {covered / trials:.4f}, nominal {level}"


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50),
    st.floats(-1e3, 1e3),
    st.floats(0.01, 100.0),
)
def test_interval_moves_and_scales_with_the_data(
    xs: list[float], shift: float, factor: float
) -> None:
    """Affine equivariance: the interval of ``a x + b`` is ``a`` times the interval, plus ``b``."""
    base = mean_ci(xs)
    moved = mean_ci([factor * x + shift for x in xs])
    tol = 1e-6 * (1.0 + factor * max(abs(x) for x in xs) + abs(shift))
    assert moved.mean == pytest.approx(factor * base.mean + shift, abs=tol)
    assert moved.half_width == pytest.approx(factor * base.half_width, abs=tol)
    assert base.low <= base.mean <= base.high


@given(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=30))
def test_a_higher_level_gives_a_wider_interval(xs: list[float]) -> None:
    assert mean_ci(xs, level=0.99).half_width >= mean_ci(xs, level=0.90).half_width


# -- time_average --------------------------------------------------------------------------------


def test_time_average_of_a_step_function() -> None:
    """Level 2 on [0, 1), 4 on [1, 3), 0 on [3, 4): (2 + 8 + 0) / 4."""
    assert time_average([0.0, 1.0, 3.0], [2.0, 4.0, 0.0], t_end=4.0) == pytest.approx(2.5)


def test_time_average_clips_to_the_window() -> None:
    """Window [2, 5] of level 2 on [0, 1), 4 on [1, 3), 1 from 3: (4 + 1 + 1) / 3."""
    value = time_average([0.0, 1.0, 3.0], [2.0, 4.0, 1.0], t_end=5.0, t_start=2.0)
    assert value == pytest.approx((4.0 + 1.0 + 1.0) / 3.0)


def test_time_average_is_zero_before_the_first_point() -> None:
    """Level 0 before t = 2, then 6, over [0, 4]: 12 / 4."""
    assert time_average([2.0], [6.0], t_end=4.0, t_start=0.0) == pytest.approx(3.0)


def test_time_average_ignores_a_point_after_the_window() -> None:
    assert time_average([0.0, 10.0], [1.0, 100.0], t_end=5.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("times", "values", "t_end", "message"),
    [
        ([1.0, 0.0], [1.0, 1.0], 2.0, "non-decreasing"),
        ([0.0], [1.0, 2.0], 2.0, "differ in length"),
        ([], [], 2.0, "at least one"),
        ([0.0], [1.0], 0.0, "after"),
    ],
)
def test_time_average_refuses_bad_input(
    times: list[float], values: list[float], t_end: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        time_average(times, values, t_end)
