"""The fast engine cuts runs short exactly as the reference engine does: node failures and
repairs (spares, checkpoints, restart overhead, lost GPU-hours), spot jobs preempted for other
tiers, the priority policy with aging and preemption, and EASY backfill and quotas with all of
these (a stale reservation, a failed node among the reserved ones, lent GPUs reclaimed from
borrowers by preempting them). Same scenario, seed and replication:
identical tables and summaries (planner.model.timing's order of events at one instant; an
interrupted job goes back to the head of its queue, victims are chosen in the order
planner.model.policies.base states).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_engine_equivalence import (
    MODELS,
    WORK_GPU_H,
    assert_same_run,
    builtin,
    job_batches,
)

import planner
from planner.model.demand import JobBatch
from planner.model.fast import unsupported_field

# -- the built-in scenarios ----------------------------------------------------------------------


def test_failures_at_scale_is_identical() -> None:
    """Shortened to 40 days: the campaign is still running, and dozens of nodes fail."""
    sc = builtin("failures-at-scale").with_overrides({"horizon_days": 40})
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc)
    assert fast.summary()["node_failures"] > 10
    assert fast.runs["interrupted"].sum() > 10


@pytest.mark.parametrize(
    "scheduler",
    [
        {"kind": "fifo"},
        {"kind": "priority"},
        {"kind": "priority", "preempt": True},
        {"kind": "priority", "preempt": True, "aging_h": 24.0},
    ],
    ids=["fifo", "priority", "priority-preempt", "priority-preempt-aging"],
)
def test_policy_compare_with_its_spot_tenant_is_identical(scheduler: dict[str, Any]) -> None:
    sc = builtin("policy-compare").with_overrides({"horizon_days": 60, "scheduler": scheduler})
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc, seed=1)
    assert fast.runs["preempted"].sum() > 0  # the spot tenant is preempted


@pytest.mark.parametrize(
    "scheduler",
    [
        {"kind": "backfill"},
        {"kind": "backfill", "estimate": {"kind": "noisy", "max_factor": 2.0}, "max_scan": 3},
        {"kind": "quota", "lend": False, "reclaim": False},
        {"kind": "quota", "lend": True, "reclaim": True},
    ],
    ids=["backfill", "backfill-noisy-scan-3", "quota", "quota-lend-reclaim"],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_backfill_and_quota_with_the_spot_tenant_are_identical(
    scheduler: dict[str, Any], seed: int
) -> None:
    sc = builtin("policy-compare").with_overrides({"horizon_days": 30, "scheduler": scheduler})
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc, seed=seed)
    assert fast.runs["preempted"].sum() > 0  # the spot tenant is preempted


@pytest.mark.parametrize(
    "scheduler",
    [
        {"kind": "backfill"},
        {"kind": "backfill", "estimate": {"kind": "noisy", "max_factor": 3.0}},
        {"kind": "quota", "lend": True, "reclaim": True},
    ],
    ids=["backfill", "backfill-noisy", "quota-lend-reclaim"],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_failures_at_scale_under_backfill_and_quota_is_identical(
    scheduler: dict[str, Any], seed: int
) -> None:
    sc = builtin("failures-at-scale").with_overrides({"horizon_days": 20, "scheduler": scheduler})
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc, seed=seed)
    assert fast.runs["interrupted"].sum() > 5


def test_policy_compare_under_priority_runs_fast_under_auto() -> None:
    sc = builtin("policy-compare").with_overrides({"scheduler": {"kind": "priority"}})
    assert unsupported_field(sc) is None
    assert unsupported_field(builtin("failures-at-scale")) is None
    assert unsupported_field(builtin("policy-compare")) is None


# -- the rules, on tiny scenarios ----------------------------------------------------------------


def test_a_spot_job_preempted_at_time_zero_is_not_submitted_again() -> None:
    """A spot job runs at time zero on the only node; a queued job of another tier arrives at
    time zero first (it waited before the start), preempts it and starts. The spot job goes back
    to its queue once: its own arrival at time zero does not submit it a second time, so it
    restarts once, when the node is free again."""
    sc = planner.Scenario.model_validate(
        {
            "name": "warm-preempt",
            "start": "2024-01-01",
            "horizon_days": 2,
            "regions": [{"name": "r1", "pod_gpus": 8, "gpus_per_node": 8}],
            "fleet": [{"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"}],
            "tenants": [
                {"name": "pay", "class": "paying", "models": ["H800"]},
                {"name": "batch", "class": "paying", "models": ["H800"], "tier": "spot"},
            ],
            "initial_state": {
                "running": [
                    {
                        "tenant": "batch",
                        "gpus": 8,
                        "model": "H800",
                        "region": "r1",
                        "remaining_work_gpu_h": 80.0,
                    }
                ],
                "queue": [{"tenant": "pay", "gpus": 8, "work_gpu_h": 16.0, "waiting_h": 1.0}],
            },
        }
    )
    result = assert_same_run(sc)
    batch = result.jobs.loc[result.jobs["tenant"] == "batch", "job_id"]
    spot = result.runs[result.runs["job_id"].isin(batch)]
    assert spot["preempted"].tolist() == [True, False]
    assert spot["from_h"].tolist() == [0.0, 2.0]  # after the 2-hour job that preempted it


# -- random small scenarios ------------------------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> tuple[planner.Scenario, JobBatch]:
    """A small fleet under fifo, priority (aging on or off, preemption on or off), EASY backfill
    (exact or noisy estimates, a scan depth or none) or quota (a reservation for ``pay`` on
    the first pool, lending and reclaiming on or off), with node
    failures often enough to strike within five days (spares or none, fixed or Young/Daly
    checkpoints), a spot tenant or none, cohorts arriving mid-run and retiring under a deep
    price cut, jobs running and queued at time zero."""
    node = draw(st.sampled_from([1, 4, 8]))
    regions = [
        {"name": "r1", "pod_gpus": node * draw(st.integers(1, 4)), "gpus_per_node": node},
        {"name": "r2", "pod_gpus": 16, "gpus_per_node": 8},
    ]
    fleet = [
        {
            "model": "H800",
            "region": "r1",
            "gpus": node * draw(st.integers(1, 8)),
            "acquired": "2023-06-01",
        }
    ]
    for _ in range(draw(st.integers(0, 2))):
        region = draw(st.sampled_from(regions))
        fleet.append(
            {
                "model": draw(st.sampled_from(MODELS)),
                "region": region["name"],
                "gpus": region["gpus_per_node"] * draw(st.integers(1, 6)),
                "acquired": draw(st.sampled_from(["2023-06-01", "2024-01-02", "2024-01-03"])),
            }
        )
    spot_tier = draw(st.sampled_from(["spot", "spot", "on_demand"]))
    tenants: list[dict[str, Any]] = [
        {"name": "pay", "class": "paying", "models": list(draw(st.permutations(MODELS)))},
        {
            "name": "lab",
            "class": "internal",
            "models": ["H800", "A800"],
            "priority": draw(st.sampled_from([None, 0, 5])),
            "patience": draw(st.sampled_from([None, {"churn_wait_h": 2.0, "churn_after": 2}])),
        },
        {"name": "batch", "class": "paying", "models": ["A800", "H800"], "tier": spot_tier},
        {
            "name": "startup",
            "class": "credit",
            "models": ["H800"],
            "credit": {
                "amount_usd": draw(st.floats(10.0, 5000.0)),
                "granted": "2024-01-01",
                "expires": "2024-01-04",
            },
        },
    ]
    kind = draw(st.sampled_from(["fifo", "priority", "backfill", "quota"]))
    scheduler: dict[str, Any] = {"kind": kind}
    if kind == "priority":
        scheduler["aging_h"] = draw(st.sampled_from([None, 3.0, 24.0]))
        scheduler["preempt"] = draw(st.booleans())
    elif kind == "backfill":
        scheduler["estimate"] = draw(
            st.sampled_from([{"kind": "exact"}, {"kind": "noisy", "max_factor": 2.0}])
        )
        scheduler["max_scan"] = draw(st.sampled_from([None, 2]))
    elif kind == "quota":
        scheduler["lend"] = draw(st.booleans())
        scheduler["reclaim"] = draw(st.booleans())
        tenants[0]["reservation"] = {
            "gpus": draw(st.integers(1, fleet[0]["gpus"])),
            "model": "H800",
            "region": "r1",
            "end": draw(st.sampled_from([None, "2024-01-03"])),
        }
    failures = None
    if draw(st.booleans()):
        failures = {
            "node_per_1000_node_days": draw(st.sampled_from([100.0, 400.0, 1000.0])),
            "repair_days": {"kind": "exponential", "mean": draw(st.sampled_from([0.2, 2.0]))},
            "checkpoint": draw(
                st.sampled_from([{"kind": "fixed", "interval_min": 30.0}, {"kind": "young_daly"}])
            ),
            "restart_min": draw(st.sampled_from([0.0, 10.0, 120.0])),
            "spare_fraction": draw(st.sampled_from([0.0, 0.25, 0.5])),
        }
    warm_running = []
    if draw(st.booleans()):
        warm_running.append(
            {
                "tenant": draw(st.sampled_from(["pay", "batch"])),
                "gpus": draw(st.integers(1, node)),
                "model": "H800",
                "region": "r1",
                "remaining_work_gpu_h": draw(st.sampled_from(WORK_GPU_H)),
            }
        )
    warm_queued = [{"tenant": "lab", "gpus": 1, "work_gpu_h": 8.0, "waiting_h": 2.0}]
    sc = planner.Scenario.model_validate(
        {
            "name": "equivalence-interrupts",
            "start": "2024-01-01",
            "horizon_days": 5,
            "regions": regions,
            "fleet": fleet,
            "tenants": tenants,
            "initial_state": {"running": warm_running, "queue": warm_queued},
            "scheduler": scheduler,
            "failures": failures,
            "market": {
                "prices": {"H800": {"usd_per_gpu_h": 2.0}, "A800": {"usd_per_gpu_h": 1.0}},
                "price_cuts": [
                    {
                        "date": "2024-01-04",
                        "cut": draw(st.sampled_from([0.1, 0.9])),
                        "models": [draw(st.sampled_from(MODELS))],
                    }
                ],
                "at_obsolescence": "retire",
            },
            "placement": {"capped_nvlink_multinode_throughput": draw(st.sampled_from([1.0, 0.9]))},
        }
    )
    return sc, draw(job_batches(sc))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_random_small_scenarios_with_interruptions_are_identical(
    world: tuple[planner.Scenario, JobBatch],
) -> None:
    sc, jobs = world
    assert unsupported_field(sc) is None
    runs = assert_same_run(sc, jobs=jobs).runs
    # Shown with --hypothesis-show-statistics: how often each kind of cut actually happens.
    event(f"runs preempted: {'some' if runs['preempted'].any() else 'none'}")
    failed = runs["interrupted"] & ~runs["preempted"]
    event(f"runs cut by a node failure: {'some' if failed.any() else 'none'}")
    event(f"scheduler: {sc.scheduler.kind}")
