"""The benchmark report: JSON writing and the short human-readable table."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np

# Planner and naive mean waits must be of the same order, or the engines ran different queues.
WAIT_RATIO_SAME_ORDER = (0.1, 10.0)
SIZE_WIDTH = 22
ENGINE_WIDTH = 16
INDENT = " " * (SIZE_WIDTH + 1)


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


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write `report` to `path` atomically, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(json_safe(report), indent=2, allow_nan=False)
    partial.write_text(text + "\n")
    partial.replace(path)


def _fmt(value: float | None, spec: str) -> str:
    """Format a number, or a dash when missing or not finite."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def _short(text: str, width: int = 90) -> str:
    """Return the first line of `text`, cut to `width` characters."""
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _yes_no(value: bool | None) -> str:
    """Return "yes", "NO" or "-" for a check that passed, failed or was not made."""
    return "-" if value is None else ("yes" if value else "NO")


def _engine_row(size_name: str, engine: str, record: dict[str, Any], rss: dict[str, Any]) -> str:
    """Return one table row for one engine at one size."""
    label = f"{size_name:<{SIZE_WIDTH}} {engine:<{ENGINE_WIDTH}}"
    if record["status"] != "ok" and not record["runs"]:
        return f"{label} error: {_short(record['error'])}"
    rss_mib = rss.get(engine, {}).get("peak_rss_mib")
    return (
        f"{label} {_fmt(record['median_jobs_per_s'], ',.0f'):>10}"
        f" {_fmt(statistics.median(record['loop_s']), '.2f'):>8}"
        f" {_fmt(record['median_setup_s'], '.3f'):>8} {_fmt(record['mean_wait_h'], '.4f'):>11}"
        f" {_fmt(rss_mib, '.1f'):>8} {_fmt(record['unstarted_jobs'], ',d'):>9}"
    )


def _ratio_line(name: str, ratio: dict[str, Any]) -> str:
    """Return the line of one speed ratio: median and min-max over interleaved pairs."""
    if not ratio["pairs"]:
        return f"{INDENT}{name:<33} -"
    return (
        f"{INDENT}{name:<33} {ratio['median']:5.2f} x  [{ratio['min']:.2f}-{ratio['max']:.2f}]"
        f" over {ratio['pairs']} pairs"
    )


def _wait_notes(record: dict[str, Any]) -> list[str]:
    """Return the same-waits checks and the planner/naive mean wait ratio of a size."""
    same = record.get("same_waits", {})
    checks = "; ".join(f"{name}: {_yes_no(value)}" for name, value in same.items())
    wait_ratio = record.get("mean_wait_planner_over_naive")
    notes = [f"{INDENT}same waits: {checks}"]
    notes.append(f"{INDENT}mean wait planner / naive: {_fmt(wait_ratio, '.3f')}")
    low, high = WAIT_RATIO_SAME_ORDER
    if wait_ratio is not None and not low <= wait_ratio <= high:
        notes.append(
            f"{INDENT}WARNING: mean wait ratio outside {low:g}-{high:g}: the engines simulated"
            " different queues, so the speed ratios mean nothing"
        )
    return notes


def _size_notes(record: dict[str, Any]) -> list[str]:
    """Return the ratio, wait and baseline-RSS lines under a size's rows."""
    notes = [f"{INDENT}speed ratio (per interleaved pair)  median  [min-max]"]
    notes += [_ratio_line(name, ratio) for name, ratio in record.get("ratios", {}).items()]
    notes += _wait_notes(record)
    probes = record.get("peak_rss_mib", {})
    baseline = probes.get("baseline", {}).get("peak_rss_mib")
    if baseline is not None:
        notes.append(f"{INDENT}baseline RSS (imports + workload only): {baseline:.1f} MiB")
        n_jobs = record.get("n_jobs")
        for engine, probe in probes.items():
            peak = probe.get("peak_rss_mib")
            if engine != "baseline" and peak is not None and n_jobs:
                per_job = (peak - baseline) * 2**20 / n_jobs
                notes.append(f"{INDENT}peak RSS beyond the baseline, {engine}: {per_job:.0f} B/job")
    return notes


def _headline_line(headline: dict[str, Any] | None) -> str:
    """Return the one-line verdict on the target."""
    if headline is None:
        return "target: not evaluated"
    what = f"target {headline['ratio']} >= {headline['target']:g} at {headline['size']}"
    if headline.get("median") is None:
        return f"{what}: not measured in this run"
    verdict = "met" if headline["met"] else "NOT met"
    return (
        f"{what}: median {headline['median']:.2f} x"
        f" [{headline['min']:.2f}-{headline['max']:.2f}] -> {verdict}"
    )


def _builtin_line(record: dict[str, Any] | None) -> str:
    """Return the one-line summary of the built-in scenario run."""
    if record is None:
        return "not run"
    if record["status"] == "ok":
        walls = ", ".join(f"{wall_s:.2f}" for wall_s in record["simulate_s"])
        line = (
            f"simulate median {record['median_simulate_s']:.2f} s ({walls}),"
            f" {record['jobs']:,} jobs, {record['gpu_years']:,.0f} GPU-years,"
            f" {record['gpu_years_per_s']:,.0f} GPU-years/s"
        )
        if "median_fast_simulate_s" in record:
            pairs = record["fast_speedup_per_pair"]
            line += (
                f"; fast engine {record['median_fast_simulate_s']:.2f} s,"
                f" {record['median_fast_speedup']:.1f}x the reference"
                f" [{min(pairs):.1f}-{max(pairs):.1f}]"
            )
        return line
    return f"{record['status']}: {_short(record.get('reason') or record.get('error') or '')}"


def format_table(report: dict[str, Any]) -> str:
    """Return a short human-readable table of the report."""
    header = (
        f"{'size':<{SIZE_WIDTH}} {'engine':<{ENGINE_WIDTH}} {'jobs/s':>10} {'loop s':>8}"
        f" {'setup s':>8} {'mean wait h':>11} {'RSS MiB':>8} {'unstarted':>9}"
    )
    lines = [header, "-" * len(header)]
    for size_name, record in report["sizes"].items():
        rss = record.get("peak_rss_mib", {})
        for engine, engine_record in record["engines"].items():
            lines.append(_engine_row(size_name, engine, engine_record, rss))
        lines.extend(_size_notes(record))
        lines.append("")
    lines.append(_headline_line(report.get("headline")))
    lines.append(f"alibaba-2024: {_builtin_line(report.get('builtin_scenario'))}")
    start_up = report.get("fast_start_up")
    if start_up:
        lines.append(
            f"fast engine start-up: {start_up['first_run_compile_s']:.1f} s compiling on an empty"
            f" cache, {start_up['cached_start_s']:.2f} s with the cache (import and a 2-day run)"
        )
    lines.extend(_plan_lines(report.get("plan_grant")))
    lines.extend(_variant_lines(report.get("variants")))
    lines.extend(_memory_lines(marginal_memory(report)))
    lines.extend(_target_lines(targets(report)))
    return "\n".join(lines)


def marginal_memory(report: dict[str, Any]) -> dict[str, float]:
    """Peak RSS per additional job, by engine: the difference in peak RSS between the largest
    and the smallest job count probed on the same fleet, less the baseline's (the workload's
    own arrays), over the difference in jobs. What every run pays whatever its size (the
    interpreter, the libraries, the compiled kernel) cancels out."""
    probed = [
        record
        for record in report["sizes"].values()
        if record.get("peak_rss_mib", {}).get("baseline", {}).get("peak_rss_mib") is not None
    ]
    if len(probed) < 2:
        return {}
    small, large = min(probed, key=lambda r: r["n_jobs"]), max(probed, key=lambda r: r["n_jobs"])
    if small["n_gpus"] != large["n_gpus"] or small["n_jobs"] == large["n_jobs"]:
        return {}

    def peak(record: dict[str, Any], engine: str) -> float | None:
        value = record["peak_rss_mib"].get(engine, {}).get("peak_rss_mib")
        return None if value is None else float(value)

    base = (peak(large, "baseline") or 0.0) - (peak(small, "baseline") or 0.0)
    extra_jobs = large["n_jobs"] - small["n_jobs"]
    out = {}
    for engine in large["peak_rss_mib"]:
        a, b = peak(small, engine), peak(large, engine)
        if engine != "baseline" and a is not None and b is not None:
            out[engine] = (b - a - base) * 2**20 / extra_jobs
    return out


def _memory_lines(per_job: dict[str, float]) -> list[str]:
    if not per_job:
        return []
    figures = ", ".join(f"{engine} {value:.0f}" for engine, value in per_job.items())
    return [f"peak RSS per additional job (largest less smallest size probed), B/job: {figures}"]


# Issue 14's speed bars under FIFO: (what, ratio in the report, at least); backfill's are half.
FIFO_BARS = (
    ("fast loop / naive up front", "fast_engine / naive_upfront", 60.0),
    ("fast loop / naive at arrival", "fast_engine / naive_source", 25.0),
    ("fast simulate / naive up front", "fast_simulate / naive_upfront", 25.0),
    ("fast simulate / naive at arrival", "fast_simulate / naive_source", 10.0),
)


def targets(report: dict[str, Any]) -> list[tuple[str, float | None, str, bool | None]]:
    """Each speed and memory bar with the figure this run measured and whether it was met:
    (what, measured, bar, met). FIFO at 1e6 jobs on 4,096 GPUs from the size's interleaved
    medians; backfill (failures off) from its policy row, at half the FIFO bars."""
    rows: list[tuple[str, float | None, str, bool | None]] = []

    def bar(what: str, value: float | None, limit: float, most: bool = False) -> None:
        met = None if value is None else (value <= limit if most else value >= limit)
        rows.append((what, value, f"{'<=' if most else '>='} {limit:g}", met))

    ratios = report["sizes"].get("jobs_1e6_gpus_4096", {}).get("ratios", {})
    for what, key, limit in FIFO_BARS:
        bar(f"fifo {what}", ratios.get(key, {}).get("median"), limit)
    variants = (report.get("variants") or {}).get("rows", {})
    backfill = variants.get("backfill, failures off, fast", {}).get("ratios", {})
    for what, key, limit in FIFO_BARS:
        engine, naive = key.split(" / ")
        kind = "loop" if engine == "fast_engine" else "simulate"
        bar(f"backfill {what}", backfill.get(f"{kind} / {naive}"), limit / 2)
    scenario = report.get("builtin_scenario") or {}
    bar("alibaba-2024 simulate, reference / fast", scenario.get("median_fast_speedup"), 8.0)
    plan = (report.get("plan_grant") or {}).get("fast", {})
    bar("plan grant, fast, wall s", plan.get("wall_s"), 60.0, most=True)
    memory = marginal_memory(report)
    bar("peak RSS per job, fast, B", memory.get("fast_simulate"), 230.0, most=True)
    return rows


def _target_lines(rows: list[tuple[str, float | None, str, bool | None]]) -> list[str]:
    lines = ["issue 14's bars:"] if rows else []
    for what, value, limit, met in rows:
        verdict = "not measured" if met is None else ("met" if met else "NOT met")
        lines.append(f"  {what}: {_fmt(value, '.1f')} ({limit}) {verdict}")
    return lines


def _plan_lines(record: dict[str, Any] | None) -> list[str]:
    """The plan grant query's wall time on both engines."""
    if not record:
        return []
    fast, ref = record["fast"], record["reference"]
    line = (
        f"{record['command']}: fast engine {_fmt(fast['wall_s'], '.1f')} s"
        f" ({fast['status']}, {fast['candidates']} candidates, {fast['evaluations']} evaluations)"
    )
    how = "extrapolated from" if ref["extrapolated"] else "measured,"
    line += (
        f"; reference {_fmt(ref['extrapolated_wall_s'], '.0f')} s ({how}"
        f" {ref['candidates_decided']} candidates decided), reference / fast"
        f" {_fmt(record['reference_over_fast'], '.1f')} x"
    )
    return [line]


def _variant_lines(record: dict[str, Any] | None) -> list[str]:
    """One line per policy row: loop and simulate seconds and ratios to the naive models."""
    if not record:
        return []
    lines = [
        f"policy rows at {record['size']} (fast: median of 3 runs, reference: one run;"
        " ratios to the naive medians, range over the row's runs):"
    ]
    for key, row in record["rows"].items():
        if row.get("status") != "ok":
            detail = row.get("field") or _short(row.get("error") or "")
            lines.append(f"  {key}: {row['status']} {detail}".rstrip())
            continue
        ranges = row.get("ratio_ranges", {})
        ratios = ", ".join(
            f"{name} {_fmt(v, '.1f')}x"
            + (f" [{ranges[name][0]:.1f}-{ranges[name][1]:.1f}]" if name in ranges else "")
            for name, v in row["ratios"].items()
        )
        lines.append(
            f"  {key}: loop {row['loop_s']:.2f} s, simulate {row['simulate_s']:.2f} s; {ratios}"
        )
    return lines
