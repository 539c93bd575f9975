"""The fast engine under EASY backfill and quotas gives the reference engine's tables exactly.

Backfill: the head's reservation (over its pools, replaying the running jobs' estimated ends),
backfilled jobs that end before it or stay off the reserved nodes, jobs parked behind it, exact
and noisy estimates (the reference's drawn factors) and a scan depth. Quota: reserved tenants'
own queues, in-quota starts on the reserved pool (recorded per run: take-or-pay contracts bill
them nothing more), lending and not lending, reclaiming lent GPUs by preempting borrowers.
(Spot tenants and node failures under these policies: test_engine_equivalence_interrupts.)
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.model.demand import JobBatch
from planner.model.fast import unsupported_field
from tests.test_engine_equivalence import assert_same_run, builtin, worlds

ESTIMATES = [{"kind": "exact"}, {"kind": "noisy", "max_factor": 3.0}]


def policy_compare_on_demand(scheduler: dict[str, Any]) -> planner.Scenario:
    """policy-compare with its spot tenant made on-demand (nothing is preempted but by a
    reclaim), under ``scheduler``, over its whole horizon."""
    sc = builtin("policy-compare")
    spot = {f"tenants.{i}.tier": "on_demand" for i, t in enumerate(sc.tenants) if t.tier == "spot"}
    assert spot, "policy-compare has a spot tenant to switch"
    return sc.with_overrides({**spot, "scheduler": scheduler})


# -- policy-compare --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheduler",
    [
        {"kind": "backfill", "estimate": ESTIMATES[0], "max_scan": None},
        {"kind": "backfill", "estimate": ESTIMATES[1]},  # the default scan depth, 100
        {"kind": "backfill", "estimate": {"kind": "noisy", "max_factor": 2.0}, "max_scan": 3},
    ],
    ids=["exact-whole-queue", "noisy", "noisy-scan-3"],
)
def test_policy_compare_under_backfill_is_identical(scheduler: dict[str, Any]) -> None:
    sc = policy_compare_on_demand(scheduler)
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc, seed=3, replication=1)
    # Backfill changed the schedule: some job started while an earlier-submitted one waited.
    started = fast.jobs.dropna(subset=["start_h"]).sort_values("submit_h")
    assert (started["start_h"].cummax() > started["start_h"]).any()


@pytest.mark.parametrize(
    ("lend", "reclaim"), [(False, False), (False, True), (True, False), (True, True)], ids=str
)
def test_policy_compare_under_quota_is_identical(lend: bool, reclaim: bool) -> None:
    sc = policy_compare_on_demand({"kind": "quota", "lend": lend, "reclaim": reclaim})
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc, seed=3, replication=1)
    # Only reclaiming lent GPUs preempts anything (no tenant here is spot).
    assert (fast.runs["preempted"].sum() > 0) == (lend and reclaim)


# -- random small scenarios ------------------------------------------------------------------------


@st.composite
def backfill_worlds(draw: st.DrawFn) -> tuple[planner.Scenario, JobBatch]:
    sc, jobs = draw(worlds())
    scheduler = {
        "kind": "backfill",
        "estimate": draw(st.sampled_from([*ESTIMATES, {"kind": "noisy", "max_factor": 1.2}])),
        "max_scan": draw(st.sampled_from([None, 2, 4, 100])),
    }
    return sc.with_overrides({"scheduler": scheduler}), jobs


@st.composite
def quota_worlds(draw: st.DrawFn) -> tuple[planner.Scenario, JobBatch]:
    """A world under quota, with reservations for up to two tenants, each on a pool of the
    fleet the tenant may use (with room for every reservation there), in force for the whole
    run or part of it, a paying tenant's maybe on take-or-pay."""
    sc, jobs = draw(worlds())
    lend, reclaim = draw(
        st.sampled_from([(False, False), (False, True), (True, False), (True, True)])
    )
    overrides: dict[str, Any] = {"scheduler": {"kind": "quota", "lend": lend, "reclaim": reclaim}}
    room: dict[tuple[str, str], int] = {}
    for cohort in sc.fleet:
        key = (cohort.model, cohort.region)
        room[key] = room.get(key, 0) + cohort.gpus
    for tenant in draw(st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=2, unique=True)):
        t = sc.tenants[tenant]
        usable = sorted(
            (model, region)
            for (model, region), gpus in room.items()
            if gpus > 0 and model in t.models and (t.regions is None or region in t.regions)
        )
        if not usable:
            continue
        pool = draw(st.sampled_from(usable))
        gpus = draw(st.integers(1, max(1, room[pool] // 2)))
        room[pool] -= gpus
        overrides[f"tenants.{tenant}.reservation"] = {
            "gpus": gpus,
            "model": pool[0],
            "region": pool[1],
            "start": draw(st.sampled_from([None, "2024-01-02"])),
            "end": draw(st.sampled_from([None, "2024-01-04"])),
        }
        if t.tenant_class == "paying" and draw(st.booleans()):
            # Runs inside the quota are then covered by the contract: billed nothing more.
            overrides[f"tenants.{tenant}.reservation"]["take_or_pay"] = {
                "price_usd_per_gpu_h": draw(st.sampled_from([0.5, 1.75]))
            }
    return sc.with_overrides(overrides), jobs


@settings(max_examples=140, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(backfill_worlds())
def test_random_small_scenarios_under_backfill_are_identical(
    world: tuple[planner.Scenario, JobBatch],
) -> None:
    sc, jobs = world
    assert unsupported_field(sc) is None
    assert_same_run(sc, jobs=jobs)


@settings(max_examples=110, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quota_worlds())
def test_random_small_scenarios_under_quota_are_identical(
    world: tuple[planner.Scenario, JobBatch],
) -> None:
    sc, jobs = world
    assert unsupported_field(sc) is None
    assert_same_run(sc, jobs=jobs)
