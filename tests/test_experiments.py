"""Replications, planning queries and sensitivity on small scenarios."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

import planner
from planner.experiments.plan import best_price, largest_grant
from planner.experiments.replicate import replicate
from planner.experiments.sensitivity import TORNADO_COLUMNS, tornado
from tests.conftest import base_dict


def mmc_short() -> planner.Scenario:
    return planner.load_scenario("mmc").with_overrides({"horizon_days": 5})


# -- replications -------------------------------------------------------------------------------


def test_replications_give_one_row_each_and_an_interval_per_metric() -> None:
    """Row r is replication r run on its own; each metric's interval is the Student t interval
    over the rows on its range's scale, here rebuilt by hand: the utilisation of each run from
    its runs table (busy GPU-hours over 16 GPUs x 120 h), then, utilisation being a share, the
    t interval on the logit of the mean, logit(m) +- t(0.975, 3) s / sqrt(4) / (m (1 - m)),
    mapped back."""
    sc = mmc_short()
    reps = replicate(sc, 4, seed=3)
    assert reps.runs["rep"].tolist() == [0, 1, 2, 3]
    assert reps.runs["seed"].tolist() == [3.0] * 4
    in_service_gpu_h = sc.fleet[0].gpus * sc.horizon_h
    util = []
    for r in range(4):
        runs = planner.simulate(sc, seed=3, replication=r).runs
        util.append(
            float((runs["gpus"] * (runs["to_h"] - runs["from_h"])).sum()) / in_service_gpu_h
        )
    assert reps.runs["utilisation"].tolist() == pytest.approx(util, rel=1e-12)
    mean = sum(util) / 4
    sd = math.sqrt(sum((u - mean) ** 2 for u in util) / 3)
    half = 3.182446305284263 * sd / 2  # t quantile for 95% and 3 degrees of freedom
    spread = half / (mean * (1 - mean))
    logit = math.log(mean / (1 - mean))
    low, high = (1 / (1 + math.exp(-(logit + k * spread))) for k in (-1, 1))
    row = reps.summary().loc["utilisation"]
    assert row["n"] == 4 and row["interval"] == "logit"
    assert [row["mean"], row["low"], row["high"]] == pytest.approx([mean, low, high], rel=1e-9)


def test_replications_on_processes_equal_those_run_here() -> None:
    here = replicate(mmc_short(), 3, seed=1)
    there = replicate(mmc_short(), 3, seed=1, workers=2)
    pd.testing.assert_frame_equal(here.runs, there.runs)


def test_two_plans_on_the_same_seed_see_the_same_demand() -> None:
    """Common random numbers: more GPUs change the waits, never the jobs submitted."""
    small = replicate(mmc_short(), 3, seed=2)
    large = replicate(mmc_short(), 3, seed=2, overrides={"fleet.0.gpus": 20})
    assert small.runs["jobs_submitted"].tolist() == large.runs["jobs_submitted"].tolist()
    assert (large.runs["wait_mean_h.all"] < small.runs["wait_mean_h.all"]).all()


# -- planning queries ---------------------------------------------------------------------------


def grant_world() -> planner.Scenario:
    """Two 8-GPU nodes shared by paying customers and a start-up whose demand scales with its
    grant; the paying p95 wait grows with the grant."""
    d = base_dict(horizon_days=20)
    d["tenants"] = [
        {
            "name": "acme",
            "class": "paying",
            "models": ["H800"],
            "workload": {
                "arrivals": {"kind": "poisson", "per_day": 10},
                "gpus": {"kind": "constant", "value": 8},
                "work_gpu_h": {"kind": "exponential", "mean": 16},
            },
        },
        {
            "name": "startup",
            "class": "credit",
            "models": ["H800"],
            "credit": {"amount_usd": 1e4, "granted": "2024-01-01", "expires": "2024-03-01"},
            "workload": {
                "arrivals": {"kind": "poisson", "per_day": 4},
                "gpus": {"kind": "constant", "value": 8},
                "work_gpu_h": {"kind": "exponential", "mean": 16},
            },
        },
    ]
    return planner.Scenario.model_validate(d)


def test_the_largest_grant_meets_the_slo_and_a_grant_one_step_larger_does_not() -> None:
    answer = largest_grant(
        grant_world(), "startup", target_h=6.0, high_usd=4e4, tol_usd=2e3, reps=4
    )
    assert answer.answer is not None and 0 < answer.answer < 4e4
    good, bad = answer.bracket or (math.nan, math.nan)
    assert good == answer.answer and 0 < bad - good <= 2e3
    table = answer.table()
    assert table.set_index("x").loc[good, "meets"]
    assert not table.set_index("x").loc[bad, "meets"]
    assert answer.at_answer is not None and answer.at_answer.interval.high <= 6.0
    # Both ends first, then halving: each step narrows the bracket.
    assert table["x"].tolist()[:2] == [0.0, 4e4]


def test_no_grant_fits_when_the_slo_fails_without_one() -> None:
    answer = largest_grant(grant_world(), "startup", target_h=0.01, high_usd=4e4, reps=3)
    assert answer.answer is None and len(answer.evaluations) == 1


def test_an_unknown_tenant_is_a_clear_error() -> None:
    with pytest.raises(planner.ScenarioError, match="unknown tenant 'nobody'"):
        largest_grant(grant_world(), "nobody", target_h=6.0)


def priced(elasticity: float) -> planner.Scenario:
    d = base_dict(horizon_days=20)
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": 6},
        "gpus": {"kind": "constant", "value": 8},
        "work_gpu_h": {"kind": "exponential", "mean": 16},
        "price_elasticity": elasticity,
        "reference_usd_per_gpu_h": 2.0,
    }
    return planner.Scenario.model_validate(d)


@pytest.mark.parametrize(("elasticity", "best_end"), [(0.0, 4.0), (2.0, 1.0)])
def test_the_revenue_maximising_price_follows_elasticity(
    elasticity: float, best_end: float
) -> None:
    """Inelastic demand pays any price, so revenue peaks at the top of the range; with
    elasticity 2 revenue falls as price rises (p x p^-2), so it peaks at the bottom."""
    answer = best_price(priced(elasticity), "H800", low_usd=1.0, high_usd=4.0, tol_usd=0.1, reps=3)
    assert answer.answer is not None
    assert answer.answer == pytest.approx(best_end, abs=0.15)


# -- sensitivity --------------------------------------------------------------------------------


def test_a_tornado_ranks_parameters_by_their_swing_around_the_base() -> None:
    ranges: dict[str, Any] = {
        "tenants.t.workload.arrivals.per_day": (290, 300),
        "fleet.0.gpus": (15, 18),
    }
    table = tornado(mmc_short(), ranges, "wait_mean_h.all", reps=3)
    assert tuple(table.columns) == TORNADO_COLUMNS
    assert table["parameter"].tolist() == ["fleet.0.gpus", "tenants.t.workload.arrivals.per_day"]
    gpus = table.iloc[0]
    assert gpus["at_low"] > gpus["base"] > gpus["at_high"]
    assert gpus["swing"] == pytest.approx(gpus["at_low"] - gpus["at_high"])
    # The base is the mean over replications 0-2 of the mean wait, taken from each run's jobs
    # (a job still queued at the horizon counts as waiting until then).
    sc = mmc_short()
    means = []
    for r in range(3):
        jobs = planner.simulate(sc, replication=r).jobs
        means.append(float(jobs["wait_h"].fillna(sc.horizon_h - jobs["submit_h"]).mean()))
    base = sum(means) / 3
    assert table["base"].tolist() == pytest.approx([base, base], rel=1e-12)


def test_a_tornado_range_needs_two_values() -> None:
    with pytest.raises(ValueError, match="exactly two values"):
        tornado(mmc_short(), {"fleet.0.gpus": (15,)}, "utilisation")
