"""The ``planner`` command line: a thin shell over the Python API.

Every verb loads a scenario through :func:`planner.load_scenario`, calls the API and formats what
comes back. Bad input (a :class:`~planner.ScenarioError`) is reported as one paragraph on stderr
with exit status 2; anything else is a bug and raises.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import pandas as pd
import typer
import yaml
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

import planner
from planner.errors import ScenarioError
from planner.experiments import plan
from planner.experiments.replicate import replicate
from planner.experiments.sensitivity import tornado
from planner.experiments.sweep import sweep
from planner.report import REPORT_FILE, run_data, write_report
from planner.report.formats import finite
from planner.report.inputs import ANSWER_FILE, SENSITIVITY_FILE
from planner.results import RunResult
from planner.scenario import Scenario, builtin_names, load_scenario, scenarios_dir
from planner.traces import FORMATS, read_trace, write_generic
from planner.traces.fit import fit_trace
from planner.writers import write_json, write_run

CLASSES = ("paying", "credit", "internal", "all")
PROGRESS_AFTER_S = 2.0
MISSING = "–"
DATE_COLUMNS = frozenset({"acquired", "ordered", "due", "effective", "expires", "obsolete on"})

app = typer.Typer(
    name="planner",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ScenarioArg = Annotated[
    str,
    typer.Argument(
        metavar="SCENARIO",
        help="A scenario YAML file, or the name of a built-in scenario (see `planner scenarios`).",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override one field by its dotted path, e.g. fleet.0.gpus=1024 or "
        "tenants.moonshot.credit.amount_usd=5e8; VALUE is read as YAML. Repeatable.",
        show_default=False,
    ),
]


WorkersOpt = Annotated[
    int,
    typer.Option("--workers", min=1, help="Local processes to run replications on."),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", file_okay=False, help="Write the results into this directory.", show_default=False
    ),
]
ReportOpt = Annotated[
    bool,
    typer.Option(
        "--report",
        help="Also write report.html, with its figures as PNG files under figures/, into the "
        "--out directory (as `planner report DIR` does).",
    ),
]
SloOpt = Annotated[
    float | None,
    typer.Option(
        "--slo-h",
        min=0.0,
        help="A wait SLO in hours, drawn on the report's waits figure (scenarios state none).",
        show_default=False,
    ),
]


def main() -> None:
    """Run the ``planner`` command line."""
    app()


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"planner {planner.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the planner's version and exit.",
        ),
    ] = False,
) -> None:
    """Plan a GPU fleet: simulate a cloud's GPUs, demand, credits and export controls."""


@app.command()
def run(
    scenario: ScenarioArg,
    seed: Annotated[int, typer.Option(help="Random seed of the replication.")] = 0,
    sets: SetOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="Write every table as Parquet plus scenario.json, summary.json and run.json "
            "into this directory (created if needed).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print nothing but errors; no progress bar."),
    ] = False,
    reps: Annotated[
        int,
        typer.Option(
            "--reps",
            min=1,
            help="Replications: with more than one, print each headline metric's mean and 95% "
            "confidence interval across them (--out then writes replications.parquet and "
            "intervals.csv).",
        ),
    ] = 1,
    workers: WorkersOpt = 1,
    with_report: ReportOpt = False,
    slo_h: SloOpt = None,
) -> None:
    """Simulate a scenario and print its headline metrics (with --reps, their intervals)."""
    _report_needs_out(with_report, out)
    if with_report and reps > 1:
        raise typer.BadParameter(
            "a report shows one run: drop --reps, or sweep the seed with `planner sweep`",
            param_hint="'--report'",
        )
    show_bar = not quiet and sys.stderr.isatty()
    if reps > 1:
        with _scenario_errors():
            sc = _load(scenario, sets)
            with _counter(f"{reps} replications", enabled=show_bar) as note:
                result = replicate(sc, reps, seed, workers=workers, progress=note)
        table = result.summary()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            _replace(out / "replications.parquet", result.runs.to_parquet)
            _replace(out / "intervals.csv", lambda path: table.to_csv(path, index_label="metric"))
        if not quiet:
            Console().print(intervals(table, f"{sc.name} · seed {seed} · {reps} replications"))
        return
    with _scenario_errors():
        sc = _load(scenario, sets)
        with _LazyProgress(Console(stderr=True), enabled=show_bar) as bar:
            res = planner.simulate(sc, seed=seed, progress=bar if show_bar else None)
    written = write_run(res, out) if out is not None else []
    page = None
    if with_report and out is not None:
        with _scenario_errors():
            page = write_report(out, run=run_data(res), slo_h=slo_h)
    if quiet:
        return
    console = Console()
    _print_blocks(console, report(res))
    if out is not None:
        console.print(Text(f"wrote {len(written)} files to {out}"))
    if page is not None:
        console.print(Text(f"wrote {page}"))


@app.command()
def compare(
    scenario: ScenarioArg,
    each: Annotated[
        str,
        typer.Option(
            "--each",
            help="PATH=V1,V2,...: run once per value, e.g. scheduler.kind=fifo,backfill,quota.",
            show_default=False,
        ),
    ],
    seed: Annotated[int, typer.Option(help="Random seed shared by every run.")] = 0,
    sets: SetOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="Write the summaries side by side as compare.csv into this directory.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Run a scenario once per value of one field, on the same seed, and show them side by side."""
    path, values = parse_values(each, "--each")
    with _scenario_errors():
        sc = _load(scenario, sets)
        for value in values:  # every variant is checked before any is run
            try:
                sc.with_overrides({path.strip(): value})
            except ScenarioError as bad:
                where = f"{scenario} with --each {path}={value}"
                raise ScenarioError(where, bad.problems) from None
        show = not quiet and sys.stderr.isatty()
        stderr = Console(stderr=True)

        def note(i: int, value: Any) -> None:
            if show:
                stderr.print(f"[{i + 1}/{len(values)}] {path}={value}")

        table = planner.compare(sc, path.strip(), values, seed, progress=note)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _replace(out / "compare.csv", lambda path: table.to_csv(path, index_label="metric"))
    if not quiet:
        console = Console()
        console.print(comparison(table, path.strip()))
        if out is not None:
            console.print(Text(f"wrote {out / 'compare.csv'}"))


COMPARED = (
    ("utilisation", "utilisation", "pct"),
    ("wait_mean_h.all", "mean wait, all", "hours"),
    ("wait_p95_h.paying", "p95 wait, paying", "hours"),
    ("wait_p95_h.credit", "p95 wait, credit", "hours"),
    ("wait_p95_h.internal", "p95 wait, internal", "hours"),
    ("jobs_finished", "jobs finished", "int"),
    ("jobs_queued_at_horizon", "jobs queued at horizon", "int"),
    ("preemptions", "preemptions", "int"),
    ("stranded_free_share", "free GPUs no waiting job fits", "pct"),
    ("revenue_usd", "revenue", "usd"),
    ("revenue_usd.reserved", "revenue, reserved tier", "usd"),
    ("revenue_usd.on_demand", "revenue, on-demand tier", "usd"),
    ("revenue_usd.spot", "revenue, spot tier", "usd"),
    ("capex_monetised_share", "capex earned back before obsolescence", "pct"),
)


def comparison(table: pd.DataFrame, path: str) -> Table:
    """The headline metrics of a comparison, one column per value."""
    formats = {"pct": _pct, "hours": _hours, "int": _int, "usd": _usd}
    out = _table(f"{path}, side by side", ("metric", "left"), *((str(c), "right") for c in table))
    for key, label, kind in COMPARED:
        if key in table.index:
            out.add_row(label, *(formats[kind](v) for v in table.loc[key]))
    return out


@app.command("sweep")
def sweep_command(
    scenario: ScenarioArg,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            file_okay=False,
            help="The sweep's directory: sweep.json and one Parquet file per finished (point, "
            "replication) under rows/. Run again to resume.",
            show_default=False,
        ),
    ],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            metavar="PATH=V1,V2,...",
            help="A parameter and its values; repeat for a cartesian product.",
            show_default=False,
        ),
    ] = None,
    points: Annotated[
        Path | None,
        typer.Option(
            "--points",
            dir_okay=False,
            help="A YAML file listing the points instead: a list of {PATH: VALUE} mappings.",
            show_default=False,
        ),
    ] = None,
    reps: Annotated[int, typer.Option(min=1, help="Replications per point.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed shared by every point.")] = 0,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local processes (default: one per CPU).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Run on a Dask cluster instead, e.g. tcp://scheduler:8786.",
            show_default=False,
        ),
    ] = None,
    sets: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    with_report: ReportOpt = False,
) -> None:
    """Run a scenario at many parameter points, replicated, into a resumable Parquet dataset."""
    if (grid is None) == (points is None):
        raise typer.BadParameter("give --grid (repeatable) or --points, not both or neither")
    sweep_grid: dict[str, list[Any]] | None = None
    sweep_points: list[dict[str, Any]] | None = None
    if grid is not None:
        sweep_grid = {}
        for item in grid:
            path, values = parse_values(item, "--grid")
            sweep_grid[path] = values
    else:
        assert points is not None
        loaded = yaml.safe_load(points.read_text(encoding="utf-8"))
        if not isinstance(loaded, list) or not all(isinstance(p, dict) for p in loaded):
            raise typer.BadParameter(
                f"{points} must hold a list of {{PATH: VALUE}} mappings", param_hint="'--points'"
            )
        sweep_points = loaded
    show = not quiet and sys.stderr.isatty()
    began = time.perf_counter()
    try:
        with _scenario_errors():
            sc = _load(scenario, sets)
            with _counter("sweep", enabled=show) as note:
                rows = sweep(
                    sc, out, grid=sweep_grid, points=sweep_points, reps=reps, seed=seed,
                    executor=dask or "processes", workers=workers, progress=note,
                )  # fmt: skip
    except ValueError as err:  # another sweep's directory
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    page = None
    if with_report:
        with _scenario_errors():
            page = write_report(out, ["sweep"])
    if not quiet:
        spent = time.perf_counter() - began
        where = out / "rows"
        Console().print(Text(f"{len(rows)} rows in {where} ({spent:,.1f} s)"))
        if page is not None:
            Console().print(Text(f"wrote {page}"))


trace_app = typer.Typer(
    no_args_is_help=True, help="Work with public GPU-cluster traces.", rich_markup_mode=None
)
app.add_typer(trace_app, name="trace")


@trace_app.command("import")
def trace_import(
    source: Annotated[
        Path,
        typer.Argument(help="The trace: a file, or its directory.", show_default=False),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help=f"The trace's format: {', '.join(FORMATS)}.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            dir_okay=False,
            help="Where to write the generic CSV (submit_s, duration_s, gpus, tenant, gpu_model).",
            show_default=False,
        ),
    ],
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="Skip malformed rows and report how many, not fail."),
    ] = False,
) -> None:
    """Convert a trace to the generic CSV form."""
    try:
        trace = read_trace(source, fmt, skip_bad=skip_bad)
    except ScenarioError as err:
        typer.echo(err.message(), err=True)
        raise typer.Exit(2) from None
    write_generic(trace, out)
    lines = [f"{len(trace):,} jobs from {trace.name} written to {out}"]
    if trace.skipped_rows:
        lines.append(f"{trace.skipped_rows:,} malformed rows skipped")
    lines += list(trace.notes)
    Console().print(Text("\n".join(lines)))


@trace_app.command("fit")
def trace_fit(
    source: Annotated[
        Path, typer.Argument(help="The trace: a file, or its directory.", show_default=False)
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", help=f"The trace's format: {', '.join(FORMATS)}."),
    ] = "generic",
    reference_model: Annotated[
        str, typer.Option(help="GPU model the trace's run times are taken as measured on.")
    ] = "H800",
    work_model: Annotated[
        str, typer.Option(help="'empirical' (keeps the mean and tail) or 'lognormal'.")
    ] = "empirical",
    window_h: Annotated[
        float,
        typer.Option(
            "--window-h",
            min=0.001,
            help="Window of the rate and work profile, in hours (168: weekly).",
        ),
    ] = 168.0,
    steady: Annotated[
        bool,
        typer.Option(
            "--steady", help="A steady rate with the trace's gap CV, with no profile over time."
        ),
    ] = False,
    work_apart: Annotated[
        bool,
        typer.Option("--work-apart", help="Fit work over all sizes rather than for each size."),
    ] = False,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip malformed rows.")] = False,
) -> None:
    """Fit a workload block to a trace and say how well each part fits."""
    try:
        trace = read_trace(source, fmt, skip_bad=skip_bad)
        fitted = fit_trace(
            trace,
            reference_model,
            work_model=work_model,
            window_h=None if steady else window_h,
            by_gpus=not work_apart,
        )
    except ScenarioError as err:
        typer.echo(err.message(), err=True)
        raise typer.Exit(2) from None
    except (ValueError, KeyError) as err:
        typer.echo(f"{source}: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"# fitted to {trace.name}: {len(trace):,} jobs; paste under a tenant")
    typer.echo(yaml.safe_dump({"workload": fitted.workload()}, sort_keys=False).rstrip())
    table = _table("fit", ("quantity", "left"), ("trace", "right"), ("model", "right"))
    for quantity, in_trace, in_model in fitted.report.itertuples(index=False):
        table.add_row(str(quantity), _num_or_missing(in_trace), _num_or_missing(in_model))
    Console(stderr=True).print(table)


def _num_or_missing(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:,.4g}"


plan_app = typer.Typer(
    no_args_is_help=True,
    help="Answer a planning question with an interval and the evaluations made.",
    rich_markup_mode=None,
)
app.add_typer(plan_app, name="plan")

RepsOpt = Annotated[
    int, typer.Option("--reps", min=2, help="Replications per candidate (common random numbers).")
]
ConfidenceOpt = Annotated[
    float,
    typer.Option(help="A candidate meets the target when the one-sided upper bound at this "
                 "confidence does."),
]  # fmt: skip


MetricOpt = Annotated[str, typer.Option(help="Summary key held to the target.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the replications.")]


@plan_app.command("grant")
def plan_grant(
    scenario: ScenarioArg,
    tenant: Annotated[str, typer.Option(help="The credit tenant whose grant to size.")],
    target_h: Annotated[
        float | None,
        typer.Option(
            help="The service level, in hours (default: the scenario's slo.wait_p95_h for the "
            "metric's class).",
            show_default=False,
        ),
    ] = None,
    metric: MetricOpt = "wait_p95_h_offered.paying",
    high_usd: Annotated[
        float | None, typer.Option(help="Largest grant tried (default 4x the current one).")
    ] = None,
    tol_usd: Annotated[float, typer.Option(help="Stop when the bracket is this narrow.")] = 5e6,
    fixed_demand: Annotated[
        bool,
        typer.Option(
            "--fixed-demand",
            help="Keep the tenant's arrival rate; by default it scales with the grant.",
        ),
    ] = False,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The largest credit grant for a tenant that keeps a metric within a target."""
    _report_needs_out(with_report, out)
    with _scenario_errors():
        sc = _load(scenario, sets)
        answer = plan.largest_grant(
            sc, tenant, target_h=target_h, metric=metric, high_usd=high_usd, tol_usd=tol_usd,
            scale_demand=not fixed_demand, confidence=confidence, reps=reps, seed=seed,
            workers=workers,
        )  # fmt: skip
    _show_answer(answer, out, _usd, with_report)


@plan_app.command("gpus")
def plan_gpus(
    scenario: ScenarioArg,
    cohort: Annotated[str, typer.Option(help="Fleet cohort to size, by name or index.")],
    target: Annotated[float, typer.Option(help="The service level the metric must meet.")],
    metric: MetricOpt = "wait_p95_h_offered.paying",
    low_gpus: Annotated[int | None, typer.Option(help="Fewest GPUs tried.")] = None,
    high_gpus: Annotated[int | None, typer.Option(help="Most GPUs tried.")] = None,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The fewest GPUs in a cohort that keep a metric within a target."""
    _report_needs_out(with_report, out)
    with _scenario_errors():
        sc = _load(scenario, sets)
        answer = plan.fewest_gpus(
            sc, cohort, target=target, metric=metric, low_gpus=low_gpus, high_gpus=high_gpus,
            confidence=confidence, reps=reps, seed=seed, workers=workers,
        )  # fmt: skip
    _show_answer(answer, out, _int, with_report)


@plan_app.command("price")
def plan_price(
    scenario: ScenarioArg,
    model: Annotated[str, typer.Option(help="GPU model whose list price to set.")],
    low_usd: Annotated[float, typer.Option(help="Lowest price tried, per GPU-hour.")],
    high_usd: Annotated[float, typer.Option(help="Highest price tried, per GPU-hour.")],
    objective: Annotated[str, typer.Option(help="Summary key to maximise.")] = "revenue_usd",
    metric: MetricOpt = "wait_p95_h_offered.paying",
    target: Annotated[float, typer.Option(help="The service level (default: none).")] = math.inf,
    tol_usd: Annotated[float, typer.Option(help="Stop when the bracket is this narrow.")] = 0.05,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The list price that maximises an objective, subject to a service level."""
    _report_needs_out(with_report, out)
    with _scenario_errors():
        sc = _load(scenario, sets)
        answer = plan.best_price(
            sc, model, low_usd=low_usd, high_usd=high_usd, objective=objective, metric=metric,
            target=target, tol_usd=tol_usd, confidence=confidence, reps=reps, seed=seed,
            workers=workers,
        )  # fmt: skip
    _show_answer(answer, out, _price, with_report)


def _show_answer(
    answer: plan.Answer, out: Path | None, fmt: Callable[[Any], str], with_report: bool
) -> None:
    page = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _replace(out / "evaluations.csv", lambda path: answer.table().to_csv(path, index=False))
        write_json(answer_dict(answer), out / ANSWER_FILE)
        if with_report:
            with _scenario_errors():
                page = write_report(out, ["plan"])
    console = Console()
    console.print(planning_answer(answer, fmt))
    console.print(evaluations(answer, fmt))
    if page is not None:
        console.print(Text(f"wrote {page}"))


def answer_dict(answer: plan.Answer) -> dict[str, Any]:
    """What a planning query asked and found, beside its evaluations (JSON-ready: an
    unbounded target or an answer not found is null)."""
    return {
        "question": answer.question,
        "metric": answer.metric,
        "target": finite(answer.target),
        "confidence": answer.confidence,
        "answer": finite(answer.answer),
        "bracket": list(answer.bracket) if answer.bracket is not None else None,
        "reps": answer.reps,
        "seed": answer.seed,
    }


def planning_answer(answer: plan.Answer, fmt: Callable[[Any], str]) -> Text:
    """The answer in words: the value, the metric there with its interval, the cost."""
    lines = [f"{answer.question}: "]
    if answer.answer is None:
        lines.append(f"none: even the most favourable end fails {answer.metric} <= "
                     f"{answer.target:g}")  # fmt: skip
    else:
        lines.append(fmt(answer.answer))
        if answer.at_answer is not None:
            ci = answer.at_answer.interval
            lines.append(
                f"\n  {answer.metric} there: {ci.mean:,.3g} (one-sided {answer.confidence:.0%} "
                f"upper bound {ci.high:,.3g} <= target {answer.target:g})"
            )
        if answer.bracket is not None:
            meets, fails = answer.bracket
            lines.append(f"\n  meets at {fmt(meets)}, fails at {fmt(fails)}")
    lines.append(
        f"\n  {len(answer.evaluations)} candidates x {answer.reps} replications "
        f"(seed {answer.seed}), {answer.wall_s:,.1f} s"
    )
    return Text("".join(lines))


def evaluations(answer: plan.Answer, fmt: Callable[[Any], str]) -> Table:
    table = _table(
        "evaluations",
        ("step", "right"), ("candidate", "right"), (answer.metric, "right"),
        ("CI", "right"), ("meets", "left"), ("s", "right"),
    )  # fmt: skip
    for row in answer.table().itertuples():
        table.add_row(
            str(row.step),
            fmt(row.x),
            f"{row.metric_mean:,.3g}",
            f"[{row.metric_low:,.3g}, {row.metric_high:,.3g}]",
            "yes" if row.meets else "no",
            f"{row.wall_s:,.1f}",
        )
    return table


@app.command()
def sensitivity(
    scenario: ScenarioArg,
    ranges: Annotated[
        list[str],
        typer.Option(
            "--range",
            metavar="PATH=LOW,HIGH",
            help="A parameter and the two values to try; repeatable.",
            show_default=False,
        ),
    ],
    metric: Annotated[str, typer.Option(help="Summary key to watch.")] = "wait_p95_h.paying",
    reps: Annotated[int, typer.Option(min=1, help="Replications per run.")] = 4,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """One-at-a-time sensitivity of a metric to parameters (a tornado table)."""
    _report_needs_out(with_report, out)
    parsed: dict[str, tuple[Any, Any]] = {}
    for item in ranges:
        path, ends = parse_values(item, "--range", form="PATH=LOW,HIGH")
        if len(ends) != 2:
            raise typer.BadParameter(f"'{item}' is not PATH=LOW,HIGH", param_hint="'--range'")
        parsed[path] = (ends[0], ends[1])
    with _scenario_errors():
        sc = _load(scenario, sets)
        table = tornado(sc, parsed, metric, reps=reps, seed=seed, workers=workers)
    page = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _replace(out / "tornado.csv", lambda path: table.to_csv(path, index=False))
        write_json({"metric": metric, "reps": reps, "seed": seed}, out / SENSITIVITY_FILE)
        if with_report:
            with _scenario_errors():
                page = write_report(out, ["sensitivity"])
    shown = _table(
        f"{metric}: one at a time, base {table['base'].iloc[0]:,.4g}",
        ("parameter", "left"), ("low", "right"), ("high", "right"),
        ("at low", "right"), ("at high", "right"), ("swing", "right"),
    )  # fmt: skip
    for row in table.itertuples():
        shown.add_row(
            str(row.parameter), str(row.low_value), str(row.high_value),
            f"{row.at_low:,.4g}", f"{row.at_high:,.4g}", f"{row.swing:,.4g}",
        )  # fmt: skip
    Console().print(shown)
    if page is not None:
        Console().print(Text(f"wrote {page}"))


@app.command("report")
def report_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="A directory written by planner run, sweep, plan or sensitivity with --out.",
            show_default=False,
        ),
    ],
    slo_h: SloOpt = None,
) -> None:
    """Write DIR/report.html: the figures of the run, sweep, planning query or sensitivity in
    DIR, each with its data, in one page that needs no network (PNGs also under DIR/figures/)."""
    with _scenario_errors():
        page = write_report(directory, slo_h=slo_h)
    Console().print(Text(f"wrote {page}"))


def _report_needs_out(with_report: bool, out: Path | None) -> None:
    """Refuse --report without --out before anything runs."""
    if with_report and out is None:
        raise typer.BadParameter(
            f"--report writes {REPORT_FILE} into the --out directory: give --out DIR",
            param_hint="'--report'",
        )


def intervals(table: pd.DataFrame, title: str) -> Table:
    """Headline metrics across replications: mean and 95% interval."""
    shown = _table(title, ("metric", "left"), ("mean", "right"), ("95% CI", "right"))
    for key, _label, kind in COMPARED:
        if key not in table.index:
            continue
        fmt = {"pct": _pct, "hours": _hours, "int": _qty, "usd": _usd}[kind]
        mean, low, high = table.loc[key, ["mean", "low", "high"]].to_numpy(dtype=float)
        ci = MISSING if math.isnan(low) else f"[{fmt(low)}, {fmt(high)}]"
        shown.add_row(key, fmt(mean), ci)
    return shown


@contextmanager
def _counter(what: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for a known number of steps."""
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn(what), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(what, total=None)

        def note(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield note


def _replace(path: Path, write: Callable[[Path], Any]) -> None:
    """Write a file by way of a temporary one beside it, so a failure leaves the old file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    tmp.replace(path)


@app.command()
def validate(scenario: ScenarioArg, sets: SetOpt = None) -> None:
    """Load and check a scenario; describe it and say whether it is valid."""
    with _scenario_errors():
        sc = _load(scenario, sets)
    console = Console()
    _print_blocks(console, [*describe(sc), Text(""), Text(f"{scenario}: valid", style="green")])


@app.command()
def schema(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            dir_okay=False,
            help="Write the schema to this file instead of stdout.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of scenario files."""
    document = Scenario.model_json_schema(by_alias=True)
    if out is None:
        typer.echo(json.dumps(document, indent=2))
    else:
        write_json(document, out)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios with the first line of their description."""
    names = builtin_names()
    if not names:
        typer.echo(f"no built-in scenarios in {scenarios_dir()}")
        return
    table = Table("name", "description", box=None, show_header=True, header_style="bold")
    for name in names:
        try:
            first = load_scenario(name).description.strip().splitlines()[:1]
            about = first[0] if first else ""
        except ScenarioError:
            about = f"(invalid: see `planner validate {name}`)"
        table.add_row(Text(name), Text(about))
    Console().print(table)


@contextmanager
def _scenario_errors() -> Iterator[None]:
    """Turn a :class:`ScenarioError` into its message on stderr and exit status 2."""
    try:
        yield
    except ScenarioError as err:
        typer.echo(err.message(), err=True)
        raise typer.Exit(2) from None


def _load(scenario: str, sets: Sequence[str] | None) -> Scenario:
    """Load ``scenario`` and apply the ``--set`` overrides, if any."""
    overrides = parse_sets(sets or [])
    sc = load_scenario(scenario)
    if not overrides:
        return sc
    try:
        return sc.with_overrides(overrides)
    except ScenarioError as err:
        raise ScenarioError(f"{scenario} with --set", err.problems) from None


def parse_values(item: str, option: str, form: str = "PATH=V1,V2,...") -> tuple[str, list[Any]]:
    """``PATH=V1,V2,...`` as the path and its values, each read as YAML."""
    path, eq, raw = item.partition("=")
    if not eq or not path.strip() or not raw.strip():
        raise typer.BadParameter(f"'{item}' is not {form}", param_hint=f"'{option}'")
    try:
        return path.strip(), [yaml.safe_load(v) for v in raw.split(",")]
    except yaml.YAMLError as exc:
        hint = f"'{option}'"
        raise typer.BadParameter(f"'{item}': not valid YAML ({exc})", param_hint=hint) from None


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``PATH=VALUE`` strings as a mapping, each VALUE read as YAML (so ``8`` is an int)."""
    overrides: dict[str, Any] = {}
    for item in items:
        path, eq, raw = item.partition("=")
        if not eq or not path.strip():
            raise typer.BadParameter(f"'{item}' is not PATH=VALUE", param_hint="'--set'")
        try:
            overrides[path.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise typer.BadParameter(
                f"'{item}': VALUE is not valid YAML ({exc})", param_hint="'--set'"
            ) from None
    return overrides


class _LazyProgress:
    """A progress callback that shows a bar on stderr once a run has lasted a while."""

    def __init__(
        self, console: Console, *, enabled: bool, after_s: float = PROGRESS_AFTER_S
    ) -> None:
        self._console = console
        self._enabled = enabled
        self._after_s = after_s
        self._began = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, fraction: float) -> None:
        """Record that ``fraction`` of the horizon is simulated; start the bar if it is due."""
        if not self._enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._began < self._after_s:
                return
            self._progress = Progress(
                "simulating",
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("simulating", total=1.0)
        assert self._task is not None
        self._progress.update(self._task, completed=fraction)

    def __enter__(self) -> _LazyProgress:
        self._began = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


# -- formatting --------------------------------------------------------------------------------


def report(res: RunResult) -> list[Table | Text]:
    """What ``planner run`` prints: a heading, then headline, wait, deal and cohort tables."""
    sc, summary = res.scenario, res.summary()
    heading = Text(
        f"{sc.name} · seed {res.seed} · {sc.start} to {sc.end} "
        f"({_num(sc.horizon_days)} days) · simulated in {res.wall_s:.2f} s",
        style="bold",
    )
    tables: list[Table | Text] = [
        heading,
        _headline(summary),
        _waits(summary),
        Text("jobs still queued count as waiting until the horizon", style="dim"),
    ]
    deals = _deals(res)
    if deals.row_count:
        tables.append(deals)
    if len(res.cohorts):
        tables += [_cohorts(res), _cohort_value(res, summary)]
    return tables


def _headline(summary: pd.Series) -> Table:
    table = _table("headline", ("metric", "left"), ("value", "right"))
    rows = [
        ("utilisation", _pct(summary.get("utilisation"))),
        ("jobs submitted", _int(summary.get("jobs_submitted"))),
        ("jobs finished", _int(summary.get("jobs_finished"))),
        ("jobs running at horizon", _int(summary.get("jobs_running_at_horizon"))),
        ("jobs queued at horizon", _int(summary.get("jobs_queued_at_horizon"))),
        ("revenue, cash", _usd(summary.get("revenue_cash_usd"))),
        ("revenue, credits as burned", _usd(summary.get("revenue_credit_usd"))),
        ("revenue, total", _usd(summary.get("revenue_usd"))),
        (
            "revenue, escrow view (credits when granted)",
            _usd(summary.get("revenue_escrow_view_usd")),
        ),
        ("opex", _usd(summary.get("opex_usd"))),
        ("margin (revenue - opex)", _usd(summary.get("margin_usd"))),
        ("fleet capex", _usd(summary.get("capex_usd"))),
        ("capex earned back before obsolescence", _pct(summary.get("capex_monetised_share"))),
        ("capture (revenue / potential)", _pct(summary.get("capture"))),
        ("scheduler", str(summary.get("scheduler"))),
        ("runs preempted", _int(summary.get("preemptions"))),
        ("free GPUs no waiting job fits", _pct(summary.get("stranded_free_share"))),
        ("idle value (potential - revenue)", _usd(summary.get("idle_value_usd"))),
        ("stranded book value", _usd(summary.get("stranded_book_value_usd"))),
    ]
    if "goodput" in summary:
        rows += [
            ("node failures", _int(summary.get("node_failures"))),
            ("job restarts", _int(summary.get("restarts"))),
            ("GPU-hours lost to failures", _int(summary.get("lost_gpu_h"))),
            ("goodput (kept / held GPU-hours)", _pct(summary.get("goodput"))),
        ]
    for label, value in rows:
        table.add_row(label, value)
    return table


def _waits(summary: pd.Series) -> Table:
    table = _table(
        "wait per tenant class (hours)",
        ("class", "left"),
        ("mean", "right"),
        ("p50", "right"),
        ("p95", "right"),
        ("p99", "right"),
    )
    for label in CLASSES:
        if f"wait_p50_h.{label}" not in summary.index:
            continue
        table.add_row(
            label,
            *(
                _hours(summary.get(f"wait_{stat}_h.{label}"))
                for stat in ("mean", "p50", "p95", "p99")
            ),
        )
    return table


def _deals(res: RunResult) -> Table:
    """One row per credit deal: what became of the credits and what the start-up paid."""
    table = _table(
        "credit deals",
        ("tenant", "left"),
        ("granted", "right"),
        ("burned", "right"),
        ("forfeited", "right"),
        ("left", "right"),
        ("escrow", "right"),
        ("GPU-h", "right"),
        ("$/GPU-h", "right"),
        ("state", "left"),
    )
    deals = res.tenants[res.tenants["tenant_class"] == "credit"]
    for row in deals.itertuples(index=False):
        table.add_row(
            Text(str(row.tenant)),
            _usd(row.credits_granted_usd),
            _usd(row.credits_burned_usd),
            _usd(row.credits_forfeited_usd),
            _usd(row.credits_left_usd),
            _usd(row.escrow_revenue_usd),
            _qty(row.credit_gpu_h),
            _price(row.effective_usd_per_gpu_h),
            _text(row.credit_state),
        )
    table.caption = Text(
        "burned: credits recognised as used; escrow: the whole grant, recognised when granted; "
        "GPU-h: GPU-hours paid with credits; $/GPU-h: credits granted per such GPU-hour, the "
        "price paid in equity",
        style="dim",
    )
    return table


def _cohorts(res: RunResult) -> Table:
    """One row per cohort: its use and what it earned and cost within the horizon."""
    table = _table(
        "cohorts",
        ("cohort", "left"),
        ("GPUs", "right"),
        ("utilisation", "right"),
        ("revenue", "right"),
        ("opex", "right"),
        ("margin", "right"),
        ("book value at end", "right"),
    )
    for row in res.cohorts.itertuples(index=False):
        table.add_row(
            Text(str(row.cohort)),
            _int(row.gpus),
            _pct(row.utilisation),
            _usd(row.revenue_usd),
            _usd(row.opex_usd),
            _usd(row.margin_usd),
            _usd(row.book_value_at_horizon_usd),
        )
    return table


def _cohort_value(res: RunResult, summary: pd.Series) -> Table:
    """One row per cohort: how much of its value it earned before becoming obsolete."""
    table = _table(
        "cohort value",
        ("cohort", "left"),
        ("capex", "right"),
        ("before obs.", "right"),
        ("payback", "right"),
        ("capture", "right"),
        ("idle value", "right"),
        ("obsolete on", "left"),
        ("stranded", "right"),
    )
    for row in res.cohorts.itertuples(index=False):
        name = str(row.cohort)
        table.add_row(
            Text(name),
            _usd(row.capex_usd),
            _usd(row.revenue_before_obsolescence_usd),
            _pct(row.payback),
            _pct(row.capture),
            _usd(row.idle_value_usd),
            _text(summary.get(f"obsolete_on.{name}")),
            _usd(row.stranded_book_value_usd),
        )
    table.caption = Text(
        "before obs.: revenue before obsolescence; payback = that / capex; capture = that / "
        "(list price x in-service GPU-hours); stranded: book value written off at obsolescence "
        "or, if still in service at the end, its book value not yet earned back",
        style="dim",
    )
    return table


def describe(sc: Scenario) -> list[Table | Text]:
    """A one-screen description of a scenario, as ``planner validate`` prints it."""
    first = sc.description.strip().splitlines()[:1]
    head = Text(f"{sc.name}: {sc.start} to {sc.end} ({_num(sc.horizon_days)} days)", style="bold")
    blocks: list[Table | Text] = [head]
    if first:
        blocks.append(Text(first[0]))

    regions = _table("regions", ("region", "left"), ("pod GPUs", "right"), ("GPUs/node", "right"))
    for r in sc.regions:
        regions.add_row(Text(r.name), _int(r.pod_gpus), _int(r.gpus_per_node))
    blocks.append(regions)

    if sc.fleet:
        fleet = _table(
            "fleet",
            ("cohort", "left"),
            ("model", "left"),
            ("region", "left"),
            ("GPUs", "right"),
            ("acquired", "left"),
        )
        for name, c in zip(sc.cohort_names(), sc.fleet, strict=True):
            fleet.add_row(
                Text(name),
                Text(c.model),
                Text(c.region),
                _int(c.gpus),
                str(c.acquired),
            )
        per_model: dict[str, int] = {}
        for c in sc.fleet:
            per_model[c.model] = per_model.get(c.model, 0) + c.gpus
        fleet.caption = Text(
            "fleet GPUs per model: "
            + ", ".join(f"{model} {_int(gpus)}" for model, gpus in sorted(per_model.items()))
        )
        blocks.append(fleet)

    if sc.orders:
        orders = _table(
            "orders",
            ("order", "left"),
            ("model", "left"),
            ("region", "left"),
            ("GPUs", "right"),
            ("ordered", "left"),
            ("due", "left"),
        )
        for name, o in zip(sc.order_names(), sc.orders, strict=True):
            orders.add_row(
                Text(name),
                Text(o.model),
                Text(o.region),
                _int(o.gpus),
                str(o.ordered),
                str(o.expected_due),
            )
        blocks.append(orders)

    if sc.export_controls:
        controls = _table(
            "export controls",
            ("effective", "left"),
            ("ban", "left"),
            ("lift", "left"),
            ("undelivered orders", "left"),
        )
        for e in sc.export_controls:
            controls.add_row(
                str(e.effective),
                Text(", ".join(e.ban)),
                Text(", ".join(e.lift)),
                e.undelivered if e.ban else "",
            )
        blocks.append(controls)

    tenants = _table(
        "tenants",
        ("tenant", "left"),
        ("class", "left"),
        ("models", "left"),
        ("jobs/day", "right"),
        ("campaigns", "right"),
        ("credit", "right"),
        ("expires", "left"),
    )
    for t in sc.tenants:
        credit = t.credit
        tenants.add_row(
            Text(t.name),
            t.tenant_class,
            Text(", ".join(t.models)),
            _arrivals(t.workload.arrivals) if t.workload is not None else MISSING,
            str(len(t.campaigns)),
            *((_usd(credit.amount_usd), str(credit.expires)) if credit is not None else ("", "")),
        )
    blocks.append(tenants)
    return blocks


def _print_blocks(console: Console, blocks: Sequence[Table | Text]) -> None:
    """Print text and tables, with a blank line before each table."""
    for block in blocks:
        if isinstance(block, Table):
            console.print()
        console.print(block)


def _table(title: str, *columns: tuple[str, str]) -> Table:
    table = Table(
        title=Text(title),
        title_justify="left",
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for i, (name, justify) in enumerate(columns):
        table.add_column(
            name,
            justify="right" if justify == "right" else "left",
            no_wrap=i == 0 or name in DATE_COLUMNS,
        )
    return table


def _suffixes(summary: pd.Series, prefix: str) -> list[str]:
    return [str(key)[len(prefix) :] for key in summary.index if str(key).startswith(prefix)]


def _arrivals(arrivals: Any) -> str:
    """Jobs a day, or where a replayed trace comes from."""
    per_day = getattr(arrivals, "per_day", None)
    return _num(per_day) if per_day is not None else f"trace {arrivals.path}"


def _pct(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:.1%}"


def _hours(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:,.2f}"


def _int(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{round(number):,}"


def _num(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:,g}"


def _qty(value: Any) -> str:
    """A large count, abbreviated like money: 1.23M, 45.6K."""
    number = finite(value)
    if number is None:
        return MISSING
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(number) >= scale:
            scaled = number / scale
            digits = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
            return f"{scaled:,.{digits}f}{suffix}"
    return f"{number:,.0f}"


def _price(value: Any) -> str:
    """A price per GPU-hour; infinite when credits were granted but none used."""
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    number = finite(value)
    return MISSING if number is None else f"${number:,.2f}"


def _usd(value: Any) -> str:
    number = finite(value)
    if number is None:
        return MISSING
    sign = "-" if number <= -0.5 else ""  # no "-$0" for rounding dust
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(number) >= scale:
            scaled = abs(number) / scale
            digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
            return f"{sign}${scaled:,.{digits}f}{suffix}"
    return f"{sign}${abs(number):,.0f}"


def _text(value: Any) -> Text:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text(MISSING)
    return Text(str(value))


if __name__ == "__main__":
    main()
