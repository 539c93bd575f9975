"""Benchmark harness: the planner against two naive SimPy references, in the same run.

Run from the repository root:

    python -m benchmarks.run [--quick] [--reference] [--out benchmarks/results/latest.json]
    python -m benchmarks.run --selfcheck

Per named size it draws the reference workload once, then times every engine in interleaved
repeats (naive_upfront, naive_source, planner_engine, planner_simulate, then again), reports
median jobs per wall-second and, for every interleaved repeat, the speed ratio of each planner
figure to each naive figure. It measures peak RSS in fresh child processes, times the built-in
Alibaba scenario, and writes everything as JSON together with the machine and the commit.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import json
import math
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from benchmarks import engine_adapter, naive_simpy, variants
from benchmarks.machine import REPO_ROOT, git_info, load_average, machine_info
from benchmarks.plan_grant import bench_plan_grant
from benchmarks.report import format_table, write_json
from benchmarks.selfcheck import selfcheck
from benchmarks.workload import FloatArray, Workload, draw_workload

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_OUT = RESULTS_DIR / "latest.json"
QUICK_OUT = RESULTS_DIR / "quick.json"
WORKLOAD_SEED = 20240101
PROBE_TIMEOUT_S = 3600.0
SCHEMA_VERSION = 2

NAIVE_ENGINES = ("naive_upfront", "naive_source")
PLANNER_ENGINES = ("planner_engine", "planner_simulate", "fast_engine", "fast_simulate")
FAST_ENGINES = ("fast_engine", "fast_simulate")
RSS_ENGINES = ("naive_upfront", "naive_source", "planner_simulate", "fast_simulate")
HEADLINE = ("planner_engine", "naive_upfront")
TARGET_RATIO = 3.0
TARGET_SIZE = "jobs_1e6_gpus_4096"
VARIANT_SIZE = "jobs_1e6_gpus_4096"


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
ALL_SIZES = MappingProxyType({size.name: size for size in (*FULL_SIZES, *QUICK_SIZES)})


@dataclass(frozen=True, slots=True)
class Engine:
    """An engine as the harness sees it: untimed-apart setup, timed loop, untimed waits."""

    name: str
    description: str
    setup: Callable[[Workload], Any]
    loop: Callable[[Any], Any]
    waits: Callable[[Any], FloatArray]


ENGINES: Mapping[str, Engine] = MappingProxyType(
    {
        "naive_upfront": Engine(
            "naive_upfront",
            "SimPy, one process per job, all created before env.run(); each sleeps"
            " timeout(submit_h), then Container.get/hold/put (perf-reference's naive model);"
            " loop = process creation + env.run()",
            naive_simpy.build_naive,
            naive_simpy.run_naive_upfront,
            naive_simpy.naive_waits,
        ),
        "naive_source": Engine(
            "naive_source",
            "SimPy, one process per job, started at its submit time by a source process;"
            " Container.get/hold/put; loop = env.run()",
            naive_simpy.build_naive,
            naive_simpy.run_naive_source,
            naive_simpy.naive_waits,
        ),
        "planner_engine": Engine(
            "planner_engine",
            "planner.model.engine.Model(scenario, seed, jobs=batch) built as setup; loop = m.run()",
            engine_adapter.build_model,
            engine_adapter.run_model,
            engine_adapter.model_waits,
        ),
        "planner_simulate": Engine(
            "planner_simulate",
            "planner.simulate(scenario, seed=seed, jobs=batch) end to end, including every output"
            " table; setup = scenario validation + JobBatch",
            engine_adapter.prepare,
            engine_adapter.run_simulate,
            engine_adapter.simulate_waits,
        ),
        "fast_engine": Engine(
            "fast_engine",
            "planner.model.fast.driver.FastModel(scenario, seed, jobs=batch) built as setup;"
            " loop = m.run() (the compiled job flow between SimPy business events)",
            engine_adapter.build_fast_model,
            engine_adapter.run_model,
            engine_adapter.model_waits,
        ),
        "fast_simulate": Engine(
            "fast_simulate",
            "planner.simulate(scenario, seed=seed, jobs=batch, engine='fast') end to end,"
            " including every output table",
            engine_adapter.prepare,
            engine_adapter.run_simulate_fast,
            engine_adapter.simulate_waits,
        ),
    }
)


@dataclass(slots=True)
class EngineLog:
    """Everything measured for one engine at one size, repeat by repeat."""

    setup_s: list[float] = field(default_factory=list)
    loop_s: list[float] = field(default_factory=list)
    mean_wait_h: list[float] = field(default_factory=list)
    p95_wait_h: list[float] = field(default_factory=list)
    unstarted_jobs: list[int] = field(default_factory=list)
    wait_digest: list[str] = field(default_factory=list)
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
    """Append the wait statistics and digest of one run; NaN waits count as unstarted."""
    started = wait_h[~np.isnan(wait_h)]
    entry.unstarted_jobs.append(int(wait_h.size - started.size))
    entry.mean_wait_h.append(float(started.mean()) if started.size else math.nan)
    entry.p95_wait_h.append(float(np.percentile(started, 95)) if started.size else math.nan)
    raw = np.ascontiguousarray(wait_h, dtype=np.float64).tobytes()
    entry.wait_digest.append(hashlib.blake2b(raw, digest_size=16).hexdigest())


def timed_run(engine: Engine, workload: Workload, entry: EngineLog) -> float | None:
    """Run `engine` once, timing setup and loop apart; return the loop time or None on error."""
    gc.collect()
    try:
        started_s = time.perf_counter()
        prepared = engine.setup(workload)
        built_s = time.perf_counter()
        outcome = engine.loop(prepared)
        finished_s = time.perf_counter()
        wait_h = engine.waits(outcome)
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


def _first(values: Sequence[Any]) -> Any:
    """Return the first item, or None when empty."""
    return values[0] if values else None


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
        "mean_wait_h": _first(entry.mean_wait_h),
        "p95_wait_h": _first(entry.p95_wait_h),
        "unstarted_jobs": _first(entry.unstarted_jobs),
        "wait_digest": _first(entry.wait_digest),
        "same_waits_every_run": len(set(entry.wait_digest)) == 1 if entry.wait_digest else None,
    }


def pair_ratio(naive: EngineLog, planner: EngineLog) -> dict[str, Any]:
    """Return planner/naive speed ratios (naive loop s / planner loop s), one per repeat."""
    per_pair = [n_s / p_s for n_s, p_s in zip(naive.loop_s, planner.loop_s, strict=False)]
    return {"per_pair": per_pair, "pairs": len(per_pair), **spread(per_pair)}


def all_ratios(logs: Mapping[str, EngineLog]) -> dict[str, Any]:
    """Return the ratio of every planner figure to every naive figure that was run."""
    return {
        f"{planner} / {naive}": pair_ratio(logs[naive], logs[planner])
        for planner, naive in itertools.product(PLANNER_ENGINES, NAIVE_ENGINES)
        if planner in logs and naive in logs
    }


def same_waits(logs: Mapping[str, EngineLog], first: str, second: str) -> bool | None:
    """Return whether two engines gave bit-identical waits (None if either has no run)."""
    if first not in logs or second not in logs:
        return None
    digests = (_first(logs[first].wait_digest), _first(logs[second].wait_digest))
    return None if None in digests else digests[0] == digests[1]


def group_mean_wait(logs: Mapping[str, EngineLog], names: Sequence[str]) -> float | None:
    """Return the mean wait of the first engine of `names` that has a run."""
    for name in names:
        if name in logs and logs[name].mean_wait_h:
            return logs[name].mean_wait_h[0]
    return None


def wait_comparison(logs: Mapping[str, EngineLog]) -> dict[str, Any]:
    """Return the same-waits checks and planner mean wait / naive mean wait."""
    naive = group_mean_wait(logs, NAIVE_ENGINES)
    planner = group_mean_wait(logs, PLANNER_ENGINES)
    ratio = planner / naive if naive and planner is not None else None
    return {
        "same_waits": {
            "naive_upfront == naive_source": same_waits(logs, *NAIVE_ENGINES),
            "planner_engine == planner_simulate": same_waits(
                logs, "planner_engine", "planner_simulate"
            ),
            "planner_engine == fast_engine": same_waits(logs, "planner_engine", "fast_engine"),
        },
        "mean_wait_planner_over_naive": ratio,
    }


def time_engines(
    size: Size, workload: Workload, engines: Sequence[Engine], repeats: int
) -> dict[str, EngineLog]:
    """Time every engine `repeats` times, interleaved; an engine that fails is not retried."""
    logs = {engine.name: EngineLog() for engine in engines}
    if any(engine.name in FAST_ENGINES for engine in engines):
        log(f"  fast engine kernel loaded in {engine_adapter.warm_up_fast():.2f} s")
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
    """Probe the baseline and every chosen engine of RSS_ENGINES at `size`."""
    chosen = {engine.name for engine in engines}
    probes: dict[str, Any] = {}
    for name in ("baseline", *(name for name in RSS_ENGINES if name in chosen)):
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
        "engine_order": [engine.name for engine in engines],
        "engines": {name: summarise_engine(entry, size.n_jobs) for name, entry in logs.items()},
        "ratios": all_ratios(logs),
        **wait_comparison(logs),
    }
    if with_rss and size.probe_rss:
        record["peak_rss_mib"] = probe_all_rss(size, engines, seed)
    return record


def headline(sizes: Mapping[str, Any]) -> dict[str, Any]:
    """Return the target verdict: planner_engine / naive_upfront at TARGET_SIZE."""
    name = " / ".join(HEADLINE)
    ratio = sizes.get(TARGET_SIZE, {}).get("ratios", {}).get(name, {})
    median = ratio.get("median")
    return {
        "ratio": name,
        "size": TARGET_SIZE,
        "target": TARGET_RATIO,
        "median": median,
        "min": ratio.get("min"),
        "max": ratio.get("max"),
        "met": None if median is None else median >= TARGET_RATIO,
    }


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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="2e4 jobs on 4,096 GPUs only")
    parser.add_argument("--out", type=Path, help=f"JSON output (default {DEFAULT_OUT})")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also write benchmarks/results/reference-YYYY-MM-DD.json (full suite only)",
    )
    parser.add_argument("--repeats", type=int, help="interleaved repeats for every size")
    parser.add_argument(
        "--size", action="append", choices=sorted(ALL_SIZES), help="run only this size"
    )
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help=f"comma-separated, from: {','.join(ENGINES)}"
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child runs")
    parser.add_argument("--no-plan", action="store_true", help="skip the plan grant query")
    parser.add_argument(
        "--no-variants", action="store_true", help="skip the fifo/backfill x failures rows"
    )
    parser.add_argument("--seed", type=int, default=WORKLOAD_SEED, help="workload seed")
    parser.add_argument(
        "--selfcheck", action="store_true", help="only check the naive models, then exit"
    )
    args = parser.parse_args(argv)
    if args.reference and (args.quick or args.size):
        parser.error("--reference records the full suite: drop --quick and --size")
    return args


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


def report_header(args: argparse.Namespace, engines: Sequence[Engine]) -> dict[str, Any]:
    """Return the report's fields that are known before anything is timed."""
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **git_info(),
        "machine": machine_info(),
        "quick": args.quick,
        "complete": False,
        "engines": {engine.name: engine.description for engine in engines},
        "planner_fleet": {
            "regions": 1,
            "pod_gpus": "n_gpus (the whole fleet is one pod)",
            "gpus_per_node": engine_adapter.GPUS_PER_NODE,
            "reason": engine_adapter.ONE_POD_REASON,
        },
        "ratio_definition": "naive loop s / planner loop s of the same interleaved repeat",
        "sizes": {},
    }


def run_benchmarks(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Run every chosen size, writing the report after each; return the final report."""
    engines = chosen_engines(args.engines)
    report = report_header(args, engines)
    for size in chosen_sizes(args):
        log(f"{size.name}: {size.n_jobs:,} jobs on {size.n_gpus:,} GPUs")
        repeats = args.repeats or size.repeats
        report["sizes"][size.name] = bench_size(
            size, engines, repeats, args.seed, with_rss=not args.no_rss
        )
        report["headline"] = headline(report["sizes"])
        write_json(out, report)
    if any(engine.name in PLANNER_ENGINES for engine in engines):
        log("built-in scenario alibaba-2024, reference and fast engines interleaved")
        report["builtin_scenario"] = bench_builtin_scenario()
    if any(engine.name in FAST_ENGINES for engine in engines):
        log("fast engine start-up: compile on an empty cache, then load it")
        report["fast_start_up"] = engine_adapter.kernel_start_up()
    if not args.quick and not args.size and not args.no_plan:
        log("planner plan grant alibaba-2024: fast engine whole, reference capped")
        report["plan_grant"] = bench_plan_grant()
        write_json(out, report)
    if not args.no_variants:
        report["variants"] = bench_variants(report, None if args.quick else VARIANT_SIZE, args.seed)
        write_json(out, report)
    report["machine"]["load_average_at_end"] = load_average()
    report["complete"] = True
    write_json(out, report)
    return report


def bench_variants(report: dict[str, Any], size_name: str | None, seed: int) -> dict[str, Any]:
    """fifo and backfill, node failures off and on, on both engines, once each in a child
    process, at `size_name` (default: the first size run); ratios to that size's naive
    models' median loop times in the same run."""
    name = size_name if size_name in report["sizes"] else next(iter(report["sizes"]), None)
    if name is None:
        return {}
    size = ALL_SIZES[name]
    engines = report["sizes"][name]["engines"]
    naive_s = {
        naive: statistics.median(engines[naive]["loop_s"]) if engines[naive]["loop_s"] else None
        for naive in NAIVE_ENGINES
        if naive in engines
    }
    rows: dict[str, Any] = {"size": name, "naive_median_loop_s": naive_s, "rows": {}}
    for scheduler, failures in itertools.product(variants.SCHEDULERS, variants.FAILURES):
        for engine in ("reference", "fast"):
            key = f"{scheduler}, failures {failures}, {engine}"
            if (scheduler, failures) == ("fifo", "off"):
                # The size's own rows, timed in interleaved repeats.
                rows["rows"][key] = {"status": "see", "field": f"the rows of {name} above"}
                continue
            log(f"  {name} {key}")
            row = variants.probe_row(engine, scheduler, failures, size.n_jobs, size.n_gpus, seed)
            rows["rows"][key] = variants.with_ratios(row, naive_s)
            log(f"    {rows['rows'][key]}")
    return rows


def reference_path(report: Mapping[str, Any]) -> Path:
    """Return benchmarks/results/reference-YYYY-MM-DD.json for the report's (UTC) date."""
    return RESULTS_DIR / f"reference-{report['timestamp'][:10]}.json"


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
    if args.reference:
        reference = reference_path(report)
        write_json(reference, report)
        print(f"wrote {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
