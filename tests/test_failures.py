"""Node failures: lost work, restarts, spares, and rates checked against theory."""

from __future__ import annotations

import math

import pytest

import planner
from planner.analysis import collect
from planner.model.engine import Model
from planner.stats import mean_ci
from tests.conftest import base_dict, batch

RESTART_H = 10 / 60


def failing(
    gpus: int = 8, spare_fraction: float = 0.0, rate: float = 0.0, **extra: object
) -> planner.Scenario:
    """H800 nodes that fail only when told to (rate 0) unless a rate is given; repair takes a
    day; checkpoints every 30 minutes; a restart costs 10 minutes."""
    d = base_dict(horizon_days=extra.pop("horizon_days", 10))  # type: ignore[arg-type]
    d["fleet"][0]["gpus"] = gpus
    d["regions"][0]["pod_gpus"] = max(gpus, 16)
    d["failures"] = {
        "node_per_1000_node_days": rate,
        "repair_days": {"kind": "constant", "value": 1},
        "checkpoint": {"kind": "fixed", "interval_min": 30},
        "restart_min": 10,
        "spare_fraction": spare_fraction,
        **extra,
    }
    return planner.Scenario.model_validate(d)


def run_with_failure(
    sc: planner.Scenario, jobs: object, at_h: float, node: int = 0
) -> planner.analysis.Tables:
    model = Model(sc, jobs=jobs)  # type: ignore[arg-type]
    assert model.failures is not None
    model.failures.inject(at_h, cohort=0, node=node)
    model.run()
    return collect(model.record())


def test_a_job_loses_the_work_since_its_last_checkpoint_plus_the_restart() -> None:
    """An 8-GPU job of 80 GPU-hours (10 h) on the only node, which fails at hour 3.7.
    Saved: 3.5 h (seven 30-minute checkpoints); lost: 0.2 h x 8 GPUs. The node is repaired at
    hour 27.7; the job restarts, spends 10 minutes restoring, and runs the last 6.5 h."""
    tables = run_with_failure(failing(), batch([(0.0, 8, 80.0)]), at_h=3.7)
    job = tables.jobs.iloc[0]
    assert job["restarts"] == 1
    assert job["end_h"] == pytest.approx(27.7 + RESTART_H + 6.5)
    assert job["lost_gpu_h"] == pytest.approx(8 * (0.2 + RESTART_H))
    assert job["gpu_h"] - job["lost_gpu_h"] == pytest.approx(80.0)
    assert list(tables.failures["t_h"]) == [3.7]


def test_a_spare_node_lets_the_job_restart_at_once() -> None:
    """Two nodes, the first held as a spare, so the job runs on the second. When that node
    fails the spare takes its place, and the job restarts straight away instead of waiting a
    day for the repair."""
    sc = failing(gpus=16, spare_fraction=0.5)
    tables = run_with_failure(sc, batch([(0.0, 8, 80.0)]), at_h=3.7, node=1)
    job = tables.jobs.iloc[0]
    assert job["end_h"] == pytest.approx(3.7 + RESTART_H + 6.5)
    assert bool(tables.failures.loc[0, "spare_used"])


def test_gpus_down_are_counted_until_repaired() -> None:
    """A node fails at hour 12 and is back a day later, at hour 36: 8 GPUs down for half of
    day 0 and half of day 1."""
    tables = run_with_failure(failing(gpus=16), batch([(0.0, 1, 1.0)]), at_h=12.0)
    down = tables.timeseries["gpus_down"].to_numpy()
    assert down[:3] == pytest.approx([4.0, 4.0, 0.0])


@pytest.mark.statistical
def test_failure_count_matches_the_configured_rate() -> None:
    """128 nodes at 5 failures per 1,000 node-days for 1,000 days, repaired in ~1 minute:
    640 failures expected. The mean over 20 replications brackets it (99% interval)."""
    sc = failing(
        gpus=1024, rate=5.0, horizon_days=1000, repair_days={"kind": "constant", "value": 1e-3}
    )
    counts = [len(planner.simulate(sc, seed=3, replication=r).failures) for r in range(20)]
    interval = mean_ci(counts, level=0.99)
    expected = 128 * 1000 * 5 / 1000
    assert interval.contains(expected), interval
    assert not interval.contains(expected * 1.1)


@pytest.mark.statistical
def test_lost_work_per_failure_is_half_an_interval_plus_the_restart() -> None:
    """A 64-GPU job running for months on a pool with spares, so each failure restarts it at
    once. With failures far rarer than checkpoints, the time since the last checkpoint is
    uniform over the interval, so each failure costs interval/2 + restart of the job's GPUs."""
    sc = failing(
        gpus=128,
        spare_fraction=0.25,
        rate=50.0,
        horizon_days=400,
        checkpoint={"kind": "fixed", "interval_min": 60},
    )
    per_failure = []
    for r in range(12):
        res = planner.simulate(sc, seed=11, replication=r, jobs=batch([(0.0, 64, 64 * 24 * 365.0)]))
        job = res.jobs.iloc[0]
        if job["restarts"]:
            per_failure.append(job["lost_gpu_h"] / job["restarts"] / 64)
    interval = mean_ci(per_failure, level=0.99)
    assert interval.contains(0.5 + RESTART_H), interval
    assert not interval.contains(0.5 * 0.5 + RESTART_H)
    assert math.isfinite(interval.mean) and len(per_failure) == 12


def test_failures_draw_their_causes_from_the_llama3_table() -> None:
    """About 30% of Llama 3's interruptions were faulty GPUs, the largest cause."""
    sc = failing(
        gpus=1024,
        rate=50.0,
        horizon_days=200,
        causes="llama3",
        repair_days={"kind": "constant", "value": 1e-3},
    )
    causes = planner.simulate(sc, seed=5).failures["cause"].value_counts(normalize=True)
    assert set(causes.index) <= set(planner.presets.LLAMA3_FAILURE_CAUSES)
    assert causes.index[0] == "faulty GPU"
    assert causes["faulty GPU"] == pytest.approx(148 / 419, abs=0.05)


def test_lost_gpu_hours_add_up_across_jobs_tenants_and_cohorts() -> None:
    sc = failing(gpus=64, rate=200.0, horizon_days=40)
    jobs = batch([(0.0, 8, 8 * 200.0), (0.0, 32, 32 * 100.0), (5.0, 16, 16 * 50.0)])
    res = planner.simulate(sc, seed=2, jobs=jobs)
    lost = res.jobs["lost_gpu_h"].sum()
    assert lost > 0
    assert res.tenants["lost_gpu_h"].sum() == pytest.approx(lost)
    assert res.cohorts["lost_gpu_h"].sum() == pytest.approx(lost)
    assert res.cohorts["node_failures"].sum() == len(res.failures)
