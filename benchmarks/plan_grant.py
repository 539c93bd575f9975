"""The planning query of the speed issue, timed as a user runs it, on both engines.

`planner plan grant alibaba-2024 --tenant moonshot --reps 8 --workers 2` runs in a fresh
process, whole, on the fast engine. The reference engine is capped: it runs the same command
until `REFERENCE_CAP_S` and its total is extrapolated from the mean time of the candidates it
decided in that time, times the fast run's number of candidates (both searches see the same
metric values, so they try the same candidates). The report says which figure is measured
and which extrapolated.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from typing import Any

COMMAND = ["plan", "grant", "alibaba-2024", "--tenant", "moonshot", "--reps", "8"]
WORKERS = 2
REPS = 8
REFERENCE_CAP_S = 150.0
FAST_TIMEOUT_S = 1800.0
# Each decided candidate is reported on stderr as "candidate K at $X: ... (S s)".
CANDIDATE = re.compile(r"^candidate (\d+) at .*\(([\d.]+) s\)\s*$", re.MULTILINE)


def _run(engine: str, timeout_s: float) -> tuple[float, str, bool]:
    """Run the query on `engine`; return wall seconds, stderr and whether it finished."""
    command = [sys.executable, "-m", "planner.cli", *COMMAND, "--workers", str(WORKERS)]
    command += ["--engine", engine]
    started_s = time.perf_counter()
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as stopped:
        err = stopped.stderr
        text = err.decode() if isinstance(err, bytes) else (err or "")
        return time.perf_counter() - started_s, text, False
    return time.perf_counter() - started_s, child.stderr, child.returncode == 0


def _candidate_s(stderr: str) -> list[float]:
    return [float(seconds) for _, seconds in CANDIDATE.findall(stderr)]


def bench_plan_grant() -> dict[str, Any]:
    """Time the query on the fast engine, then the capped reference; return the record."""
    fast_s, fast_err, finished = _run("fast", FAST_TIMEOUT_S)
    fast_candidates = _candidate_s(fast_err)
    record: dict[str, Any] = {
        "command": "planner " + " ".join(COMMAND) + f" --workers {WORKERS}",
        "fast": {
            "status": "ok" if finished else "error",
            "wall_s": fast_s,
            "candidates": len(fast_candidates),
            "evaluations": len(fast_candidates) * REPS,
            "error": None if finished else fast_err[-2000:],
        },
    }
    ref_s, ref_err, ref_finished = _run("reference", REFERENCE_CAP_S)
    ref_candidates = _candidate_s(ref_err)
    per_candidate = statistics.mean(ref_candidates) if ref_candidates else None
    extrapolated = (
        per_candidate * len(fast_candidates) if per_candidate and fast_candidates else None
    )
    record["reference"] = {
        "status": "ok" if ref_finished else f"capped at {REFERENCE_CAP_S:.0f} s",
        "wall_s": ref_s if ref_finished else None,
        "candidates_decided": len(ref_candidates),
        "mean_candidate_s": per_candidate,
        "extrapolated_wall_s": ref_s if ref_finished else extrapolated,
        "extrapolated": not ref_finished,
    }
    total = record["reference"]["extrapolated_wall_s"]
    record["reference_over_fast"] = total / fast_s if total and finished else None
    return record
