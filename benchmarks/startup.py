"""Start-up: how long commands that run no simulation take, against a bare Python.

Run from the repository root:

    python -m benchmarks.startup [--repeats 15] [--reference]

Each command runs in a fresh process, as a user runs it: ``python -c pass`` (the interpreter
alone), ``planner --version``, ``planner validate scenarios/alibaba-2024.yaml``, ``planner
scenarios`` and ``planner schema``. One untimed round warms the file cache, then the rounds are
interleaved (every command once per round), so a busy moment on the machine falls on all of
them alike. The figures are median wall seconds per command and the median of each round's
excess over the bare interpreter (what the planner itself costs to start).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import REPO_ROOT, git_info, load_average, machine_info
from benchmarks.report import write_json

RESULTS = REPO_ROOT / "benchmarks" / "results"
OUT = RESULTS / "startup-latest.json"
PYTHON = sys.executable
# The installed console script beside this interpreter, as a user runs it.
SCRIPT = Path(sys.executable).with_name("planner")
PLANNER = (PYTHON, str(SCRIPT)) if SCRIPT.is_file() else (PYTHON, "-m", "planner.cli")
COMMANDS: dict[str, tuple[str, ...]] = {
    "python -c pass": (PYTHON, "-c", "pass"),
    "planner --version": (*PLANNER, "--version"),
    "planner validate scenarios/alibaba-2024.yaml": (
        *PLANNER,
        "validate",
        "scenarios/alibaba-2024.yaml",
    ),
    "planner scenarios": (*PLANNER, "scenarios"),
    "planner schema": (*PLANNER, "schema"),
}
BARE = "python -c pass"


def wall_s(args: tuple[str, ...]) -> float:
    """Wall seconds of one run of ``ARGS`` from the repository root, output discarded."""
    began = time.perf_counter()
    subprocess.run(
        list(args),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - began


def measure(repeats: int) -> dict[str, list[float]]:
    """Wall seconds per command, ``repeats`` interleaved rounds after one warm-up round."""
    for args in COMMANDS.values():
        wall_s(args)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, args in COMMANDS.items():
            times[name].append(wall_s(args))
    return times


def summarise(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per command: median, min and max wall seconds, and the median excess over bare Python
    taken round by round."""
    bare = times[BARE]
    return {
        name: {
            "median_s": statistics.median(runs),
            "min_s": min(runs),
            "max_s": max(runs),
            "median_over_bare_s": statistics.median(r - b for r, b in zip(runs, bare, strict=True)),
        }
        for name, runs in times.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved timed rounds")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--reference", action="store_true", help="also write results/reference-startup-DATE.json"
    )
    args = parser.parse_args(argv)
    load_before = load_average()
    times = measure(args.repeats)
    summary = summarise(times)
    report: dict[str, Any] = {
        "benchmark": "startup",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "repeats": args.repeats,
        "summary": summary,
        "wall_s": times,
        "machine": machine_info(),
        "git": git_info(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    width = max(len(name) for name in COMMANDS)
    print(f"{'command':<{width}}  median s  [min-max]      over bare python")
    for name, row in summary.items():
        print(
            f"{name:<{width}}  {row['median_s']:8.3f}  [{row['min_s']:.3f}-{row['max_s']:.3f}]"
            f"  {row['median_over_bare_s']:+.3f}"
        )
    write_json(args.out, report)
    print(f"wrote {args.out}")
    if args.reference:
        reference = RESULTS / f"reference-startup-{report['timestamp'][:10]}.json"
        write_json(reference, report)
        print(f"wrote {reference}")


if __name__ == "__main__":
    main()
