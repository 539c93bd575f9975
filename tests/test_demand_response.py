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


@pytest.mark.statistical
def test_elastic_arrival_rate_matches_the_demand_curve() -> None:
    """At twice the reference price with elasticity 1, demand halves: 100 jobs a day, not 200.
    The expected count over 20 days (2,000) lies inside a 99% interval over 30 replications."""
    sc = elastic(4.0, 1.0)
    counts = [len(planner.simulate(sc, seed=7, replication=r).jobs) for r in range(30)]
    interval = mean_ci(counts, level=0.99)
    assert interval.contains(2000.0), interval
    assert not interval.contains(4000.0)


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
