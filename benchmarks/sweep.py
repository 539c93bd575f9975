"""Sweep throughput: evaluations per second on 1 and 2 local processes.

Run from the repository root:

    python -m benchmarks.sweep [--scenario policy-compare] [--evaluations 16] [--repeats 2]

Each repeat sweeps ``scheduler.kind`` over fifo and backfill with enough replications for the
requested number of evaluations, into a fresh directory, once with one worker process and
once with two, interleaved. The figure is evaluations per wall-second, the whole sweep timed
(pool start-up, scenario validation, writing one Parquet file per evaluation); the ratio of
two workers to one, taken within a repeat, is the speed-up.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import REPO_ROOT, git_info, load_average, machine_info
from benchmarks.report import write_json
from planner.experiments.sweep import sweep
from planner.scenario import load_scenario

OUT = REPO_ROOT / "benchmarks" / "results" / "sweep-latest.json"


def timed_sweep(scenario: str, evaluations: int, workers: int) -> float:
    """Evaluations per second of one whole sweep."""
    sc = load_scenario(scenario)
    reps = max(1, evaluations // 2)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        rows = sweep(
            sc,
            Path(tmp) / "sweep",
            grid={"scheduler.kind": ["fifo", "backfill"]},
            reps=reps,
            workers=workers,
        )
        wall_s = time.perf_counter() - began
    return len(rows) / wall_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="policy-compare")
    parser.add_argument("--evaluations", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    one: list[float] = []
    two: list[float] = []
    for _ in range(args.repeats):
        one.append(timed_sweep(args.scenario, args.evaluations, 1))
        two.append(timed_sweep(args.scenario, args.evaluations, 2))
    speedups = [b / a for a, b in zip(one, two, strict=True)]
    report: dict[str, Any] = {
        "benchmark": "sweep",
        "scenario": args.scenario,
        "evaluations": args.evaluations,
        "repeats": args.repeats,
        "evaluations_per_s_1_worker": one,
        "evaluations_per_s_2_workers": two,
        "speedup_2_over_1": speedups,
        "machine": machine_info(),
        "git": git_info(),
        "load_average": load_average(),
    }
    print(
        f"{args.scenario}: 1 worker {statistics.median(one):.2f} evaluations/s, "
        f"2 workers {statistics.median(two):.2f} evaluations/s, "
        f"speed-up {statistics.median(speedups):.2f}x [{min(speedups):.2f}-{max(speedups):.2f}]"
    )
    write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
