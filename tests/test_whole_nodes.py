"""A job spanning nodes holds every GPU of the whole nodes it takes, and every table counts them.

The rule: a job of at most one node's GPUs shares its node with others; a larger job takes whole
nodes, holds all their GPUs (a 12-GPU job on 8-GPU nodes holds 16) and is counted busy and
billed for all of them, while it does the work of its own GPUs.
"""

from __future__ import annotations

import numpy as np
import pytest

import planner
from planner.model.engine import Model
from planner.model.fleet import held_gpus
from planner.model.policies import Quota
from tests.conftest import base_dict, batch


@pytest.mark.parametrize(
    ("gpus", "node_gpus", "held"),
    [(1, 8, 1), (8, 8, 8), (9, 8, 16), (12, 8, 16), (16, 8, 16), (24, 16, 32), (3, 1, 3)],
)
def test_a_job_holds_its_own_gpus_on_one_node_and_whole_nodes_beyond(
    gpus: int, node_gpus: int, held: int
) -> None:
    assert held_gpus(gpus, node_gpus) == held


def test_a_job_on_part_of_its_last_node_holds_the_whole_node_and_is_counted_for_it() -> None:
    """A 12-GPU job on two 8-GPU nodes holds all 16 GPUs for 10 h: a 4-GPU job waits until it
    ends, and the 16 GPUs are what the tables count as busy and what revenue bills."""
    res = planner.simulate(
        planner.Scenario.model_validate(base_dict(horizon_days=2)),
        jobs=batch([(0.0, 12, 120.0), (0.0, 4, 40.0)]),
    )
    jobs = res.jobs.set_index("job_id")
    assert jobs.loc[0, "end_h"] == pytest.approx(10.0)  # the work of its own 12 GPUs
    assert jobs.loc[1, "start_h"] == pytest.approx(10.0)  # no GPU was free beside it
    assert jobs["gpus_held"].tolist() == [16, 4]
    assert jobs["gpu_h"].tolist() == pytest.approx([160.0, 40.0])
    assert res.runs["gpus"].tolist() == [16, 4]
    # $2 per GPU-hour, flat: 16 GPUs for 10 h, then 4 for 10 h.
    assert jobs["revenue_usd"].tolist() == pytest.approx([320.0, 80.0])
    assert res.cohorts["busy_gpu_h"].sum() == pytest.approx(200.0)
    day0 = res.timeseries.loc[res.timeseries["day"] == 0, "utilisation"].iloc[0]
    assert day0 == pytest.approx(200.0 / (16 * 24))


def two_node_sizes() -> planner.Scenario:
    """A tenant allowed in a region of 8-GPU nodes and one of 16-GPU nodes: its generated jobs
    are rounded to whole 8-GPU nodes, so a 24-GPU job is 1.5 nodes in the second region."""
    d = base_dict(horizon_days=2)
    d["regions"] = [
        {"name": "small", "pod_gpus": 16, "gpus_per_node": 8},
        {"name": "big", "pod_gpus": 64, "gpus_per_node": 16},
    ]
    d["fleet"] = [{"model": "H800", "region": "big", "gpus": 64, "acquired": "2023-06-01"}]
    return planner.Scenario.model_validate(d)


def test_a_job_placed_where_nodes_are_larger_holds_the_whole_larger_nodes() -> None:
    res = planner.simulate(two_node_sizes(), jobs=batch([(0.0, 24, 240.0)]))
    job = res.jobs.iloc[0]
    assert job["end_h"] == pytest.approx(10.0)
    assert job["gpus_held"] == 32
    assert job["gpu_h"] == pytest.approx(320.0)
    assert res.cohorts["busy_gpu_h"].sum() == pytest.approx(320.0)
    assert res.ledger["revenue_usd"].sum() == pytest.approx(640.0)


def test_credits_are_drawn_for_every_gpu_held() -> None:
    d = base_dict(horizon_days=2)
    d["tenants"][0] = {
        "name": "lab",
        "class": "credit",
        "models": ["H800"],
        "credit": {"amount_usd": 1e6, "granted": "2024-01-01", "expires": "2024-06-01"},
    }
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch([(0.0, 12, 120.0)]))
    job = res.jobs.iloc[0]
    assert job["credit_usd"] == pytest.approx(16 * 10 * 2.0)
    assert res.tenants["credits_burned_usd"].sum() == pytest.approx(320.0)


def test_a_reservation_counts_the_whole_nodes_its_jobs_hold() -> None:
    """A 16-GPU reservation holds one 12-GPU job in quota (16 GPUs held); a second 4-GPU job of
    the same tenant no longer fits in quota, though 12 + 4 GPUs asked would."""
    d = base_dict(horizon_days=2, scheduler={"kind": "quota", "lend": False})
    d["fleet"][0]["gpus"] = 32
    d["regions"][0]["pod_gpus"] = 32
    d["tenants"][0]["reservation"] = {"gpus": 16, "model": "H800", "region": "r1"}
    sc = planner.Scenario.model_validate(d)
    model = Model(sc, jobs=batch([(0.0, 12, 1200.0), (1.0, 4, 400.0)]))
    model.run()
    policy = model.policy
    assert isinstance(policy, Quota)
    assert policy.in_quota == {0: 16}
    assert 1 not in policy.in_quota and 1 in model.running  # it runs, outside its quota


def test_lost_gpu_hours_count_every_gpu_held() -> None:
    """A node failure cuts short a 12-GPU job on two 8-GPU nodes: the time lost is counted on
    the 16 GPUs it held, so held time less lost time is still the work it did."""
    failures = {"node_per_1000_node_days": 1000, "repair_days": {"kind": "constant", "value": 0.1}}
    d = base_dict(horizon_days=30, failures=failures)
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch([(0.0, 12, 1200.0)]))
    job = res.jobs.iloc[0]
    assert job["restarts"] > 0 and job["state"] == "finished"
    useful_gpu_h = job["gpu_h"] - job["lost_gpu_h"]
    # Useful time on 16 held GPUs does the work of 12.
    assert useful_gpu_h * 12 / 16 == pytest.approx(job["work_gpu_h"], rel=1e-6)
    assert np.all(res.runs["gpus"] == 16)


def test_generated_jobs_rounded_for_the_smaller_nodes_hold_whole_larger_nodes() -> None:
    """A tenant's generated 24-GPU jobs are whole 8-GPU nodes in one region; placed in the
    region of 16-GPU nodes each holds 32 GPUs, and its GPU-hours, revenue and the cohort's busy
    hours count 32."""
    d = two_node_sizes().model_dump(mode="json", by_alias=True, exclude_unset=True)
    d["horizon_days"] = 10
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": 4},
        "gpus": {"kind": "choice", "values": [24]},
        "work_gpu_h": {"kind": "constant", "value": 240},
    }
    res = planner.simulate(planner.Scenario.model_validate(d), seed=3)
    jobs = res.jobs[res.jobs["start_h"].notna()]
    assert len(jobs) > 10 and (jobs["gpus"] == 24).all()
    assert (res.runs["gpus"] == 32).all()
    held_h = res.runs["to_h"] - res.runs["from_h"]
    assert res.cohorts["busy_gpu_h"].sum() == pytest.approx(32 * held_h.sum())
    assert res.jobs["revenue_usd"].sum() == pytest.approx(2.0 * 32 * held_h.sum())
