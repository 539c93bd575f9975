"""Known answer for the planning search: the fewest M/M/c servers for a mean-wait target.

With 1-GPU jobs, exponential work and FIFO, the fleet is M/M/c (see test_erlang_c.py), so the
fewest servers c with mean wait W(c) <= target is known from Erlang C. At lam = 12.8/h and
mu = 1/h: W(14) = 0.55 h, W(15) = 0.21 h, W(16) = 0.095 h, W(17) = 0.047 h. Targets are
chosen between neighbours, with room on both sides for the search's replication noise:

* target 0.30 h: c = 15 (W 0.21, one fewer gives 0.55);
* target 0.065 h: c = 17 (W 0.047, one fewer gives 0.095).

:func:`planner.experiments.plan.fewest_gpus` searches c between 13 (just above the load) and
24, with 8 replications of 30 days per candidate on common random numbers, and judges each by
the one-sided 95% upper bound of the mean wait. Runs start empty; over 30 days (about 9,200
jobs) the start-up bias on the mean wait is well under the noise. Seed 0 throughout.
"""

from __future__ import annotations

import pytest

from planner.experiments.plan import fewest_gpus
from tests.theory import mmc_mean_wait
from tests.validation import mmc_scenario

LAM, MU = 12.8, 1.0


def erlang_c_fewest_servers(target_h: float) -> int:
    c = int(LAM / MU) + 1
    while mmc_mean_wait(c, LAM, MU) > target_h:
        c += 1
    return c


@pytest.mark.statistical
@pytest.mark.parametrize("target_h", [0.30, 0.065])
def test_plan_finds_the_erlang_c_server_count(target_h: float) -> None:
    expected = erlang_c_fewest_servers(target_h)
    # The targets sit between neighbours with room to spare (see the module docstring).
    assert mmc_mean_wait(expected, LAM, MU) < 0.75 * target_h
    assert mmc_mean_wait(expected - 1, LAM, MU) > 1.4 * target_h

    answer = fewest_gpus(
        mmc_scenario(16, LAM, MU, horizon_days=30),
        "0",
        target=target_h,
        metric="wait_mean_h.all",
        low_gpus=13,
        high_gpus=24,
        reps=8,
    )
    assert answer.answer == expected
    assert answer.bracket == (expected, expected - 1)
    assert answer.at_answer is not None and answer.at_answer.interval.high <= target_h
    # The record shows the search: both ends first, then halving; nothing evaluated twice.
    xs = answer.table()["x"].tolist()
    assert xs[:2] == [24, 13] and len(set(xs)) == len(xs)
