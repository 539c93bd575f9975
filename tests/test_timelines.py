"""Exact timelines on tiny fleets: each test states a scheduling rule and checks it to the hour."""

from __future__ import annotations

import math

import numpy as np
import pytest

import planner
from tests.conftest import batch, scenario


def times(res: planner.RunResult) -> list[tuple[float, float]]:
    return list(zip(res.jobs["start_h"], res.jobs["end_h"], strict=True))


def test_jobs_run_for_work_over_gpus_times_throughput() -> None:
    """An 8-GPU job with 80 GPU-hours of work on H800s (throughput 1.0) runs 10 hours."""
    res = planner.simulate(scenario(), jobs=batch([(2.0, 8, 80.0)]))
    assert times(res) == [(2.0, 12.0)]
    assert res.jobs.loc[0, "wait_h"] == 0.0
    assert res.jobs.loc[0, "gpu_h"] == pytest.approx(80.0)


def test_a800_runs_slower_by_its_throughput() -> None:
    """Work is in H800-hours: on A800s the same job takes 1/throughput times longer."""
    sc = scenario(
        fleet=[{"model": "A800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"}],
        tenants=[{"name": "acme", "class": "paying", "models": ["A800"]}],
    )
    throughput = planner.catalog.gpu_model("A800").throughput
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0)]))
    assert res.jobs.loc[0, "end_h"] == pytest.approx(10.0 / throughput)


def test_strict_fifo_blocks_behind_a_gang_job() -> None:
    """Two nodes. A 16-GPU job must wait for both nodes; the 1-GPU job behind it waits too,
    even while a whole node is free (head-of-line blocking)."""
    jobs = batch([(0.0, 8, 80.0), (1.0, 8, 40.0), (2.0, 16, 32.0), (3.0, 1, 1.0)])
    res = planner.simulate(scenario(), jobs=jobs)
    assert times(res) == [(0.0, 10.0), (1.0, 6.0), (10.0, 12.0), (12.0, 13.0)]
    assert list(res.jobs["wait_h"]) == [0.0, 0.0, 8.0, 9.0]


def test_small_jobs_share_a_node_best_fit() -> None:
    """1-GPU jobs pack onto the partly used node, leaving the other node whole for an 8-GPU job."""
    jobs = batch([(0.0, 4, 40.0), (0.0, 2, 20.0), (0.0, 2, 20.0), (0.0, 8, 8.0)])
    res = planner.simulate(scenario(), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 0.0, 0.0, 0.0]
    assert len(set(res.jobs["cohort"])) == 1


def test_multi_node_job_needs_whole_nodes_in_one_pod() -> None:
    """Two pods of two nodes. At t=7 one node is free in each pod (16 GPUs free in all), but a
    16-GPU job starts only at t=10, when one pod has both its nodes free."""
    sc = scenario(
        fleet=[{"model": "H800", "region": "r1", "gpus": 32, "acquired": "2023-06-01"}],
    )
    jobs = batch(
        [
            (0.0, 8, 80.0),  # A: pod 0, until 10
            (0.0, 8, 40.0),  # C: pod 0 (best fit), until 5
            (0.0, 8, 56.0),  # B1: pod 1, until 7
            (0.0, 8, 160.0),  # B2: pod 1, until 20
            (1.0, 16, 32.0),  # D: two nodes of one pod
        ]
    )
    res = planner.simulate(sc, jobs=jobs)
    assert times(res)[:4] == [(0.0, 10.0), (0.0, 5.0), (0.0, 7.0), (0.0, 20.0)]
    assert times(res)[4] == (10.0, 12.0)


def test_jobs_still_queued_or_running_at_the_horizon_are_kept() -> None:
    """A 10-day horizon: a job that cannot finish is 'running' with no end; one behind it is
    'queued' with no start. Neither is dropped."""
    jobs = batch([(0.0, 16, 16 * 300.0), (1.0, 16, 16.0)])
    res = planner.simulate(scenario(), jobs=jobs)
    assert list(res.jobs["state"]) == ["running", "queued"]
    assert math.isnan(res.jobs.loc[0, "end_h"])
    assert math.isnan(res.jobs.loc[1, "start_h"])
    assert res.summary()["jobs_queued_at_horizon"] == 1
    # The running job is billed up to the horizon: 16 GPUs x 240 h x $2.
    assert res.jobs.loc[0, "revenue_usd"] == pytest.approx(16 * 240 * 2.0)


def test_campaign_is_submitted_at_midnight_of_its_date() -> None:
    sc = scenario(
        tenants=[
            {
                "name": "moonshot",
                "class": "paying",
                "models": ["H800"],
                "campaigns": [{"name": "k2", "submit": "2024-01-03", "gpus": 16, "days": 2}],
            }
        ]
    )
    res = planner.simulate(sc)
    job = res.jobs.iloc[0]
    assert (job["campaign"], job["submit_h"], job["start_h"], job["end_h"]) == (
        "k2",
        48.0,
        48.0,
        96.0,
    )


def test_delivered_order_adds_capacity_on_its_due_date() -> None:
    """A 16-GPU job cannot run on the 8-GPU fleet; it starts at hour 72, when a 16-GPU order
    ordered on day 0 with a 3-day lead time enters service (in pods of its own)."""
    sc = scenario(
        fleet=[{"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"}],
        orders=[
            {"model": "H800", "region": "r1", "gpus": 16, "ordered": "2024-01-01", "lead_days": 3}
        ],
    )
    res = planner.simulate(sc, jobs=batch([(1.0, 16, 16.0)]))
    assert times(res) == [(72.0, 73.0)]
    assert res.orders.loc[0, "status"] == "delivered"
    assert res.jobs.loc[0, "cohort"] == "order-H800-0"


def test_banned_order_never_delivers() -> None:
    """An export ban in force before the due date cancels the order: its GPUs never enter service
    and jobs that could only run on them stay queued."""
    sc = scenario(
        fleet=[{"model": "H800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"}],
        orders=[
            {"model": "A800", "region": "r1", "gpus": 16, "ordered": "2024-01-01", "lead_days": 5}
        ],
        export_controls=[{"effective": "2024-01-03", "ban": ["A800"], "undelivered": "cancel"}],
        tenants=[
            {"name": "acme", "class": "paying", "models": ["A800"]},
        ],
    )
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 8.0)]))
    order = res.orders.iloc[0]
    assert (order["status"], order["at_h"]) == ("cancelled", 48.0)
    assert "A800" not in set(res.cohorts["gpu_model"])
    assert res.jobs.loc[0, "state"] == "queued"
    assert (res.pool_timeseries["gpu_model"] != "A800").all()


def test_frozen_order_delivers_when_the_ban_lifts() -> None:
    sc = scenario(
        orders=[
            {"model": "H20", "region": "r1", "gpus": 16, "ordered": "2024-01-01", "lead_days": 2}
        ],
        export_controls=[
            {"effective": "2024-01-02", "ban": ["H20"], "undelivered": "freeze"},
            {"effective": "2024-01-06", "lift": ["H20"]},
        ],
    )
    res = planner.simulate(sc)
    order = res.orders.iloc[0]
    assert (order["status"], order["at_h"], order["frozen_h"]) == ("delivered", 120.0, 24.0)
    cohort = res.cohorts.set_index("cohort").loc["order-H20-0"]
    assert cohort["in_service_from_h"] == 120.0


def test_order_due_before_the_ban_is_delivered() -> None:
    sc = scenario(
        orders=[
            {"model": "H800", "region": "r1", "gpus": 16, "ordered": "2024-01-01", "lead_days": 1}
        ],
        export_controls=[{"effective": "2024-01-05", "ban": ["H800"]}],
    )
    res = planner.simulate(sc)
    assert res.orders.loc[0, "status"] == "delivered"


def test_job_prefers_its_tenants_first_model_and_falls_back() -> None:
    """Models are tried in the tenant's order: H800 first; when the H800s are full, A800."""
    sc = scenario(
        fleet=[
            {"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
            {"model": "A800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
        ],
        tenants=[{"name": "acme", "class": "paying", "models": ["H800", "A800"]}],
    )
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 8.0), (0.0, 8, 8.0)]))
    assert list(res.jobs["gpu_model"]) == ["H800", "A800"]
    a800 = planner.catalog.gpu_model("A800").throughput
    assert list(res.jobs["end_h"]) == pytest.approx([1.0, 1.0 / a800])


def test_timeseries_integrates_busy_gpus_per_day() -> None:
    """One 8-GPU job busy for 12 hours of day 0 on a 16-GPU fleet: 4 GPUs busy on average."""
    res = planner.simulate(scenario(), jobs=batch([(6.0, 8, 96.0)]))
    day0 = res.timeseries.iloc[0]
    assert day0["gpus_in_service"] == 16.0
    assert day0["gpus_busy"] == pytest.approx(4.0)
    assert day0["utilisation"] == pytest.approx(0.25)
    assert np.all(res.timeseries["gpus_busy"].iloc[1:] == 0.0)


def test_a_handed_in_job_that_can_never_fit_is_rejected() -> None:
    """A job table given to simulate() is checked like a scenario's workload."""
    with pytest.raises(planner.ScenarioError) as info:
        planner.simulate(scenario(), jobs=batch([(0.0, 8, 8.0), (1.0, 32, 8.0)]))
    (problem,) = info.value.problems
    assert problem.path == "jobs[1].gpus" and "can never fit" in problem.reason
    with pytest.raises(planner.ScenarioError, match="tenant index"):
        planner.simulate(scenario(), jobs=batch([(0.0, 8, 8.0)], tenant=3))


def test_an_order_in_tranches_delivers_each_as_its_own_cohort() -> None:
    """32 GPUs in two tranches: 16 on day 3, 16 thirty days later; a ban on day 20 cancels
    the second tranche only."""
    sc = scenario(
        horizon_days=60,
        orders=[
            {
                "model": "H800",
                "region": "r1",
                "gpus": 32,
                "ordered": "2024-01-01",
                "lead_days": 3,
                "tranches": 2,
                "tranche_every_days": 30,
            }
        ],
        export_controls=[{"effective": "2024-01-21", "ban": ["H800"]}],
    )
    orders = planner.simulate(sc).orders
    assert list(orders["order"]) == ["order-H800-0-t1", "order-H800-0-t2"]
    assert list(orders["status"]) == ["delivered", "cancelled"]
    assert list(orders["gpus"]) == [16, 16]
    assert orders.loc[0, "at_h"] == 72.0


def test_a_lead_time_can_be_drawn_per_order() -> None:
    sc = scenario(
        horizon_days=60,
        orders=[
            {
                "model": "H800",
                "region": "r1",
                "gpus": 16,
                "ordered": "2024-01-01",
                "lead_days": {"kind": "uniform", "low": 5, "high": 25},
            }
        ],
    )
    due = [planner.simulate(sc, seed=s).orders.loc[0, "due_h"] for s in range(5)]
    assert all(5 * 24 <= d <= 25 * 24 for d in due)
    assert len(set(due)) == 5
    assert planner.simulate(sc, seed=3).orders.loc[0, "due_h"] == due[3]


def test_the_jobs_table_has_its_documented_columns() -> None:
    res = planner.simulate(scenario(), jobs=batch([(0.0, 8, 8.0)]))
    assert tuple(res.jobs.columns) == planner.analysis.JOB_COLUMNS
