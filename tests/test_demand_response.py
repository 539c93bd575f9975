"""Demand that responds: to price (elasticity), and to queues (balking and churn)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planner
from planner.stats import mean_ci
from tests.conftest import base_dict, batch


def elastic(price: float, elasticity: float, per_day: float = 200.0) -> planner.Scenario:
    """One paying tenant whose demand is ``per_day`` at $2.00 and scales with price."""
    d = base_dict(horizon_days=20)
    d["market"] = {
        "prices": {"H800": {"usd_per_gpu_h": price, "annual_decline": 0.0}},
        "successor_launches": [],
    }
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": per_day},
        "gpus": {"kind": "constant", "value": 1},
        "work_gpu_h": {"kind": "constant", "value": 0.1},
        "price_elasticity": elasticity,
        "reference_usd_per_gpu_h": 2.0,
    }
    return planner.Scenario.model_validate(d)


@settings(max_examples=25, deadline=None)
@given(
    low=st.floats(0.5, 4.0),
    rise=st.floats(1.0, 3.0),
    elasticity=st.floats(0.1, 2.0),
    seed=st.integers(0, 2**16),
)
def test_raising_the_price_lowers_elastic_demand(
    low: float, rise: float, elasticity: float, seed: int
) -> None:
    """Same seed, higher price: fewer jobs, and the k-th job arrives no earlier."""
    cheap = planner.simulate(elastic(low, elasticity), seed=seed).jobs["submit_h"].to_numpy()
    dear = planner.simulate(elastic(low * rise, elasticity), seed=seed).jobs["submit_h"].to_numpy()
    assert len(dear) <= len(cheap)
    assert np.all(dear >= cheap[: len(dear)] - 1e-9)


PRICED = ((4.0, 1.0), (1.0, 0.5))  # (price, elasticity) against the reference price, $2.00
REPLICATIONS = 20
# Two checks per case, each at 1 - 0.05/4: by Bonferroni a 95% family-wise level.
LEVEL = 1.0 - 0.05 / (2 * len(PRICED))
WRONG_BY = 0.05  # power: an answer this far off (relative) must fall outside the interval


def submitted(price: float, elasticity: float) -> np.ndarray:
    """Jobs submitted in each replication at ``price``, on common random numbers."""
    sc = elastic(price, elasticity)
    return np.array(
        [len(planner.simulate(sc, seed=7, replication=r).jobs) for r in range(REPLICATIONS)],
        dtype=float,
    )


@pytest.fixture(scope="module")
def counts() -> dict[tuple[float, float], np.ndarray]:
    """Per (price, elasticity), and at the reference price (2.0, any elasticity)."""
    return {case: submitted(*case) for case in ((2.0, 1.0), *PRICED)}


@pytest.mark.statistical
@pytest.mark.parametrize(("price", "elasticity"), PRICED)
def test_elastic_arrival_rate_matches_the_demand_curve(
    counts: dict[tuple[float, float], np.ndarray], price: float, elasticity: float
) -> None:
    """200 jobs a day at $2.00 become 200 (p / 2) ** -elasticity: at $4.00 with elasticity 1,
    100 a day (2,000 over 20 days); at $1.00 with elasticity 0.5, 283 a day. The expected count
    lies inside the interval over replications, and a count 5% off either way does not."""
    expected = 20 * 200.0 * (price / 2.0) ** -elasticity
    interval = mean_ci(counts[price, elasticity], level=LEVEL)
    assert interval.contains(expected), (expected, interval)
    for wrong in (expected * (1 - WRONG_BY), expected * (1 + WRONG_BY)):
        assert not interval.contains(wrong), (wrong, interval)


@pytest.mark.statistical
@pytest.mark.parametrize(("price", "elasticity"), PRICED)
def test_the_price_effect_has_the_size_the_elasticity_gives(
    counts: dict[tuple[float, float], np.ndarray], price: float, elasticity: float
) -> None:
    """Each replication measures the elasticity from the change in demand between the reference
    price and ``price`` on the same seed: -ln(n_p / n_ref) / ln(p / p_ref). The interval over
    replications holds the scenario's elasticity and excludes one 5% larger or smaller: an
    effect of the right sign but the wrong size fails."""
    change = counts[price, elasticity] / counts[2.0, 1.0]  # at the reference price, any elasticity
    measured = -np.log(change) / np.log(price / 2.0)
    interval = mean_ci(measured, level=LEVEL)
    assert interval.contains(elasticity), (elasticity, interval)
    for wrong in (elasticity * (1 - WRONG_BY), elasticity * (1 + WRONG_BY)):
        assert not interval.contains(wrong), (wrong, interval)


def patient(**patience: Any) -> planner.Scenario:
    d = base_dict()
    d["tenants"][0]["patience"] = patience
    return planner.Scenario.model_validate(d)


def test_a_job_balks_when_the_expected_wait_is_too_long() -> None:
    """16 GPUs. Job 0 takes them all for 10 h; job 1 queues behind it with 160 GPU-hours of
    work. Job 2 then sees an expected wait of 160 GPU-h / 16 GPUs = 10 h > 5 h, and balks."""
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 160.0), (2.0, 1, 1.0)])
    res = planner.simulate(patient(balk_wait_h=5.0), jobs=jobs)
    assert list(res.jobs["job_id"]) == [0, 1]
    assert res.tenants.loc[0, "jobs_skipped"] == 1


def test_a_tenant_churns_after_repeated_long_waits() -> None:
    """Each 16-GPU job waits 10 h behind the one before; after two waits over 5 h the tenant
    leaves and submits nothing more."""
    jobs = batch([(0.0, 16, 160.0), (0.0, 16, 160.0), (0.0, 16, 160.0), (30.0, 1, 1.0)])
    res = planner.simulate(patient(churn_wait_h=5.0, churn_after=2), jobs=jobs)
    assert list(res.jobs["job_id"]) == [0, 1, 2]
    assert list(res.jobs["wait_h"]) == [0.0, 10.0, 20.0]
    assert res.tenants.loc[0, "jobs_skipped"] == 1


def test_expected_wait_counts_capacity_in_reference_gpus() -> None:
    """On 16 A800s (each 0.32 of an H800), 40 H800-GPU-hours queued is an expected wait of
    40 / (16 x 0.32) = 7.9 h, not 40 / 16 = 2.5 h: a tenant balking at 5 h balks."""
    d = base_dict()
    d["fleet"][0]["model"] = "A800"
    d["tenants"][0]["models"] = ["A800"]
    d["tenants"][0]["patience"] = {"balk_wait_h": 5.0}
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 40.0), (2.0, 1, 1.0)])
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=jobs)
    assert list(res.jobs["job_id"]) == [0, 1]
    assert res.tenants.loc[0, "jobs_balked"] == 1
