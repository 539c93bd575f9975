"""The planner engine seen through the benchmark: the only module that imports `planner`.

Everything the benchmark needs from the planner's public interface is in the functions below,
so a change to that interface is a change to this file alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.workload import FloatArray, Workload

BUILTIN_SCENARIO_PATH = Path(__file__).resolve().parent.parent / "scenarios" / "alibaba-2024.yaml"
DRAIN_DAYS = 30
HOURS_PER_YEAR = 8766.0
REFERENCE_MODEL = "H800"


@dataclass(frozen=True, slots=True, eq=False)
class PreparedRun:
    """A validated scenario and job batch, ready for `planner.simulate`."""

    scenario: Any
    jobs: Any


def horizon_days(workload: Workload) -> int:
    """Return a horizon that covers the last arrival plus time for the queue to drain."""
    return math.ceil(workload.last_submit_h / 24.0) + DRAIN_DAYS


def scenario_dict(n_gpus: int, days: int) -> dict[str, Any]:
    """Return the benchmark scenario: one region, one H800 cohort, one FIFO paying tenant."""
    return {
        "name": "bench",
        "start": "2024-01-01",
        "horizon_days": days,
        "regions": [{"name": "r1", "pod_gpus": 1024, "gpus_per_node": 8}],
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


def run(prepared: PreparedRun, seed: int = 0) -> FloatArray:
    """Simulate the prepared run; return the per-job waits in hours (NaN for unstarted jobs)."""
    import planner

    result = planner.simulate(prepared.scenario, seed=seed, jobs=prepared.jobs)
    return result.jobs["wait_h"].to_numpy(dtype=np.float64, na_value=np.nan)


def _initial_fleet_gpu_h(scenario: Any) -> float:
    """Return initial fleet GPUs x horizon hours, read from the scenario."""
    gpus = sum(int(cohort.gpus) for cohort in scenario.fleet)
    return float(gpus) * float(scenario.horizon_days) * 24.0


def _in_service_gpu_h(result: Any, scenario: Any) -> tuple[float, str]:
    """Return in-service GPU-hours and where they came from."""
    summary = result.summary()
    if "in_service_gpu_h" in summary.index:
        return float(summary["in_service_gpu_h"]), "result.summary()['in_service_gpu_h']"
    return _initial_fleet_gpu_h(scenario), "initial fleet GPUs x horizon (from the scenario)"


def run_builtin_scenario(path: Path = BUILTIN_SCENARIO_PATH, seed: int = 0) -> dict[str, Any]:
    """Load and simulate a scenario file; return load and run wall times and GPU-years per s."""
    import planner

    started_s = time.perf_counter()
    scenario = planner.load_scenario(path)
    load_s = time.perf_counter() - started_s
    started_s = time.perf_counter()
    result = planner.simulate(scenario, seed=seed)
    simulate_s = time.perf_counter() - started_s
    gpu_h, gpu_h_source = _in_service_gpu_h(result, scenario)
    gpu_years = gpu_h / HOURS_PER_YEAR
    return {
        "scenario": str(path),
        "seed": seed,
        "load_s": load_s,
        "simulate_s": simulate_s,
        "jobs": len(result.jobs),
        "gpu_years": gpu_years,
        "gpu_years_source": gpu_h_source,
        "gpu_years_per_s": gpu_years / simulate_s,
    }
