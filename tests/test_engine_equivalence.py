"""The fast engine is the reference engine, compiled: the same scenario, seed and replication
give identical tables (exact equality, not a tolerance) and identical summaries.

Each check runs the scenario once on each engine and compares every row of the jobs and runs
tables. The rule both engines follow at one instant is planner.model.timing's: run ends in the
order the runs started, then business events, then arrivals, then the daily samples; placement
ties go to the lowest-numbered node and pod (planner.model.fleet).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
import planner.model.fast
from planner.model.demand import WARM_QUEUED, WARM_RUNNING, JobBatch
from planner.model.fast import EngineFallback, UnsupportedByFastEngine, unsupported_field
from planner.scenario.checks import largest_pod_gpus, whole_nodes

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
MODELS = ("H800", "A800")


def assert_same_run(
    sc: planner.Scenario, seed: int = 0, jobs: JobBatch | None = None, replication: int = 0
) -> planner.RunResult:
    """Run ``sc`` on both engines; every table and the summary must be identical."""
    reference = planner.simulate(sc, seed, jobs=jobs, replication=replication, engine="reference")
    fast = planner.simulate(sc, seed, jobs=jobs, replication=replication, engine="fast")
    for name in ("jobs", "runs", "tenants", "credit_events", "fragmentation", "cohorts"):
        pd.testing.assert_frame_equal(
            reference.table(name), fast.table(name), check_exact=True, obj=name
        )
    pd.testing.assert_series_equal(reference.summary(), fast.summary(), check_exact=True)
    return fast


# -- the built-in scenarios ----------------------------------------------------------------------


def builtin(name: str) -> planner.Scenario:
    return planner.load_scenario(SCENARIOS / f"{name}.yaml")


def test_alibaba_2024_full_horizon_is_identical() -> None:
    fast = assert_same_run(builtin("alibaba-2024"))
    assert len(fast.jobs) > 100_000  # the whole three years, not a shortened run


@pytest.mark.parametrize("name", ["early-successor", "export-shock-2025", "mmc", "price-war"])
def test_builtin_scenarios_are_identical(name: str) -> None:
    sc = builtin(name)
    assert unsupported_field(sc) is None
    assert_same_run(sc)


def test_failures_at_scale_without_failures_is_identical() -> None:
    sc = builtin("failures-at-scale")
    assert_same_run(sc.with_overrides({"failures": None}))


def test_policy_compare_without_spot_is_identical() -> None:
    sc = builtin("policy-compare")
    spot = [i for i, t in enumerate(sc.tenants) if t.tier == "spot"]
    plain = sc.with_overrides({f"tenants.{i}.tier": "on_demand" for i in spot})
    assert_same_run(plain, seed=3, replication=1)


# -- choosing the engine ---------------------------------------------------------------------------


# The fast engine runs every scenario today, so a limit is stood in for: the fallback is the
# path any feature the reference engine gains first would take.
STAND_IN_LIMIT = "scheduler.example=true"


@pytest.fixture
def a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planner.model.fast, "unsupported_field", lambda sc: STAND_IN_LIMIT)


def test_auto_falls_back_with_a_warning_naming_the_field(a_limit: None) -> None:
    sc = builtin("policy-compare").with_overrides({"horizon_days": 30})
    with pytest.warns(EngineFallback, match=r"scheduler\.example=true"):
        result = planner.simulate(sc, engine="auto")
    assert len(result.jobs) > 0


def test_fast_on_an_unsupported_scenario_raises_naming_the_field(a_limit: None) -> None:
    sc = builtin("policy-compare")
    with pytest.raises(UnsupportedByFastEngine, match=r"scheduler\.example=true"):
        planner.simulate(sc, engine="fast")


def test_the_scenario_chooses_the_engine_when_simulate_does_not(a_limit: None) -> None:
    sc = builtin("policy-compare").with_overrides({"horizon_days": 30, "engine": "reference"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reference engine, chosen: no fallback warning
        planner.simulate(sc)
    with pytest.raises(UnsupportedByFastEngine, match=r"scheduler\.example=true"):
        planner.simulate(sc.with_overrides({"engine": "fast"}))


def test_a_supported_scenario_runs_fast_under_auto_without_a_warning() -> None:
    sc = builtin("mmc").with_overrides({"horizon_days": 10})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        planner.simulate(sc)


def test_importing_planner_leaves_numba_unloaded() -> None:
    code = "import sys, planner, planner.cli; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_fast_engine_reports_progress_up_to_the_whole_horizon() -> None:
    seen: list[float] = []
    planner.simulate(builtin("mmc").with_overrides({"horizon_days": 10}), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5


# -- ties at one instant ---------------------------------------------------------------------------


def test_runs_ending_together_free_their_gpus_in_the_order_they_started() -> None:
    """Two 8-GPU runs on two one-node cohorts end at the same instant; the job queued behind
    them takes the GPUs of the run that started first, because that end is handled first."""
    sc = planner.Scenario.model_validate(
        {
            "name": "ties",
            "start": "2024-01-01",
            "horizon_days": 1,
            "regions": [{"name": "r1", "pod_gpus": 8, "gpus_per_node": 8}],
            "fleet": [
                {"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
                {"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
            ],
            "tenants": [{"name": "acme", "class": "paying", "models": ["H800"]}],
        }
    )
    rows = [(0.0, 8, 8.0), (0.0, 8, 8.0), (0.5, 8, 8.0)]  # (submit_h, gpus, work_gpu_h)
    submit, gpus, work = (np.array(c) for c in zip(*rows, strict=True))
    jobs = JobBatch(submit, np.zeros(3, np.int64), gpus.astype(np.int64), work)
    runs = assert_same_run(sc, jobs=jobs).runs.set_index("job_id")
    assert runs.loc[0, "to_h"] == runs.loc[1, "to_h"] == 1.0
    assert runs.loc[2, "cohort"] == runs.loc[0, "cohort"] != runs.loc[1, "cohort"]


def test_a_job_running_at_time_zero_is_not_queued_work_to_a_balking_tenant() -> None:
    """16 GPUs are busy with a warm-started job; 20 jobs of 8 GPU-hours arrive together. The
    expected wait each sees is the work queued ahead over 16 GPUs: 0, 0.5 and 1 h let the first
    three in, and the rest balk at more than 1 h."""
    campaigns = [
        {"name": f"c{i}", "submit": "2024-01-02", "gpus": 8, "work_gpu_h": 8.0} for i in range(20)
    ]
    sc = planner.Scenario.model_validate(
        {
            "name": "warm-balk",
            "start": "2024-01-01",
            "horizon_days": 3,
            "regions": [{"name": "r1", "pod_gpus": 16, "gpus_per_node": 8}],
            "fleet": [{"model": "H800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"}],
            "tenants": [
                {
                    "name": "acme",
                    "class": "paying",
                    "models": ["H800"],
                    "patience": {"balk_wait_h": 1.0},
                    "campaigns": campaigns,
                }
            ],
            "initial_state": {
                "running": [
                    {
                        "tenant": "acme",
                        "gpus": 16,
                        "model": "H800",
                        "region": "r1",
                        "remaining_work_gpu_h": 1000.0,
                    }
                ]
            },
        }
    )
    acme = assert_same_run(sc).tenants.iloc[0]
    assert acme["jobs_balked"] == 17
    assert acme["jobs_submitted"] == 4  # the warm job and three campaigns


# -- random small scenarios ------------------------------------------------------------------------

# Few distinct times and amounts of work, so submissions, starts and ends often coincide.
TIMES_H = [0.0, 1.0, 6.0, 24.0, 30.5, 48.0, 72.0]
WORK_GPU_H = [1.0, 4.0, 8.0, 24.0, 96.0]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[planner.Scenario, JobBatch]:
    """A FIFO scenario with every feature the fast engine supports, and its jobs: regions of
    different node sizes, cohorts in service from the start or mid-run, retiring when a deep
    price cut makes them obsolete, an export-control bar, credit tenants (cash, shrink, leave),
    balking and churn, cost placement, jobs running and queued at time zero, and jobs of any
    size, including ones spanning part of a node."""
    node = draw(st.sampled_from([1, 4, 8]))
    node2 = draw(st.sampled_from([2, 8, 16]))
    regions = [
        {"name": "r1", "pod_gpus": node * draw(st.integers(1, 4)), "gpus_per_node": node},
        {"name": "r2", "pod_gpus": node2 * draw(st.integers(1, 3)), "gpus_per_node": node2},
    ]
    fleet = [
        {
            "model": "H800",
            "region": "r1",
            "gpus": node * draw(st.integers(1, 6)),
            "acquired": "2023-06-01",
        }
    ]
    for _ in range(draw(st.integers(0, 3))):
        region = draw(st.sampled_from(regions))
        fleet.append(
            {
                "model": draw(st.sampled_from(MODELS)),
                "region": region["name"],
                "gpus": region["gpus_per_node"] * draw(st.integers(1, 6)),
                "acquired": draw(st.sampled_from(["2023-06-01", "2024-01-02", "2024-01-03"])),
            }
        )
    patience = draw(
        st.sampled_from(
            [
                None,
                {"balk_wait_h": 0.5},
                {"balk_wait_h": 5.0, "churn_wait_h": 1.0, "churn_after": 2},
                {"churn_wait_h": 2.0, "churn_after": 1},
            ]
        )
    )
    tenants: list[dict[str, Any]] = [
        {
            "name": "pay",
            "class": "paying",
            "models": list(draw(st.permutations(MODELS))),
            "placement": draw(st.sampled_from(["preference", "cost"])),
            "patience": patience,
        },
        {"name": "lab", "class": "internal", "models": ["H800", "A800"], "regions": ["r2", "r1"]},
        {
            "name": "startup",
            "class": "credit",
            "models": list(dict.fromkeys([draw(st.sampled_from(MODELS)), "H800"])),
            "credit": {
                "amount_usd": draw(st.floats(10.0, 5000.0)),
                "granted": draw(st.sampled_from(["2024-01-01", "2024-01-02"])),
                "expires": draw(st.sampled_from(["2024-01-04", "2024-02-01"])),
                "after": draw(st.sampled_from(["cash", "shrink", "leave"])),
                "shrink_factor": 0.5,
            },
        },
    ]
    controls = []
    if draw(st.booleans()):
        bar = {"tenants": [draw(st.sampled_from(["pay", "lab"]))], "regions": ["r1"]}
        controls.append({"effective": "2024-01-03", "restrict": [bar]})
    warm_running = []
    if draw(st.booleans()):
        warm_running.append(
            {
                "tenant": draw(st.sampled_from(["pay", "lab", "startup"])),
                "gpus": draw(st.integers(1, node)),
                "model": "H800",
                "region": "r1",
                "remaining_work_gpu_h": draw(st.sampled_from(WORK_GPU_H)),
            }
        )
    warm_queued = [
        {"tenant": "lab", "gpus": 1, "work_gpu_h": w, "waiting_h": h}
        for w, h in draw(
            st.lists(
                st.tuples(st.sampled_from(WORK_GPU_H), st.sampled_from([0.0, 2.0])), max_size=2
            )
        )
    ]
    sc = planner.Scenario.model_validate(
        {
            "name": "equivalence",
            "start": "2024-01-01",
            "horizon_days": 5,
            "regions": regions,
            "fleet": fleet,
            "export_controls": controls,
            "tenants": tenants,
            "initial_state": {"running": warm_running, "queue": warm_queued},
            "market": {
                "prices": {"H800": {"usd_per_gpu_h": 2.0}, "A800": {"usd_per_gpu_h": 1.0}},
                # A deep cut pushes a model below its opex mid-run: its cohorts retire (or
                # drop to a floor price) while jobs run on them.
                "price_cuts": [
                    {
                        "date": draw(st.sampled_from(["2024-01-02", "2024-01-04"])),
                        "cut": draw(st.sampled_from([0.1, 0.9])),
                        "models": [draw(st.sampled_from(MODELS))],
                    }
                ],
                "at_obsolescence": draw(st.sampled_from(["retire", "floor"])),
                "floor_usd_per_gpu_h": 0.05,
            },
            "placement": {"capped_nvlink_multinode_throughput": draw(st.sampled_from([1.0, 0.9]))},
        }
    )
    return sc, draw(job_batches(sc))


@st.composite
def job_batches(draw: st.DrawFn, sc: planner.Scenario) -> JobBatch:
    """The initial state's jobs (found by their names, as generated workloads carry them) and
    up to 40 more of any size that fits somewhere the tenant may run."""
    names = {t.name: i for i, t in enumerate(sc.tenants)}
    rows: list[tuple[float, int, int, float, int, float]] = []  # submit, tenant, gpus, work, ..
    campaign_names: list[str] = []
    warm = [
        (WARM_RUNNING, 0.0, r.tenant, r.gpus, r.remaining_work_gpu_h)
        for r in sc.initial_state.running
    ]
    warm += [
        (WARM_QUEUED, -q.waiting_h, q.tenant, q.gpus, q.work_gpu_h) for q in sc.initial_state.queue
    ]
    counter = {WARM_RUNNING: 0, WARM_QUEUED: 0}
    for prefix, submit_h, tenant, gpus, work in warm:
        campaign_names.append(f"{prefix}{counter[prefix]}")
        counter[prefix] += 1
        t = names[tenant]
        held = whole_nodes(gpus, sc.node_gpus(sc.tenants[t]))
        rows.append((submit_h, t, held, work, len(campaign_names) - 1, 0.0))
    largest = [largest_pod_gpus(sc, t)[0] for t in sc.tenants]
    runnable = [t for t, most in enumerate(largest) if most > 0]
    for _ in range(draw(st.integers(1, 40))):
        t = draw(st.sampled_from(runnable))
        gpus = draw(st.integers(1, largest[t]))
        if whole_nodes(gpus, sc.node_gpus(sc.tenants[t])) > largest[t]:
            continue  # could never fit: the scenario's checks reject such jobs
        submit_h = draw(st.sampled_from(TIMES_H) | st.floats(0.0, 110.0))
        work = draw(st.sampled_from(WORK_GPU_H) | st.floats(0.5, 300.0))
        rows.append((submit_h, t, gpus, work, -1, draw(st.floats(0.0, 1.0))))
    rows.sort(key=lambda row: row[0])
    submit, tenant, gpus, work, campaign, keep_u = (np.array(c) for c in zip(*rows, strict=True))
    return JobBatch(
        submit_h=submit.astype(np.float64),
        tenant=tenant.astype(np.int64),
        gpus=gpus.astype(np.int64),
        work_gpu_h=work.astype(np.float64),
        campaign=campaign.astype(np.int64),
        keep_u=keep_u.astype(np.float64),
        campaign_names=tuple(campaign_names),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_random_small_scenarios_are_identical(world: tuple[planner.Scenario, JobBatch]) -> None:
    sc, jobs = world
    assert unsupported_field(sc) is None
    assert_same_run(sc, jobs=jobs)


def read_only(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


@pytest.mark.parametrize("own", [np.copy, read_only], ids=["writeable", "read-only"])
def test_a_batch_given_runs_on_the_kernel_compiled_for_generated_ones(
    own: Callable[[np.ndarray], np.ndarray],
) -> None:
    """numba compiles a kernel once per type of its arguments, and a read-only array is not
    the type of a writeable one: a batch given by the user (read-only, say, as arrays read
    from Parquet are) must not cost minutes of compiling a second kernel."""
    from dataclasses import replace

    from planner.model.fast import build_model, flow

    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 5})
    generated = planner.simulate(sc, engine="fast")
    compiled = set(flow.advance.signatures)
    batch = build_model(sc, 0, engine="fast").jobs
    names = ("submit_h", "tenant", "gpus", "work_gpu_h", "keep_u")
    owned = replace(batch, **{name: own(getattr(batch, name)) for name in names})
    given = planner.simulate(sc, jobs=owned, engine="fast")
    assert set(flow.advance.signatures) == compiled
    pd.testing.assert_frame_equal(given.jobs, generated.jobs)
