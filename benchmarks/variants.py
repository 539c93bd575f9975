"""Policy rows: the benchmark workload under fifo and backfill, node failures off and on.

`python -m benchmarks.variants ENGINE SCHEDULER FAILURES JOBS GPUS SEED` (ENGINE `reference`
or `fast`, SCHEDULER `fifo` or `backfill`, FAILURES `off` or `on`) draws the workload, times
`Model.run()` on a freshly built model and then `planner.simulate()` with every table (the
fast engine after a warm-up run of the same scenario, three times; the reference once), and
prints one JSON line. The harness runs it as a child process with a time limit, so a
slow row cannot stall the whole suite, and reports each row's loop and simulate times beside
the naive models' median times at the same size in the same run.

A row the fast engine does not support yet is reported as such, naming the field, without
running anything; it lights up as soon as the fast engine gains the policy.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.workload import draw_workload

SCHEDULERS = ("fifo", "backfill")
FAILURES = ("off", "on")
# The failure model of failures-at-scale (domain.md §8 defaults): 5 node failures per 1,000
# node-days, repairs exponential with a 3-day mean, clipped at 20 days.
NODE_FAILURES = {
    "node_per_1000_node_days": 5.0,
    "repair_days": {"kind": "exponential", "mean": 3.0, "max": 20},
}
ROW_TIMEOUT_S = 420.0
# Fast rows take seconds, so they are repeated (median reported, every run kept); reference
# rows take a minute each and run once.
FAST_REPEATS = 3


def variant_scenario(base: dict[str, Any], scheduler: str, failures: str) -> dict[str, Any]:
    """The benchmark scenario under `scheduler`, with node failures if `failures` is on."""
    data = {**base, "scheduler": {"kind": scheduler}}
    if failures == "on":
        data["failures"] = NODE_FAILURES
    return data


def run_row(
    engine: str, scheduler: str, failures: str, n_jobs: int, n_gpus: int, seed: int
) -> dict[str, Any]:
    """Time one row in this process; return its JSON record."""
    import planner
    from benchmarks import engine_adapter
    from planner.model.fast import build_model
    from planner.model.fast.support import unsupported_field

    workload = draw_workload(n_jobs, n_gpus, seed)
    prepared = engine_adapter.prepare(workload)
    data = variant_scenario(
        engine_adapter.scenario_dict(n_gpus, engine_adapter.horizon_days(workload)),
        scheduler,
        failures,
    )
    scenario = planner.Scenario.model_validate(data)
    if engine == "fast":
        field = unsupported_field(scenario)
        if field is not None:
            return {"status": "not supported by the fast engine", "field": field}
        # numba compiles the kernel once per combination of policy and features, so the
        # warm-up runs this very scenario (on a few jobs), not just any.
        small = engine_adapter.prepare(draw_workload(2_000, n_gpus, seed))
        planner.simulate(scenario, 0, jobs=small.jobs, engine="fast")
    loop_s: list[float] = []
    simulate_s: list[float] = []
    for _ in range(FAST_REPEATS if engine == "fast" else 1):
        model = build_model(scenario, 0, jobs=prepared.jobs, engine=engine)  # type: ignore[arg-type]
        started_s = time.perf_counter()
        model.run()
        loop_s.append(time.perf_counter() - started_s)
        del model
        started_s = time.perf_counter()
        planner.simulate(scenario, 0, jobs=prepared.jobs, engine=engine)  # type: ignore[arg-type]
        simulate_s.append(time.perf_counter() - started_s)
    return {
        "status": "ok",
        "loop_s": statistics.median(loop_s),
        "simulate_s": statistics.median(simulate_s),
        "loop_runs_s": loop_s,
        "simulate_runs_s": simulate_s,
    }


def probe_row(
    engine: str, scheduler: str, failures: str, n_jobs: int, n_gpus: int, seed: int
) -> dict[str, Any]:
    """Run one row in a fresh child process with a time limit; return its record."""
    command = [sys.executable, "-m", "benchmarks.variants", engine, scheduler, failures]
    command += [str(n_jobs), str(n_gpus), str(seed)]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=ROW_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {ROW_TIMEOUT_S:.0f} s"}
    lines = child.stdout.strip().splitlines()
    if child.returncode == 0 and lines:
        result: dict[str, Any] = json.loads(lines[-1])
        return result
    return {"status": "error", "error": f"exit {child.returncode}: {child.stderr[-2000:]}"}


def with_ratios(row: dict[str, Any], naive_s: dict[str, float | None]) -> dict[str, Any]:
    """`row` with its loop and simulate speed as ratios to each naive model's median time."""
    if row.get("status") != "ok":
        return row
    ratios = {
        f"{kind} / {naive}": (time_s / row[f"{kind}_s"] if time_s else None)
        for kind in ("loop", "simulate")
        for naive, time_s in naive_s.items()
    }
    # Over the row's own repeats, against the naive models' medians.
    ranges = {
        f"{kind} / {naive}": [
            time_s / max(row[f"{kind}_runs_s"]),
            time_s / min(row[f"{kind}_runs_s"]),
        ]
        for kind in ("loop", "simulate")
        for naive, time_s in naive_s.items()
        if time_s and row.get(f"{kind}_runs_s")
    }
    return {**row, "ratios": ratios, "ratio_ranges": ranges}


def main(argv: list[str]) -> int:
    if len(argv) != 6 or argv[0] not in ("reference", "fast"):
        print("usage: python -m benchmarks.variants ENGINE SCHEDULER FAILURES JOBS GPUS SEED")
        return 2
    engine, scheduler, failures = argv[0], argv[1], argv[2]
    n_jobs, n_gpus, seed = int(argv[3]), int(argv[4]), int(argv[5])
    print(json.dumps(run_row(engine, scheduler, failures, n_jobs, n_gpus, seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
