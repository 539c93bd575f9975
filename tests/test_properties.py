"""Invariants that hold for every scenario, checked on random small fleets and workloads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.scenario.checks import largest_pod_gpus
from tests.accounting import assert_tables_match_the_runs
from tests.conftest import batch

MODELS = ("H800", "A800")


SCHEDULERS = st.sampled_from(
    [
        {"kind": "fifo"},
        {"kind": "priority"},
        {"kind": "priority", "preempt": True, "aging_h": 12.0},
        {"kind": "backfill"},
        {"kind": "backfill", "estimate": {"kind": "noisy", "max_factor": 3.0}},
        {"kind": "quota"},
        {"kind": "quota", "lend": False},
        {"kind": "quota", "reclaim": False},
    ]
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[planner.Scenario, Any]:
    """A random scenario (cohorts in regions of different node sizes, an order under a ban,
    tenants with credits) and a job table of any sizes that fit somewhere."""
    node = draw(st.sampled_from([1, 4, 8]))
    pod_nodes = draw(st.integers(1, 4))
    node2 = draw(st.sampled_from([2, 8, 16]))
    pod_nodes2 = draw(st.integers(1, 3))
    regions = [
        {"name": "r1", "pod_gpus": node * pod_nodes, "gpus_per_node": node},
        {"name": "r2", "pod_gpus": node2 * pod_nodes2, "gpus_per_node": node2},
    ]
    fleet = []
    for _ in range(draw(st.integers(1, 3))):
        region = draw(st.sampled_from(regions))
        fleet.append(
            {
                "model": draw(st.sampled_from(MODELS)),
                "region": region["name"],
                "gpus": region["gpus_per_node"]
                * draw(st.integers(1, 3 * region["pod_gpus"] // region["gpus_per_node"])),
                "acquired": draw(st.sampled_from(["2023-01-01", "2024-01-02", "2024-01-04"])),
            }
        )
    orders = [
        {
            "model": "A800",
            "region": "r1",
            "gpus": node * pod_nodes,
            "ordered": "2024-01-01",
            "lead_days": draw(st.sampled_from([1, 3])),
        }
    ]
    controls = [
        {
            "effective": "2024-01-03",
            "ban": ["A800"],
            "undelivered": draw(st.sampled_from(["cancel", "freeze"])),
        }
    ]
    tenants: list[dict[str, Any]] = [
        {
            "name": "pay",
            "class": "paying",
            "models": list(MODELS),
            "placement": draw(st.sampled_from(["preference", "cost"])),
        },
        {"name": "lab", "class": "internal", "models": ["H800", "A800"]},
        {
            "name": "startup",
            "class": "credit",
            "models": list(dict.fromkeys([draw(st.sampled_from(MODELS)), "H800"])),
            "credit": {
                "amount_usd": draw(st.floats(10.0, 5000.0)),
                "granted": "2024-01-02",
                "expires": draw(st.sampled_from(["2024-01-05", "2024-02-01"])),
                "after": draw(st.sampled_from(["cash", "shrink", "leave"])),
            },
        },
        {"name": "batch", "class": "paying", "models": ["H800", "A800"], "tier": "spot"},
    ]
    h800 = [c for c in fleet if c["model"] == "H800"]
    if h800 and draw(st.booleans()):
        region = draw(st.sampled_from([c["region"] for c in h800]))
        tenants[2]["reservation"] = {
            "gpus": draw(st.integers(1, sum(c["gpus"] for c in h800 if c["region"] == region))),
            "model": "H800",
            "region": region,
            "start": "2024-01-02",
        }
    sc = planner.Scenario.model_validate(
        {
            "name": "prop",
            "start": "2024-01-01",
            "horizon_days": 8,
            "regions": regions,
            "fleet": fleet,
            "orders": orders,
            "export_controls": controls,
            "tenants": tenants,
            "market": {
                "prices": {"H800": {"usd_per_gpu_h": 2.0}, "A800": {"usd_per_gpu_h": 1.0}},
                # A deep cut can push a model below its opex mid-run, so cohorts retire or
                # drop to a floor while jobs run on them.
                "price_cuts": [
                    {
                        "date": draw(st.sampled_from(["2024-01-03", "2024-01-06"])),
                        "cut": draw(st.sampled_from([0.1, 0.9])),
                        "models": [draw(st.sampled_from(MODELS))],
                    }
                ],
                "at_obsolescence": draw(st.sampled_from(["retire", "floor"])),
                "floor_usd_per_gpu_h": 0.05,
            },
            "scheduler": draw(SCHEDULERS),
            "placement": {"capped_nvlink_multinode_throughput": draw(st.sampled_from([1.0, 0.9]))},
            # Sometimes nodes fail often, so jobs are interrupted, requeued and restarted.
            "failures": draw(
                st.sampled_from(
                    [
                        None,
                        {
                            "node_per_1000_node_days": 300,
                            "repair_days": {"kind": "constant", "value": 0.5},
                        },
                        {
                            "node_per_1000_node_days": 300,
                            "spare_fraction": 0.5,
                            "checkpoint": {"kind": "young_daly", "write_min": 2},
                        },
                    ]
                )
            ),
        }
    )
    n = draw(st.integers(1, 40))
    largest_of = [largest_pod_gpus(sc, t)[0] for t in sc.tenants]
    # The paying tenant may use every model, so at least it can always run something.
    runnable = [t for t, largest in enumerate(largest_of) if largest > 0]
    tenant_ix = [draw(st.sampled_from(runnable)) for _ in range(n)]
    rows = []
    for t in tenant_ix:
        rows.append(
            (
                draw(st.floats(0.0, 180.0)),
                draw(st.integers(1, largest_of[t])),
                draw(st.floats(0.5, 400.0)),
            )
        )
    order = sorted(range(n), key=lambda k: rows[k][0])
    rows = [rows[k] for k in order]
    tenant_ix = [tenant_ix[k] for k in order]
    return sc, batch(rows, tenant_ix)


def concurrent_max(starts: np.ndarray, ends: np.ndarray, gpus: np.ndarray) -> float:
    """Peak of the sum of GPUs held, with releases applied before takes at equal times."""
    if len(starts) == 0:
        return 0.0
    t = np.concatenate([ends, starts])
    d = np.concatenate([-gpus, gpus])
    order = np.lexsort((d, t))
    return float(np.max(np.cumsum(d[order])))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(worlds())
def test_invariants(world: tuple[planner.Scenario, Any]) -> None:
    sc, jobs_in = world
    res = planner.simulate(sc, jobs=jobs_in)
    jobs, cohorts, tenants = res.jobs, res.cohorts, res.tenants

    # Every job is accounted for: submitted (in the table) or skipped by its tenant's rule.
    assert len(jobs) + int(tenants["jobs_skipped"].sum()) == len(jobs_in)
    assert set(jobs["state"]) <= {"queued", "running", "finished"}

    # No job starts before it arrives, and a job's end follows its start.
    started = jobs[jobs["start_h"].notna()]
    assert (started["start_h"] >= started["submit_h"] - 1e-9).all()
    finished = jobs[jobs["end_h"].notna()]
    assert (finished["end_h"] > finished["start_h"]).all()

    # No job is started twice at once: a job's runs follow one another, one per start.
    runs = res.runs.sort_values(["job_id", "from_h"])
    same_job = runs["job_id"].to_numpy()[1:] == runs["job_id"].to_numpy()[:-1]
    gaps = runs["from_h"].to_numpy()[1:] - runs["to_h"].to_numpy()[:-1]
    assert (gaps[same_job] >= -1e-9).all()
    # Each cut-short run put the job back in the queue; a job holding GPUs now has one more.
    per_job = runs.groupby("job_id").size()
    had_runs = jobs.set_index("job_id").loc[per_job.index]
    assert (per_job == had_runs["restarts"] + (had_runs["state"] != "queued")).all()

    # Strict FIFO: jobs first start in submission order, and none after a still-queued one
    # (spot jobs aside: they only ever take idle GPUs).
    if sc.scheduler.kind == "fifo":
        starts = jobs.loc[jobs["tier"] != "spot", "start_h"].to_numpy()
        first_queued = np.argmax(np.isnan(starts)) if np.isnan(starts).any() else len(starts)
        assert not np.isnan(starts[:first_queued]).any()
        assert np.all(np.isnan(starts[first_queued:]))
        assert np.all(np.diff(starts[:first_queued]) >= -1e-9)

    # Every run holds the job's own GPUs on one node, or every GPU of the whole nodes it spans
    # in the region it runs in.
    node_of = {r.name: r.gpus_per_node for r in sc.regions}
    runs = res.runs.merge(jobs[["job_id", "gpus"]], on="job_id", suffixes=("_held", ""))
    node_gpus = runs["region"].astype(str).map(node_of).to_numpy()
    asked = runs["gpus"].to_numpy()
    nodes = -(-asked // node_gpus)
    np.testing.assert_array_equal(runs["gpus_held"], np.where(nodes > 1, nodes * node_gpus, asked))

    # A finished job's useful GPU-hours are its work, scaled by the GPUs held for each one
    # asked: held time minus what failures cost (checked where every run was on H800s, whose
    # throughput is 1.0, at full speed, and held the same GPUs).
    if sc.placement.capped_nvlink_multinode_throughput < 1.0:
        spans = pd.Series(nodes > 1, index=runs.index).groupby(runs["job_id"]).transform("any")
        runs = runs[~spans.to_numpy(dtype=bool)]
    per_job = runs.groupby("job_id")
    same = (per_job["gpu_model"].agg(lambda m: set(m) == {"H800"}).astype(bool)) & (
        per_job["gpus_held"].min() == per_job["gpus_held"].max()
    )
    done = finished.set_index("job_id")
    done = done[same.reindex(done.index, fill_value=False).to_numpy(dtype=bool)]
    np.testing.assert_allclose(
        done["gpu_h"] - done["lost_gpu_h"],
        done["work_gpu_h"] * done["gpus_held"] / done["gpus"],
        rtol=1e-6,
    )
    runs = res.runs

    # Capacity, run by run: a cohort never holds more GPUs than it has, runs no job before it
    # is in service, and starts none after it retired.
    by_name = cohorts.set_index("cohort")
    for name, on in runs.groupby("cohort", observed=True):
        cohort = by_name.loc[name]
        assert (on["from_h"] >= cohort["in_service_from_h"] - 1e-9).all()
        if not np.isnan(cohort["retired_at_h"]):
            assert (on["from_h"] < cohort["retired_at_h"]).all()
        assert (
            concurrent_max(
                on["from_h"].to_numpy(), on["to_h"].to_numpy(), on["gpus"].to_numpy(float)
            )
            <= cohort["gpus"]
        )

    # No GPU of a banned, undelivered order is ever used.
    undelivered = res.orders.loc[res.orders["status"] != "delivered", "order"]
    assert not set(undelivered) & set(jobs["cohort"].dropna())

    # Credits never go negative; granted = burned + left + forfeited.
    assert (jobs["credit_usd"] >= 0).all() and (jobs["cash_usd"] >= -1e-9).all()
    for t in tenants.itertuples():
        assert t.credits_left_usd >= 0
        np.testing.assert_allclose(
            t.credits_granted_usd,
            t.credits_burned_usd + t.credits_left_usd + t.credits_forfeited_usd,
            rtol=1e-9,
            atol=1e-9,
        )

    # Money and GPU-hours against a bill rebuilt from the runs table (tests/accounting.py).
    assert_tables_match_the_runs(res)

    # Utilisation stays in [0, 1].
    util = res.timeseries["utilisation"].dropna()
    assert ((util >= -1e-12) & (util <= 1 + 1e-9)).all()


@settings(max_examples=15, deadline=None)
@given(worlds(), st.integers(0, 2**32 - 1))
def test_same_seed_same_result(world: tuple[planner.Scenario, Any], seed: int) -> None:
    sc, jobs_in = world
    a = planner.simulate(sc, seed=seed, jobs=jobs_in)
    b = planner.simulate(sc, seed=seed, jobs=jobs_in)
    for name in planner.RunResult.table_names():
        pd.testing.assert_frame_equal(a.table(name), b.table(name))
    pd.testing.assert_series_equal(a.summary(), b.summary())
