"""EASY backfilling against strict FIFO on the same demand: shorter waits, more work done.

The comparison is statistical: replications on common random numbers, an interval over them
for each claim. The properties below check EASY's promise and its shortcuts on random queues.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planner
from planner.model.engine import Model
from planner.model.policies import Backfill
from planner.stats import mean_ci
from tests.conftest import batch, scenario


def mixed_sizes_on_one_model() -> planner.Scenario:
    """policy-compare's credit start-up and mixed-size paying customers on its 2,048 H800s
    alone, at a load of about 0.87: the spot tenant (which fills idle GPUs under every policy)
    and the slow A800 pool (on which a job holds ~3x the GPU-hours for the same work, so busy
    hours stop measuring work done) are left out."""
    d = planner.load_scenario("policy-compare").model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )
    d["tenants"] = [t for t in d["tenants"] if t.get("tier") != "spot"]
    d["fleet"] = [c for c in d["fleet"] if c["model"] == "H800"]
    for tenant in d["tenants"]:
        tenant["models"] = ["H800"]
    d["placement"] = {}
    return planner.Scenario.model_validate(d)


REPLICATIONS = 20
LEVEL = 1.0 - 0.05 / 2  # two intervals: by Bonferroni a 95% family-wise level


@pytest.fixture(scope="module")
def paired() -> pd.DataFrame:
    """Per replication, FIFO's and backfill's mean wait and utilisation on the same demand
    (common random numbers: replication r of seed 0 under each policy)."""
    sc = mixed_sizes_on_one_model()
    rows = []
    for r in range(REPLICATIONS):
        row = {}
        for kind in ("fifo", "backfill"):
            summary = planner.simulate(
                sc.with_overrides({"scheduler.kind": kind}), seed=0, replication=r
            ).summary()
            row[f"wait_{kind}"] = summary["wait_mean_h.all"]
            row[f"util_{kind}"] = summary["utilisation"]
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.statistical
def test_backfill_waits_less_than_half_as_long_as_fifo(paired: pd.DataFrame) -> None:
    """The ratio of backfill's mean wait to FIFO's, per replication, has its interval over
    replications below one half (measured: about a tenth)."""
    ratio = mean_ci(paired["wait_backfill"] / paired["wait_fifo"], level=LEVEL)
    assert ratio.high < 0.5, ratio


@pytest.mark.statistical
def test_backfill_uses_more_gpu_hours_than_fifo(paired: pd.DataFrame) -> None:
    """Backfill's utilisation minus FIFO's, per replication, has its interval above zero
    (measured: about two points): the jobs it starts early fill GPUs FIFO leaves idle."""
    gain = mean_ci(paired["util_backfill"] - paired["util_fifo"], level=LEVEL)
    assert gain.low > 0.0, gain


@st.composite
def queues(draw: st.DrawFn) -> tuple[planner.Scenario, Any]:
    """Three to twelve 4-GPU nodes in pods of two or four, jobs of mixed sizes and runtimes;
    sometimes nodes fail (so jobs restart, paying a long restart) and a spot tenant fills idle
    GPUs (so jobs are preempted and restart)."""
    node_gpus = 4
    pod_nodes = draw(st.sampled_from([2, 4]))
    nodes = draw(st.integers(3, 12))
    sc = scenario(
        regions=[{"name": "r1", "pod_gpus": node_gpus * pod_nodes, "gpus_per_node": node_gpus}],
        fleet=[
            {"model": "H800", "region": "r1", "gpus": node_gpus * nodes, "acquired": "2023-06-01"}
        ],
        scheduler={
            "kind": "backfill",
            "max_scan": draw(st.sampled_from([None, 3])),
            "estimate": draw(
                st.sampled_from([{"kind": "exact"}, {"kind": "noisy", "max_factor": 4.0}])
            ),
        },
        placement={"capped_nvlink_multinode_throughput": draw(st.sampled_from([1.0, 0.85]))},
        failures=draw(
            st.sampled_from(
                [
                    None,
                    {
                        "node_per_1000_node_days": 300,
                        "restart_min": 120,
                        "repair_days": {"kind": "constant", "value": 0.5},
                    },
                ]
            )
        ),
        tenants=[
            {"name": "acme", "class": "paying", "models": ["H800"]},
            {"name": "fill", "class": "paying", "models": ["H800"], "tier": "spot"},
        ],
    )
    sizes = [1, 2, 3, node_gpus, 2 * node_gpus, node_gpus * min(pod_nodes, nodes)]
    spot = draw(st.booleans())
    rows = sorted(
        (
            draw(st.floats(0.0, 100.0)),
            draw(st.sampled_from(sizes)),
            draw(st.floats(0.5, 300.0)),
            draw(st.booleans()) and spot,
        )
        for _ in range(draw(st.integers(2, 40)))
    )
    return sc, batch([row[:3] for row in rows], [int(row[3]) for row in rows])


@settings(max_examples=100, deadline=None)
@given(queues(), st.integers(0, 2**16))
def test_no_head_starts_later_than_its_reservation(world: tuple[Any, Any], seed: int) -> None:
    """EASY's promise: once a job heads the queue and gets a reservation, later jobs never
    delay it, whatever its topology or the estimates (which never undershoot), and whether
    the jobs it waits for are restarting from a checkpoint (after a failure or preemption)
    or not. Only a node failing while it waits is not foreseen."""
    sc, jobs = world
    model = Model(sc, seed, jobs=jobs)
    model.run()
    policy = model.policy
    assert isinstance(policy, Backfill)
    tables = planner.analysis.collect(model.record())
    table = tables.jobs.set_index("job_id")
    failed_h = tables.failures["t_h"].to_numpy(dtype=np.float64)
    for job, promised_h in policy.promised_h.items():
        start_h = table.loc[job, "start_h"]
        waited_to_h = sc.horizon_h if np.isnan(start_h) else start_h
        if np.any((failed_h >= table.loc[job, "submit_h"]) & (failed_h <= waited_to_h)):
            continue  # a node failed while it waited
        if np.isnan(start_h):  # still queued: only if it was promised past the horizon
            assert promised_h >= sc.horizon_h
        else:
            assert start_h <= promised_h + 1e-9


@settings(max_examples=60, deadline=None)
@given(queues(), st.integers(0, 2**16))
def test_exact_estimates_end_when_runs_end_restarts_included(
    world: tuple[Any, Any], seed: int
) -> None:
    """With exact estimates, every run that completes ends when backfill expected it to: a
    job restarting from a checkpoint is expected to pay its restart too. (An estimate that
    undershoots lets a reservation built on it be missed by up to the restart time.)"""
    sc, jobs = world
    sc = sc.with_overrides({"scheduler.estimate": {"kind": "exact"}})
    model = Model(sc, seed, jobs=jobs)
    policy = model.policy
    assert isinstance(policy, Backfill)
    expected: dict[int, list[float]] = {}
    admit = policy._admitted

    def noting_estimates(job: int, where: Any, duration_h: float) -> bool:
        expected.setdefault(job, []).append(model.now + duration_h)
        return admit(job, where, duration_h)

    policy._admitted = noting_estimates  # type: ignore[method-assign]
    model.run()
    runs = planner.analysis.collect(model.record()).runs
    done = runs[~runs["interrupted"] & (runs["to_h"] < sc.horizon_h)]
    for run in done.itertuples():
        assert run.to_h == pytest.approx(expected[run.job_id][run.run], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(queues(), st.integers(0, 2**16))
def test_skipping_jobs_that_cannot_start_changes_no_start(
    world: tuple[Any, Any], seed: int
) -> None:
    """The pre-check and the parking of jobs that cannot pass the reservation are shortcuts:
    over the whole queue, the schedule is the same with them off, where every job is tried in
    every pass."""
    sc, jobs = world
    # Over the whole queue: with a depth limit, setting jobs aside lets the window reach
    # further down the queue, which is meant to change what starts.
    sc = sc.with_overrides({"scheduler.max_scan": None})
    with_shortcuts = planner.simulate(sc, seed, jobs=jobs).jobs
    Backfill.shortcuts = False
    try:
        tried_each_time = planner.simulate(sc, seed, jobs=jobs).jobs
    finally:
        Backfill.shortcuts = True
    pd.testing.assert_frame_equal(with_shortcuts, tried_each_time)
