"""Benchmark harness: the planner engine against the naive SimPy reference, in the same run.

Run from the repository root:

    python -m benchmarks.run [--quick] [--out benchmarks/results/latest.json]
    python -m benchmarks.run --selfcheck

Per named size it draws the reference workload once, then times the simulation loop of each
engine in interleaved repeats (naive, planner, naive, planner, ...), reports median jobs per
wall-second and the planner/naive speed ratio of every interleaved pair, measures peak RSS in
fresh child processes, and writes everything as JSON together with the machine and the commit.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from benchmarks import engine_adapter
from benchmarks.naive_simpy import build_naive, run_naive, simulate_naive
from benchmarks.workload import FloatArray, Workload, draw_mmc_workload, draw_workload

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results" / "latest.json"
QUICK_OUT = BENCH_DIR / "results" / "quick.json"
WORKLOAD_SEED = 20240101
PROBE_TIMEOUT_S = 3600.0
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Size:
    """A named benchmark size: jobs, fleet GPUs, default repeats and whether to probe RSS."""

    name: str
    n_jobs: int
    n_gpus: int
    repeats: int
    probe_rss: bool


FULL_SIZES = (
    Size("jobs_1e5_gpus_4096", 100_000, 4096, 5, probe_rss=True),
    Size("jobs_1e6_gpus_4096", 1_000_000, 4096, 3, probe_rss=True),
    Size("jobs_1e5_gpus_65536", 100_000, 65536, 5, probe_rss=False),
    Size("jobs_1e6_gpus_65536", 1_000_000, 65536, 3, probe_rss=False),
)
QUICK_SIZES = (Size("jobs_2e4_gpus_4096", 20_000, 4096, 3, probe_rss=True),)
ALL_SIZES = {size.name: size for size in (*FULL_SIZES, *QUICK_SIZES)}


@dataclass(frozen=True, slots=True)
class Engine:
    """A simulation engine as the harness sees it: a timed-apart setup and a timed loop."""

    name: str
    setup: Callable[[Workload], Any]
    loop: Callable[[Any], FloatArray]


ENGINES = {
    "naive": Engine("naive", build_naive, run_naive),
    "planner": Engine("planner", engine_adapter.prepare, engine_adapter.run),
}


@dataclass(slots=True)
class EngineLog:
    """Everything measured for one engine at one size, repeat by repeat."""

    setup_s: list[float] = field(default_factory=list)
    loop_s: list[float] = field(default_factory=list)
    mean_wait_h: list[float] = field(default_factory=list)
    p95_wait_h: list[float] = field(default_factory=list)
    unstarted_jobs: list[int] = field(default_factory=list)
    error: str | None = None


def log(message: str) -> None:
    """Print a progress line to stderr, leaving stdout for the results table."""
    print(message, file=sys.stderr, flush=True)


def describe_error(exc: BaseException) -> str:
    """Return the exception's type, message and innermost source location."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" [at {Path(frames[-1].filename).name}:{frames[-1].lineno}]" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def record_waits(entry: EngineLog, wait_h: FloatArray) -> None:
    """Append the wait statistics of one run; jobs with a NaN wait count as unstarted."""
    started = wait_h[~np.isnan(wait_h)]
    entry.unstarted_jobs.append(int(wait_h.size - started.size))
    entry.mean_wait_h.append(float(started.mean()) if started.size else math.nan)
    entry.p95_wait_h.append(float(np.percentile(started, 95)) if started.size else math.nan)


def timed_run(engine: Engine, workload: Workload, entry: EngineLog) -> float | None:
    """Run `engine` once, timing setup and loop apart; return the loop time or None on error."""
    gc.collect()
    try:
        started_s = time.perf_counter()
        prepared = engine.setup(workload)
        built_s = time.perf_counter()
        wait_h = engine.loop(prepared)
        finished_s = time.perf_counter()
    except Exception as exc:
        entry.error = describe_error(exc)
        return None
    entry.setup_s.append(built_s - started_s)
    entry.loop_s.append(finished_s - built_s)
    record_waits(entry, wait_h)
    return finished_s - built_s


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Return the median, min and max of `values` (None when empty)."""
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise_engine(entry: EngineLog, n_jobs: int) -> dict[str, Any]:
    """Return the JSON record of one engine at one size."""
    jobs_per_s = [n_jobs / loop_s for loop_s in entry.loop_s]
    return {
        "status": "ok" if entry.error is None else "error",
        "error": entry.error,
        "runs": len(entry.loop_s),
        "median_jobs_per_s": spread(jobs_per_s)["median"],
        "jobs_per_s": jobs_per_s,
        "loop_s": entry.loop_s,
        "setup_s": entry.setup_s,
        "median_setup_s": spread(entry.setup_s)["median"],
        "mean_wait_h": entry.mean_wait_h[0] if entry.mean_wait_h else None,
        "p95_wait_h": entry.p95_wait_h[0] if entry.p95_wait_h else None,
        "unstarted_jobs": entry.unstarted_jobs[0] if entry.unstarted_jobs else None,
        "same_waits_every_run": len(set(entry.mean_wait_h)) == 1 if entry.mean_wait_h else None,
    }


def pair_ratios(naive: EngineLog, planner: EngineLog) -> dict[str, Any]:
    """Return planner/naive speed ratios (naive loop s / planner loop s) of interleaved pairs."""
    per_pair = [n_s / p_s for n_s, p_s in zip(naive.loop_s, planner.loop_s, strict=False)]
    return {"per_pair": per_pair, "pairs": len(per_pair), **spread(per_pair)}


def wait_ratio(naive: EngineLog, planner: EngineLog) -> float | None:
    """Return planner mean wait / naive mean wait, for a reader to see they are close."""
    if not naive.mean_wait_h or not planner.mean_wait_h or naive.mean_wait_h[0] == 0:
        return None
    return planner.mean_wait_h[0] / naive.mean_wait_h[0]


def time_engines(
    size: Size, workload: Workload, engines: Sequence[Engine], repeats: int
) -> dict[str, EngineLog]:
    """Time every engine `repeats` times, interleaved; an engine that fails is not retried."""
    logs = {engine.name: EngineLog() for engine in engines}
    for repeat in range(repeats):
        for engine in engines:
            entry = logs[engine.name]
            if entry.error is not None:
                continue
            loop_s = timed_run(engine, workload, entry)
            outcome = f"{loop_s:.2f} s" if loop_s is not None else f"error: {entry.error}"
            log(f"  {size.name} {engine.name} run {repeat + 1}/{repeats}: {outcome}")
    return logs


def probe_rss(engine: str, size: Size, seed: int) -> dict[str, Any]:
    """Measure peak RSS of a fresh child that draws the workload and runs `engine` once."""
    command = [sys.executable, "-m", "benchmarks.rss_probe", engine]
    command += [str(size.n_jobs), str(size.n_gpus), str(seed)]
    try:
        child = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {PROBE_TIMEOUT_S:.0f} s"}
    lines = child.stdout.strip().splitlines()
    if child.returncode == 0 and lines:
        result: dict[str, Any] = json.loads(lines[-1])
        return result
    return {"status": "error", "error": f"exit {child.returncode}: {child.stderr[-2000:]}"}


def probe_all_rss(size: Size, engines: Sequence[Engine], seed: int) -> dict[str, Any]:
    """Probe the baseline and every engine at `size`; return the records by name."""
    probes: dict[str, Any] = {}
    for name in ("baseline", *(engine.name for engine in engines)):
        probes[name] = probe_rss(name, size, seed)
        log(f"  {size.name} peak RSS {name}: {probes[name]}")
    return probes


def bench_size(
    size: Size, engines: Sequence[Engine], repeats: int, seed: int, with_rss: bool
) -> dict[str, Any]:
    """Benchmark every engine at one size; return the JSON record of the size."""
    started_s = time.perf_counter()
    workload = draw_workload(size.n_jobs, size.n_gpus, seed)
    draw_s = time.perf_counter() - started_s
    logs = time_engines(size, workload, engines, repeats)
    record: dict[str, Any] = {
        "n_jobs": size.n_jobs,
        "n_gpus": size.n_gpus,
        "seed": seed,
        "repeats": repeats,
        "workload_draw_s": draw_s,
        "last_submit_h": workload.last_submit_h,
        "engines": {name: summarise_engine(entry, size.n_jobs) for name, entry in logs.items()},
    }
    if "naive" in logs and "planner" in logs:
        record["ratio_planner_over_naive"] = pair_ratios(logs["naive"], logs["planner"])
        record["mean_wait_planner_over_naive"] = wait_ratio(logs["naive"], logs["planner"])
    if with_rss and size.probe_rss:
        record["peak_rss_mib"] = probe_all_rss(size, engines, seed)
    return record


def bench_builtin_scenario() -> dict[str, Any]:
    """Time `planner.simulate` on the built-in Alibaba scenario, or say why it was skipped."""
    path = engine_adapter.BUILTIN_SCENARIO_PATH
    if not path.is_file():
        return {"status": "skipped", "reason": f"{path.relative_to(REPO_ROOT)} not found"}
    try:
        return {"status": "ok", **engine_adapter.run_builtin_scenario(path)}
    except (ImportError, AttributeError) as exc:
        return {"status": "skipped", "reason": f"planner API missing: {describe_error(exc)}"}
    except Exception as exc:
        return {"status": "error", "error": describe_error(exc)}


def dist_version(name: str) -> str | None:
    """Return the installed version of distribution `name`, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor string."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def machine_info() -> dict[str, Any]:
    """Return the machine and library versions the figures were measured with."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "simpy": simpy.__version__,
        "pandas": dist_version("pandas"),
        "planner": dist_version("planner"),
    }


def git(*args: str) -> str | None:
    """Run a read-only git command in the repository; return its stdout, or None on failure."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, env=env, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def git_info() -> dict[str, Any]:
    """Return the commit (or "uncommitted") and whether tracked files differ from it."""
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "uncommitted", "git_dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write `report` to `path` atomically, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(json_safe(report), indent=2, allow_nan=False)
    partial.write_text(text + "\n")
    partial.replace(path)


def json_safe(value: Any) -> Any:
    """Return `value` with numpy scalars made plain and non-finite floats made None."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: float | None, spec: str) -> str:
    """Format a number, or a dash when missing or not finite."""
    if value is None or not math.isfinite(value):
        return "-"
    return format(value, spec)


def _short(text: str, width: int = 90) -> str:
    """Return the first line of `text`, cut to `width` characters."""
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _engine_row(size_name: str, engine: str, record: dict[str, Any], rss: dict[str, Any]) -> str:
    """Return one table row for one engine at one size."""
    if record["status"] != "ok" and not record["runs"]:
        return f"{size_name:<22} {engine:<8} error: {_short(record['error'])}"
    rss_mib = rss.get(engine, {}).get("peak_rss_mib")
    return (
        f"{size_name:<22} {engine:<8} {_fmt(record['median_jobs_per_s'], ',.0f'):>12}"
        f" {_fmt(statistics.median(record['loop_s']), '.2f'):>9}"
        f" {_fmt(record['median_setup_s'], '.3f'):>8} {_fmt(record['mean_wait_h'], '.4f'):>11}"
        f" {_fmt(rss_mib, '.1f'):>9}"
    )


def _size_notes(record: dict[str, Any]) -> list[str]:
    """Return the ratio and baseline-RSS lines under a size's rows."""
    notes = []
    ratio = record.get("ratio_planner_over_naive")
    if ratio and ratio["pairs"]:
        notes.append(
            f"{'':<22} planner/naive speed, per pair: median {ratio['median']:.2f}"
            f" [{ratio['min']:.2f}-{ratio['max']:.2f}] over {ratio['pairs']} pairs;"
            f" mean wait ratio {_fmt(record.get('mean_wait_planner_over_naive'), '.3f')}"
        )
    baseline = record.get("peak_rss_mib", {}).get("baseline", {}).get("peak_rss_mib")
    if baseline is not None:
        notes.append(f"{'':<22} baseline RSS (imports + workload only): {baseline:.1f} MiB")
    return notes


def format_table(report: dict[str, Any]) -> str:
    """Return a short human-readable table of the report."""
    header = (
        f"{'size':<22} {'engine':<8} {'jobs/s':>12} {'loop s':>9} {'setup s':>8}"
        f" {'mean wait h':>11} {'RSS MiB':>9}"
    )
    lines = [header, "-" * len(header)]
    for size_name, record in report["sizes"].items():
        rss = record.get("peak_rss_mib", {})
        for engine, engine_record in record["engines"].items():
            lines.append(_engine_row(size_name, engine, engine_record, rss))
        lines.extend(_size_notes(record))
    lines.append(f"alibaba-2024: {_builtin_line(report.get('builtin_scenario'))}")
    return "\n".join(lines)


def _builtin_line(record: dict[str, Any] | None) -> str:
    """Return the one-line summary of the built-in scenario run."""
    if record is None:
        return "not run"
    if record["status"] == "ok":
        return (
            f"simulate {record['simulate_s']:.2f} s, {record['gpu_years_per_s']:,.0f}"
            f" GPU-years/s ({record['gpu_years_source']})"
        )
    return f"{record['status']}: {_short(record.get('reason') or record.get('error') or '')}"


def erlang_c_wait_h(servers: int, load: float, service_mean_h: float = 1.0) -> float:
    """Return the M/M/c mean wait in queue (Erlang C) at utilisation `load`."""
    offered = servers * load
    term = 1.0
    below_c = 0.0
    for k in range(servers):
        below_c += term
        term *= offered / (k + 1)
    tail = term / (1.0 - load)
    p_wait = tail / (below_c + tail)
    return p_wait * service_mean_h / (servers * (1.0 - load))


def selfcheck(seed: int, servers: int = 8, load: float = 0.8, reps: int = 8) -> str:
    """Compare the naive model's M/M/c mean wait, with a 95% interval, with Erlang C."""
    from scipy import stats

    n_jobs, warmup = 100_000, 5_000
    means = []
    for child in np.random.SeedSequence(seed).spawn(reps):
        wait_h = simulate_naive(draw_mmc_workload(n_jobs, servers, load, child))
        means.append(float(wait_h[warmup:].mean()))
    mean = statistics.fmean(means)
    half = stats.t.ppf(0.975, reps - 1) * statistics.stdev(means) / math.sqrt(reps)
    theory = erlang_c_wait_h(servers, load)
    inside = "inside" if abs(mean - theory) <= half else "OUTSIDE"
    return (
        f"M/M/{servers}, rho={load}, {reps} reps x {n_jobs} jobs, first {warmup} dropped:\n"
        f"  naive SimPy mean wait {mean:.4f} h +/- {half:.4f} (95%)\n"
        f"  Erlang C              {theory:.4f} h  -> {inside} the interval,"
        f" relative error {abs(mean - theory) / theory:.1%}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="2e4 jobs on 4,096 GPUs only")
    parser.add_argument("--out", type=Path, help=f"JSON output (default {DEFAULT_OUT})")
    parser.add_argument("--repeats", type=int, help="interleaved repeats for every size")
    parser.add_argument(
        "--size", action="append", choices=sorted(ALL_SIZES), help="run only this size"
    )
    parser.add_argument(
        "--engines", default="naive,planner", help="comma-separated, from: naive,planner"
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child runs")
    parser.add_argument("--seed", type=int, default=WORKLOAD_SEED, help="workload seed")
    parser.add_argument(
        "--selfcheck", action="store_true", help="only compare naive M/M/8 with Erlang C"
    )
    return parser.parse_args(argv)


def chosen_sizes(args: argparse.Namespace) -> list[Size]:
    """Return the sizes to run: --size if given, else the quick or the full set."""
    if args.size:
        return [ALL_SIZES[name] for name in args.size]
    return list(QUICK_SIZES if args.quick else FULL_SIZES)


def chosen_engines(spec: str) -> list[Engine]:
    """Return the engines named in a comma-separated list, in the order given."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown or not names:
        raise SystemExit(f"--engines: unknown {unknown}; choose from {sorted(ENGINES)}")
    return [ENGINES[name] for name in names]


def run_benchmarks(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Run every chosen size, writing the report after each; return the final report."""
    engines = chosen_engines(args.engines)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **git_info(),
        "machine": machine_info(),
        "quick": args.quick,
        "complete": False,
        "sizes": {},
    }
    for size in chosen_sizes(args):
        log(f"{size.name}: {size.n_jobs:,} jobs on {size.n_gpus:,} GPUs")
        repeats = args.repeats or size.repeats
        report["sizes"][size.name] = bench_size(
            size, engines, repeats, args.seed, with_rss=not args.no_rss
        )
        write_json(out, report)
    if any(engine.name == "planner" for engine in engines):
        log("built-in scenario alibaba-2024")
        report["builtin_scenario"] = bench_builtin_scenario()
    report["complete"] = True
    write_json(out, report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark suite (or the self-check) and print a table."""
    args = parse_args(argv)
    if args.selfcheck:
        print(selfcheck(args.seed))
        return 0
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    started_s = time.perf_counter()
    report = run_benchmarks(args, out)
    print(format_table(report))
    print(f"wrote {out} in {time.perf_counter() - started_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
