"""Scheduling policies: which queued job goes next."""

from __future__ import annotations

import numpy as np
import pytest

import planner
from planner.analysis import collect
from planner.model.engine import Model
from planner.model.policies import Backfill, estimate_factors
from planner.model.streams import Streams
from tests.conftest import base_dict, batch, scenario


def two_tenants(scheduler: dict) -> planner.Scenario:
    """Two 8-GPU nodes shared by a credit start-up (tenant 0) and a paying customer (tenant 1)."""
    d = base_dict(scheduler=scheduler)
    d["tenants"] = [
        {
            "name": "startup",
            "class": "credit",
            "models": ["H800"],
            "credit": {"amount_usd": 1e6, "granted": "2024-01-01", "expires": "2024-02-01"},
        },
        {"name": "acme", "class": "paying", "models": ["H800"]},
    ]
    return planner.Scenario.model_validate(d)


# Hour 0: the start-up fills both nodes for 10 h; hour 1: it queues another 8-GPU job; hour 2:
# the paying customer queues one too.
JOBS = [(0.0, 16, 160.0), (1.0, 8, 8.0), (2.0, 8, 8.0)]


def test_fifo_serves_the_earlier_job_first() -> None:
    res = planner.simulate(two_tenants({"kind": "fifo"}), jobs=batch(JOBS, [0, 0, 1]))
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 10.0]


def test_priority_serves_paying_customers_before_credit_start_ups() -> None:
    """Both queued jobs fit at hour 10; with one node free at a time the paying job goes first."""
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 16.0), (2.0, 16, 16.0)], [0, 0, 1])
    res = planner.simulate(two_tenants({"kind": "priority"}), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 11.0, 10.0]


def test_an_explicit_priority_overrides_the_class_order() -> None:
    d = two_tenants({"kind": "priority"}).model_dump(mode="json", by_alias=True, exclude_unset=True)
    d["tenants"][0]["priority"] = -1
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 16.0), (2.0, 16, 16.0)], [0, 0, 1])
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 11.0]


def test_a_blocked_high_priority_head_blocks_lower_levels() -> None:
    """The paying head needs both nodes; a credit job that would fit on the free node waits."""
    jobs = batch([(0.0, 8, 80.0), (1.0, 16, 16.0), (2.0, 8, 8.0)], [0, 1, 0])
    res = planner.simulate(two_tenants({"kind": "priority"}), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 11.0]


def test_unknown_scheduler_kind_is_a_clear_error() -> None:
    with pytest.raises(planner.ScenarioError, match="scheduler"):
        planner.scenario.validate(base_dict(scheduler={"kind": "lottery"}))


# -- EASY backfill -----------------------------------------------------------------------------

# Hour 0: a job holds one node for 10 h. Hour 1: a job needing both nodes queues behind it and
# reserves both from hour 10. Hour 2: a 5-hour job fits before the reservation; hour 3: a 20-hour
# job would overlap it.
BACKFILL_JOBS = [(0.0, 8, 80.0), (1.0, 16, 160.0), (2.0, 8, 40.0), (3.0, 8, 160.0)]


def test_backfill_starts_a_later_job_that_ends_before_the_heads_reservation() -> None:
    res = planner.simulate(scenario(scheduler={"kind": "backfill"}), jobs=batch(BACKFILL_JOBS))
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 2.0, 20.0]


def test_fifo_makes_the_same_jobs_wait_behind_the_head() -> None:
    res = planner.simulate(scenario(scheduler={"kind": "fifo"}), jobs=batch(BACKFILL_JOBS))
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 20.0, 20.0]


def test_backfill_lets_a_long_job_use_nodes_the_head_does_not_need() -> None:
    """Three nodes: the head needs two whole ones and reserves the two the running job frees at
    hour 10, so a 50-hour job may take the third node now without delaying it."""
    d = base_dict(scheduler={"kind": "backfill"})
    d["regions"][0]["pod_gpus"] = 24
    d["fleet"][0]["gpus"] = 24
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 160.0), (2.0, 8, 400.0)])
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 2.0]


def test_with_noisy_estimates_the_head_starts_by_its_promised_time() -> None:
    """Over-estimates push the reservation later (to the running job's estimated end), so more
    jobs may backfill; the head still starts no later than it was promised, and never before
    the running job actually ends at hour 10."""
    sc = scenario(scheduler={"kind": "backfill", "estimate": {"kind": "noisy", "max_factor": 100}})
    model = Model(sc, jobs=batch(BACKFILL_JOBS))
    model.run()
    assert isinstance(model.policy, Backfill)
    promised_h = model.policy.promised_h[1]
    assert promised_h > 10.0  # the running job's estimate is longer than its 10 h
    jobs = collect(model.record()).jobs
    assert 10.0 <= jobs["start_h"][1] <= promised_h


# -- quota --------------------------------------------------------------------------------------


def quota_scenario(**scheduler: object) -> planner.Scenario:
    """Two 8-GPU nodes; the start-up holds one node's worth (8 GPUs) under its deal."""
    d = two_tenants({"kind": "quota", **scheduler}).model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )
    d["tenants"][0]["reservation"] = {"gpus": 8, "model": "H800", "region": "r1"}
    return planner.Scenario.model_validate(d)


# Hour 0: the paying customer starts two 100-hour jobs; hour 1: the start-up asks for 8 GPUs.
QUOTA_JOBS = [(0.0, 8, 800.0), (0.0, 8, 800.0), (1.0, 8, 80.0)]


def test_a_reserved_tenant_reclaims_its_lent_gpus_at_once() -> None:
    res = planner.simulate(quota_scenario(), jobs=batch(QUOTA_JOBS, [1, 1, 0]))
    jobs = res.jobs
    assert list(jobs["start_h"]) == [0.0, 0.0, 1.0]
    # The later of the two borrowers gives the node back and runs again once it is free.
    assert list(jobs["preemptions"]) == [0, 1, 0]
    runs = res.runs[res.runs["job_id"] == 1]
    assert list(runs["from_h"]) == [0.0, 11.0]
    assert runs["preempted"].tolist() == [True, False]


def test_without_lending_reserved_gpus_stay_idle_for_their_owner() -> None:
    res = planner.simulate(quota_scenario(lend=False), jobs=batch(QUOTA_JOBS, [1, 1, 0]))
    assert list(res.jobs["start_h"]) == [0.0, 100.0, 1.0]
    assert res.jobs["preemptions"].sum() == 0


def test_without_reclaim_the_owner_waits_for_one_borrower_to_finish() -> None:
    jobs = batch([(0.0, 8, 800.0), (0.0, 8, 400.0), (1.0, 8, 80.0)], [1, 1, 0])
    res = planner.simulate(quota_scenario(reclaim=False), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 0.0, 50.0]


def test_other_schedulers_ignore_reservations() -> None:
    d = quota_scenario().model_dump(mode="json", by_alias=True, exclude_unset=True)
    d["scheduler"] = {"kind": "fifo"}
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch(QUOTA_JOBS, [1, 1, 0]))
    assert list(res.jobs["start_h"]) == [0.0, 0.0, 100.0]


# -- tiers and preemption -----------------------------------------------------------------------


def spot_scenario(scheduler: dict) -> planner.Scenario:
    d = two_tenants(scheduler).model_dump(mode="json", by_alias=True, exclude_unset=True)
    d["tenants"][0] = {"name": "batch", "class": "paying", "models": ["H800"], "tier": "spot"}
    return planner.Scenario.model_validate(d)


@pytest.mark.parametrize("kind", ["fifo", "priority", "backfill", "quota"])
def test_spot_work_is_preempted_first_under_every_policy(kind: str) -> None:
    """Spot fills both nodes; an on-demand job needing both arrives at hour 1.2 and takes
    them at once. Each spot job kept its checkpoint at hour 1.0 and lost 0.2 h x 8 GPUs."""
    jobs = batch([(0.0, 8, 800.0), (0.0, 8, 800.0), (1.2, 16, 32.0)], [0, 0, 1])
    res = planner.simulate(spot_scenario({"kind": kind}), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 0.0, 1.2]
    assert list(res.jobs["preemptions"]) == [1, 1, 0]
    assert res.jobs["lost_gpu_h"][:2].tolist() == pytest.approx([0.2 * 8 + 8 / 6] * 2)
    # They run again after the on-demand job, from their checkpoint, after a 10-minute restart.
    restart = res.runs[(res.runs["job_id"] == 0) & (res.runs["run"] == 1)]
    assert restart["from_h"].item() == pytest.approx(3.2)
    assert res.jobs["end_h"][0] == pytest.approx(3.2 + 1 / 6 + (800 - 8) / 8)


def test_queued_spot_work_never_blocks_other_jobs() -> None:
    jobs = batch([(0.0, 8, 80.0), (1.0, 16, 16.0), (2.0, 8, 8.0)], [1, 0, 1])
    res = planner.simulate(spot_scenario({"kind": "fifo"}), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 2.0]


def test_spot_pays_its_tier_price() -> None:
    """List price $2/GPU-h; spot pays 40% of it, on-demand all of it."""
    jobs = batch([(0.0, 8, 80.0), (0.0, 8, 80.0)], [0, 1])
    res = planner.simulate(spot_scenario({"kind": "fifo"}), jobs=jobs)
    assert res.jobs["revenue_usd"].tolist() == pytest.approx([0.4 * 2.0 * 80, 2.0 * 80])
    summary = res.summary()
    assert summary["revenue_usd.spot"] == pytest.approx(64.0)
    assert summary["revenue_usd.on_demand"] == pytest.approx(160.0)


def test_priority_preemption_stops_lower_levels_for_a_blocked_head() -> None:
    """The credit start-up fills both nodes; a paying job needing both arrives at hour 2."""
    jobs = batch([(0.0, 16, 1600.0), (2.0, 16, 16.0)], [0, 1])
    waits = {}
    for preempt in (False, True):
        sc = two_tenants({"kind": "priority", "preempt": preempt})
        waits[preempt] = planner.simulate(sc, jobs=jobs).jobs["start_h"].tolist()
    assert waits == {False: [0.0, 100.0], True: [0.0, 2.0]}


def test_aging_lifts_a_long_waiting_job_above_newer_higher_priority_work() -> None:
    """One node's worth of slots, taken in turn. The credit job queued at hour 1 has waited
    9 h by hour 10; with aging every 5 h it has climbed past the paying level and goes first."""
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 16.0), (9.0, 16, 16.0)], [0, 0, 1])
    plain = planner.simulate(two_tenants({"kind": "priority"}), jobs=jobs)
    aged = planner.simulate(two_tenants({"kind": "priority", "aging_h": 5.0}), jobs=jobs)
    assert plain.jobs["start_h"].tolist() == [0.0, 11.0, 10.0]
    assert aged.jobs["start_h"].tolist() == [0.0, 10.0, 11.0]


def test_reservations_larger_than_their_pool_are_reported() -> None:
    d = base_dict()
    d["tenants"][0]["reservation"] = {"gpus": 24, "model": "H800", "region": "r1"}
    with pytest.raises(planner.ScenarioError, match=r"tenants\.acme\.reservation\.gpus"):
        planner.scenario.validate(d)


def test_a_reservation_on_a_model_the_tenant_cannot_use_is_reported() -> None:
    d = base_dict()
    d["tenants"][0]["reservation"] = {"gpus": 8, "model": "A800", "region": "r1"}
    with pytest.raises(planner.ScenarioError, match="not a pool this tenant may use"):
        planner.scenario.validate(d)


def test_a_scan_depth_limits_how_far_backfill_looks_down_the_queue() -> None:
    """Three nodes, all busy until hour 4 (one until 10). At hour 1 the head needs all three
    and reserves them from hour 10; behind it wait another three-node job and a 2-hour job
    on one node. At hour 4 a full scan passes over the three-node job (too big for the two
    free nodes) and starts the 2-hour one; a scan of two jobs (the head and the three-node
    job) never reaches it, and it waits for both three-node jobs (hours 10-20 and 20-21)."""
    d = base_dict()
    d["regions"][0]["pod_gpus"] = 24
    d["fleet"][0]["gpus"] = 24
    rows = [(0.0, 8, 80.0), (0.0, 8, 32.0), (0.0, 8, 32.0)]
    rows += [(1.0, 24, 240.0), (1.0, 24, 24.0), (1.0, 8, 16.0)]
    starts = {}
    for depth in (None, 2):
        d["scheduler"] = {"kind": "backfill", "max_scan": depth}
        res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch(rows))
        starts[depth] = res.jobs["start_h"].tolist()[3:]
    assert starts == {None: [10.0, 20.0, 4.0], 2: [10.0, 20.0, 21.0]}


def test_a_job_running_at_time_zero_counts_against_its_tenants_reservation() -> None:
    """At time zero the start-up's job fills its 8 reserved GPUs until hour 10 and a paying
    job holds the other node. The start-up's next job is over its quota: it may not reclaim
    the paying customer's node, and starts, in quota, when the first one ends."""
    d = quota_scenario().model_dump(mode="json", by_alias=True, exclude_unset=True)
    node = {"gpus": 8, "model": "H800", "region": "r1"}
    d["initial_state"] = {
        "running": [
            {"tenant": "startup", **node, "remaining_work_gpu_h": 80.0},
            {"tenant": "acme", **node, "remaining_work_gpu_h": 800.0},
        ]
    }
    d["tenants"][0]["campaigns"] = [{"submit": "2024-01-01", "gpus": 8, "work_gpu_h": 80.0}]
    res = planner.simulate(planner.Scenario.model_validate(d))
    started = res.jobs.set_index("campaign")["start_h"]
    assert started.tolist() == [0.0, 0.0, 10.0]
    assert started.index.tolist() == ["warm:running:0", "warm:running:1", "startup-campaign-0"]
    assert res.jobs["preemptions"].sum() == 0


def test_noisy_estimates_follow_each_tenants_own_jobs() -> None:
    """A tenant's k-th job gets the same estimate factor whatever another tenant submits, so
    runs compared on common random numbers see the same estimates where demand is the same."""
    sc = scenario(
        scheduler={"kind": "backfill", "estimate": {"kind": "noisy", "max_factor": 3.0}},
        tenants=[
            {"name": "acme", "class": "paying", "models": ["H800"]},
            {"name": "zeta", "class": "paying", "models": ["H800"]},
        ],
    )
    alone = np.array([0, 0, 0, 0])
    interleaved = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    streams = Streams(seed=7)
    a = estimate_factors(sc, alone, streams)
    b = estimate_factors(sc, interleaved, streams)
    np.testing.assert_array_equal(a, b[interleaved == 0])
    assert np.all((b >= 1.0) & (b <= 3.0)) and len(set(b)) == len(b)
    exact = sc.with_overrides({"scheduler.estimate": {"kind": "exact"}})
    np.testing.assert_array_equal(estimate_factors(exact, interleaved, streams), 1.0)
