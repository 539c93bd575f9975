"""The planner seen through the benchmark: the only module that imports `planner`.

Everything the benchmark needs from the planner's interface is in the functions below, so a
change to that interface is a change to this file alone. The planner is measured two ways:

- *engine*: `planner.model.engine.Model(scenario, seed, jobs=batch)` is built as setup, and only
  `Model.run()`, the event loop, is timed.
- *simulate*: `planner.simulate(scenario, seed=seed, jobs=batch)` is timed end to end: it builds
  the model, runs it and builds every output table (jobs, timeseries, cohorts, ...).

The benchmark fleet is **one pod of N GPUs** in 8-GPU nodes (see `ONE_POD_REASON`).
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.workload import FloatArray, Workload

BUILTIN_SCENARIO_PATH = Path(__file__).resolve().parent.parent / "scenarios" / "alibaba-2024.yaml"
BUILTIN_SEED = 1
BUILTIN_REPEATS = 3
DRAIN_DAYS = 30
GPUS_PER_NODE = 8
HOURS_PER_YEAR = 8766.0
REFERENCE_MODEL = "H800"
ONE_POD_REASON = (
    "With 1,024-GPU pods, strict FIFO and jobs of up to 1,024 GPUs (a whole pod), the planner's"
    " queue is unstable at offered load 0.8: a 1,024-GPU head job waits for a whole pod to drain"
    " while everything queues behind it. The Container model has no topology, so the engines"
    " would simulate different queues and the speed ratio would mean nothing. With one pod of N"
    " GPUs the planner still packs jobs into 8-GPU nodes, and its mean wait is of the same order"
    " as the Container's."
)


@dataclass(frozen=True, slots=True, eq=False)
class PreparedRun:
    """A validated scenario and job batch, ready for `planner.simulate` or a `Model`."""

    scenario: Any
    jobs: Any


def horizon_days(workload: Workload) -> int:
    """Return a horizon that covers the last arrival plus time for the queue to drain."""
    return math.ceil(workload.last_submit_h / 24.0) + DRAIN_DAYS


def scenario_dict(n_gpus: int, days: int) -> dict[str, Any]:
    """Return the benchmark scenario: one region, one pod, one H800 cohort, one FIFO tenant."""
    return {
        "name": "bench",
        "start": "2024-01-01",
        "horizon_days": days,
        "regions": [{"name": "r1", "pod_gpus": n_gpus, "gpus_per_node": GPUS_PER_NODE}],
        "fleet": [
            {
                "model": REFERENCE_MODEL,
                "region": "r1",
                "gpus": n_gpus,
                "acquired": "2023-06-01",
                "unit_capex_usd": 40000,
            }
        ],
        "tenants": [{"name": "bench", "class": "paying", "models": [REFERENCE_MODEL]}],
        "scheduler": {"kind": "fifo"},
    }


def prepare(workload: Workload) -> PreparedRun:
    """Validate the benchmark scenario and wrap the workload as a planner job batch."""
    import planner
    import planner.model.demand

    scenario = planner.Scenario.model_validate(
        scenario_dict(workload.n_gpus, horizon_days(workload))
    )
    jobs = planner.model.demand.JobBatch(
        submit_h=workload.submit_h,
        tenant=np.zeros(workload.n_jobs, dtype=np.int64),
        gpus=workload.gpus,
        work_gpu_h=workload.work_gpu_h,
    )
    return PreparedRun(scenario=scenario, jobs=jobs)


# -- planner_simulate: the whole public call ----------------------------------------------------


def run_simulate(prepared: PreparedRun, seed: int = 0) -> Any:
    """Run `planner.simulate` on the reference engine; return its result."""
    import planner

    return planner.simulate(prepared.scenario, seed=seed, jobs=prepared.jobs, engine="reference")


def run_simulate_fast(prepared: PreparedRun, seed: int = 0) -> Any:
    """Run `planner.simulate` on the compiled engine; return its result."""
    import planner

    return planner.simulate(prepared.scenario, seed=seed, jobs=prepared.jobs, engine="fast")


def warm_up_fast() -> float:
    """Load (or, on a machine's first run, compile) the fast engine's kernel on a tiny run, so
    the timed runs measure the loop, not numba; return the seconds it took."""
    from benchmarks.workload import draw_workload

    started_s = time.perf_counter()
    run_simulate_fast(prepare(draw_workload(200, 64, 0)))
    return time.perf_counter() - started_s


def simulate_waits(result: Any) -> FloatArray:
    """Return the per-job waits in hours of a `planner.simulate` result (NaN if unstarted)."""
    waits: FloatArray = result.jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan)
    return waits


# -- planner_engine: the event loop alone -------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class BuiltModel:
    """A planner `Model`, built and not yet run, with the submit times of its jobs."""

    model: Any
    submit_h: FloatArray


def build_model(workload: Workload, seed: int = 0) -> BuiltModel:
    """Validate the scenario, wrap the jobs and build the planner's `Model` (not run)."""
    from planner.model.engine import Model

    prepared = prepare(workload)
    model = Model(prepared.scenario, seed, jobs=prepared.jobs)
    return BuiltModel(model=model, submit_h=workload.submit_h)


def build_fast_model(workload: Workload, seed: int = 0) -> BuiltModel:
    """The same, on the compiled engine (`planner.model.fast.driver.FastModel`)."""
    from planner.model.fast.driver import FastModel

    prepared = prepare(workload)
    model = FastModel(prepared.scenario, seed, jobs=prepared.jobs)
    return BuiltModel(model=model, submit_h=workload.submit_h)


def run_model(built: BuiltModel) -> BuiltModel:
    """Run the built model's event loop to the horizon."""
    built.model.run()
    return built


def model_waits(built: BuiltModel) -> FloatArray:
    """Return the per-job waits in hours from a run model's record (NaN if unstarted)."""
    recorded = built.model.record().recorded
    start_h = np.full(built.submit_h.size, np.nan)
    start_h[recorded.start_job] = recorded.start_h
    waits: FloatArray = start_h - built.submit_h
    return waits


# -- the built-in scenario ----------------------------------------------------------------------


def _display_path(path: Path) -> str:
    """Return `path` relative to the repository root when it lies inside it."""
    root = BUILTIN_SCENARIO_PATH.parent.parent
    resolved = path.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)


def _time_simulate(scenario: Any, seed: int, engine: str = "reference") -> tuple[float, Any]:
    """Return the wall time of one `planner.simulate(scenario, seed=seed)` and its result."""
    import planner

    # The last run's cyclic garbage is collected now, not charged to this run: a reference
    # run leaves hundreds of MB of it, and the fast run after it would pay for freeing them.
    gc.collect()
    started_s = time.perf_counter()
    result = planner.simulate(scenario, seed=seed, engine=engine)  # type: ignore[arg-type]
    return time.perf_counter() - started_s, result


def run_builtin_scenario(
    path: Path = BUILTIN_SCENARIO_PATH, seed: int = BUILTIN_SEED, repeats: int = BUILTIN_REPEATS
) -> dict[str, Any]:
    """Load a scenario file and simulate it `repeats` times; return wall times, GPU-years/s."""
    import planner

    started_s = time.perf_counter()
    scenario = planner.load_scenario(path)
    load_s = time.perf_counter() - started_s
    walls_s: list[float] = []
    fast_s: list[float] = []
    # One untimed fast run first: it loads from the cache the kernel functions this scenario
    # calls and a tiny warm-up run does not, which is start-up (timed apart), not the loop.
    _time_simulate(scenario, seed, "fast")
    for _ in range(repeats):  # interleaved, so both engines see the same machine
        wall_s, result = _time_simulate(scenario, seed)
        walls_s.append(wall_s)
        fast_s.append(_time_simulate(scenario, seed, "fast")[0])
    median_s = statistics.median(walls_s)
    per_pair = [r / f for r, f in zip(walls_s, fast_s, strict=True)]
    gpu_years = float(result.cohorts["in_service_gpu_h"].sum()) / HOURS_PER_YEAR
    return {
        "scenario": _display_path(path),
        "seed": seed,
        "repeats": repeats,
        "load_s": load_s,
        "simulate_s": walls_s,
        "median_simulate_s": median_s,
        "jobs": len(result.jobs),
        "gpu_years": gpu_years,
        "gpu_years_source": "result.cohorts['in_service_gpu_h'].sum() / 8766",
        "gpu_years_per_s": gpu_years / median_s,
        "fast_simulate_s": fast_s,
        "median_fast_simulate_s": statistics.median(fast_s),
        "fast_speedup_per_pair": per_pair,
        "median_fast_speedup": statistics.median(per_pair),
    }


KERNEL_PROBE = """
import time
started = time.perf_counter()
import planner
sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 2})
planner.simulate(sc, engine="fast")
print(time.perf_counter() - started)
"""


def kernel_start_up() -> dict[str, float]:
    """Seconds a fresh process takes to import planner and run a 2-day scenario on the fast
    engine: first with an empty kernel cache (numba compiles), then with the cache it left."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        times = [
            float(
                subprocess.run(
                    [sys.executable, "-c", KERNEL_PROBE],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=BUILTIN_SCENARIO_PATH.parent.parent,
                ).stdout.split()[-1]
            )
            for _ in range(2)
        ]
    return {"first_run_compile_s": times[0], "cached_start_s": times[1]}
