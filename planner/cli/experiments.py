"""``planner run --reps``, ``planner sweep`` and ``planner sensitivity``: many runs of one
scenario, replicated, across parameter values."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.text import Text

from planner.cli.common import (
    interrupts,
    load,
    parse_values,
    replace,
    report_needs_out,
    scenario_errors,
    warn_infeasible_credits,
)
from planner.cli.options import (
    EngineOpt,
    OutOpt,
    QuietOpt,
    ReportOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    WorkersOpt,
)
from planner.cli.output import stdout, table
from planner.progress import Progress


def replications(
    scenario: str,
    sets: list[str] | None,
    reps: int,
    seed: int,
    workers: int,
    out: Path | None,
    quiet: bool,
    engine: str | None = None,
) -> None:
    """``planner run --reps N``: every headline metric's mean and interval across replications."""
    from planner.cli.tables import intervals
    from planner.experiments.replicate import replicate

    with scenario_errors():
        sc = load(scenario, sets, engine)
    warn_infeasible_credits(sc)
    bar = Progress(f"{sc.name}: {reps} replications", "replications", enabled=not quiet)
    stopped = f"of {reps} replications had finished; nothing written"
    with interrupts(lambda: f"{bar.done:.0f} {stopped}"), bar, scenario_errors(scenario):
        result = replicate(sc, reps, seed, workers=workers, progress=bar)
    summary = result.summary()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        replace(out / "replications.parquet", result.runs.to_parquet)
        replace(out / "intervals.csv", lambda path: summary.to_csv(path, index_label="metric"))
    if not quiet:
        stdout().print(intervals(summary, f"{sc.name} · seed {seed} · {reps} replications"))


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
    seed: SeedOpt = 0,
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
    baseline: Annotated[
        int,
        typer.Option(
            min=0,
            help="The point (0 for the first) every other point is compared with, replication "
            "by replication.",
        ),
    ] = 0,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    quiet: QuietOpt = False,
    with_report: ReportOpt = False,
) -> None:
    """Run a scenario at many parameter points, replicated, into a resumable Parquet dataset;
    print each point's headline metrics and its paired difference from the baseline point."""
    from planner.cli.tables import sweep_results
    from planner.experiments.sweep import ROWS_DIR, expand, sweep

    sweep_grid, sweep_points = _sweep_points(grid, points)
    count = len(expand(sweep_grid, sweep_points))
    if baseline >= count:
        raise typer.BadParameter(
            f"the sweep has points 0 to {count - 1}, not {baseline}", param_hint="'--baseline'"
        )
    began = time.perf_counter()
    rows_dir = out / ROWS_DIR
    bar = Progress(f"sweep {out}", "rows", enabled=not quiet)

    def resuming(done: int, total: int) -> None:
        bar.resume_from(done, total)
        if done:
            bar.note(f"resuming: {done} of {total} rows found done in {rows_dir}; "
                     f"running {total - done}")  # fmt: skip

    def kept() -> str:  # every row counted by the bar is on disk
        so_far = f"{bar.done:.0f} of {bar.total:.0f} rows" if bar.total else "the rows written"
        return f"{so_far} kept in {rows_dir}; run the same command to resume"

    with scenario_errors():
        sc = load(scenario, sets, engine)
    try:
        with interrupts(kept), bar, scenario_errors():
            rows = sweep(
                sc, out, grid=sweep_grid, points=sweep_points, reps=reps, seed=seed,
                executor=dask or "processes", workers=workers, progress=bar, on_start=resuming,
            )  # fmt: skip
    except ValueError as err:  # another sweep's directory
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    page = None
    if with_report:
        from planner.report import write_report

        with scenario_errors():
            page = write_report(out, ["sweep"], baseline=baseline)
    if not quiet:
        spent = time.perf_counter() - began
        console = stdout()
        for shown in sweep_results(rows, baseline):
            console.print(shown)
        console.print(Text(f"{len(rows)} rows in {rows_dir} ({spent:,.1f} s)"))
        if page is not None:
            console.print(Text(f"wrote {page}"))


def _sweep_points(
    grid: list[str] | None, points: Path | None
) -> tuple[dict[str, list[Any]] | None, list[dict[str, Any]] | None]:
    """The sweep's grid (from --grid) or its list of points (from --points): one is None."""
    if grid is not None and points is None:
        return dict(parse_values(item, "--grid") for item in grid), None
    if points is None or grid is not None:
        raise typer.BadParameter("give --grid (repeatable) or --points, not both or neither")
    loaded = yaml.safe_load(points.read_text(encoding="utf-8"))
    if not isinstance(loaded, list) or not all(isinstance(p, dict) for p in loaded):
        raise typer.BadParameter(
            f"{points} must hold a list of {{PATH: VALUE}} mappings", param_hint="'--points'"
        )
    return None, loaded


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
    engine: EngineOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """One-at-a-time sensitivity of a metric to parameters (a tornado table)."""
    from planner.experiments.sensitivity import tornado
    from planner.report.inputs import SENSITIVITY_FILE
    from planner.writers import write_json

    report_needs_out(with_report, out)
    parsed: dict[str, tuple[Any, Any]] = {}
    for item in ranges:
        path, ends = parse_values(item, "--range", form="PATH=LOW,HIGH")
        if len(ends) != 2:
            raise typer.BadParameter(f"'{item}' is not PATH=LOW,HIGH", param_hint="'--range'")
        parsed[path] = (ends[0], ends[1])
    with scenario_errors():
        sc = load(scenario, sets, engine)
    bar = Progress(f"sensitivity of {metric}")
    with (
        interrupts(lambda: f"{bar.done:.0f} runs had finished; nothing written"),
        bar,
        scenario_errors(),
    ):
        swings = tornado(sc, parsed, metric, reps=reps, seed=seed, workers=workers, progress=bar)
    page = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        replace(out / "tornado.csv", lambda path: swings.to_csv(path, index=False))
        write_json({"metric": metric, "reps": reps, "seed": seed}, out / SENSITIVITY_FILE)
        if with_report:
            from planner.report import write_report

            with scenario_errors():
                page = write_report(out, ["sensitivity"])
    shown = table(
        f"{metric}: one at a time, base {swings['base'].iloc[0]:,.4g}",
        ("parameter", "left"), ("low", "right"), ("high", "right"),
        ("at low", "right"), ("at high", "right"), ("swing", "right"),
    )  # fmt: skip
    for row in swings.itertuples():
        shown.add_row(
            str(row.parameter), str(row.low_value), str(row.high_value),
            f"{row.at_low:,.4g}", f"{row.at_high:,.4g}", f"{row.swing:,.4g}",
        )  # fmt: skip
    console = stdout()
    console.print(shown)
    if page is not None:
        console.print(Text(f"wrote {page}"))
