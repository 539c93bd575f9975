"""Placement across models, the capped-NVLink penalty, fragmentation, and warm starts."""

from __future__ import annotations

import pytest

import planner
from tests.conftest import base_dict, batch


def two_models(placement: str) -> planner.Scenario:
    """Eight H800s ($2/GPU-h, throughput 1.0) and eight A800s ($0.5/GPU-h, throughput ~0.32)."""
    d = base_dict()
    d["fleet"] = [
        {"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
        {"model": "A800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
    ]
    d["market"]["prices"]["A800"] = {"usd_per_gpu_h": 0.5, "annual_decline": 0.0}
    d["tenants"][0]["models"] = ["H800", "A800"]
    d["tenants"][0]["placement"] = placement
    return planner.Scenario.model_validate(d)


def test_a_job_goes_to_its_tenants_first_model_by_preference() -> None:
    res = planner.simulate(two_models("preference"), jobs=batch([(0.0, 8, 80.0)]))
    assert res.jobs["gpu_model"].tolist() == ["H800"]
    assert res.jobs["end_h"][0] == pytest.approx(10.0)


def test_by_cost_a_job_takes_the_cheapest_work_and_runs_at_that_models_speed() -> None:
    """A800 work costs 0.5 / throughput per reference GPU-hour, below the H800's 2.0."""
    sc = two_models("cost")
    a800 = planner.catalog.gpu_model("A800").throughput
    assert 0.5 / a800 < 2.0
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0), (0.0, 8, 80.0)]))
    assert res.jobs["gpu_model"].tolist() == ["A800", "H800"]
    assert res.jobs["end_h"].tolist() == pytest.approx([10.0 / a800, 10.0])


def test_jobs_spanning_nodes_of_capped_nvlink_models_run_slower() -> None:
    d = base_dict(placement={"capped_nvlink_multinode_throughput": 0.8})
    res = planner.simulate(
        planner.Scenario.model_validate(d), jobs=batch([(0.0, 16, 160.0), (20.0, 8, 80.0)])
    )
    # 160 GPU-h on 16 H800s at 80% speed takes 12.5 h; one node alone runs at full speed.
    assert res.jobs["end_h"].tolist() == pytest.approx([12.5, 30.0])


def test_uncapped_models_pay_no_interconnect_penalty() -> None:
    d = base_dict(placement={"capped_nvlink_multinode_throughput": 0.8})
    d["fleet"][0]["model"] = "H100"
    d["market"]["prices"] = {"H100": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0}}
    d["tenants"][0]["models"] = ["H100"]
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch([(0.0, 16, 160.0)]))
    h100 = planner.catalog.gpu_model("H100").throughput
    assert res.jobs["end_h"][0] == pytest.approx(160.0 / (16 * h100))


def test_fragmentation_counts_free_gpus_no_queued_job_can_use() -> None:
    """From hour 0 a 6-GPU job leaves 2 GPUs free on one node while a 16-GPU job waits behind
    an 8-GPU job on the other: those 2 free GPUs fit no queued job."""
    d = base_dict(horizon_days=3)
    res = planner.simulate(
        planner.Scenario.model_validate(d),
        jobs=batch([(0.0, 6, 600.0), (0.0, 8, 800.0), (0.0, 16, 16.0)]),
    )
    frag = res.fragmentation
    assert frag.columns.tolist() == list(planner.analysis.FRAGMENTATION_COLUMNS)
    assert frag["t_h"].tolist() == [0.0, 24.0, 48.0]
    assert frag["free_gpus"].tolist() == [2, 2, 2]
    assert frag["stranded_gpus"].tolist() == [2, 2, 2]
    assert frag["queued_jobs"].tolist() == [1, 1, 1]
    assert res.summary()["stranded_free_share"] == 1.0


def test_free_gpus_a_queued_job_fits_are_not_stranded() -> None:
    d = base_dict(horizon_days=1)
    res = planner.simulate(
        planner.Scenario.model_validate(d),
        jobs=batch([(0.0, 6, 600.0), (0.0, 8, 800.0), (0.0, 16, 16.0), (0.0, 2, 200.0)]),
    )
    # FIFO: the 2-GPU job waits behind the 16-GPU head, yet it could use the 2 free GPUs.
    assert res.fragmentation["stranded_gpus"].tolist() == [0]


def warm(**state: object) -> planner.Scenario:
    return planner.Scenario.model_validate(base_dict(initial_state=state))


def test_a_warm_start_resumes_running_jobs_with_their_remaining_work() -> None:
    sc = warm(
        running=[
            {
                "tenant": "acme",
                "gpus": 8,
                "model": "H800",
                "region": "r1",
                "remaining_work_gpu_h": 40.0,
            }
        ],
        queue=[{"tenant": "acme", "gpus": 16, "work_gpu_h": 16.0, "waiting_h": 3.0}],
    )
    res = planner.simulate(sc, jobs=None)
    jobs = res.jobs
    assert jobs["campaign"].tolist() == ["warm:queued:0", "warm:running:0"]
    queued, running = jobs.iloc[0], jobs.iloc[1]
    assert (running["start_h"], running["end_h"]) == (0.0, 5.0)
    # The queued job has waited 3 h already; it starts when the running one ends.
    assert (queued["submit_h"], queued["start_h"], queued["wait_h"]) == (-3.0, 5.0, 8.0)


def test_a_warm_start_that_overfills_its_pool_is_reported() -> None:
    running = {"tenant": "acme", "gpus": 16, "model": "H800", "region": "r1"}
    with pytest.raises(planner.ScenarioError, match=r"initial_state\.running\.1\.gpus"):
        planner.scenario.validate(
            base_dict(
                initial_state={
                    "running": [
                        {**running, "remaining_work_gpu_h": 1.0},
                        {**running, "remaining_work_gpu_h": 1.0},
                    ]
                }
            )
        )


def test_a_warm_start_naming_an_unknown_tenant_is_reported() -> None:
    with pytest.raises(planner.ScenarioError, match=r"initial_state\.queue\.0\.tenant"):
        planner.scenario.validate(
            base_dict(initial_state={"queue": [{"tenant": "nobody", "gpus": 8, "work_gpu_h": 1}]})
        )
