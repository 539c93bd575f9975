"""``planner run`` and ``planner compare``: one run of a scenario, or one per value of a field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

import planner
from planner.cli.common import (
    interrupts,
    load,
    parse_values,
    replace,
    report_needs_out,
    scenario_errors,
    warn_infeasible_credits,
)
from planner.cli.experiments import replications
from planner.cli.options import (
    EngineOpt,
    QuietOpt,
    ReportOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    SloOpt,
    WorkersOpt,
)
from planner.cli.output import print_blocks, stdout
from planner.errors import ScenarioError
from planner.progress import Progress


def run(
    scenario: ScenarioArg,
    seed: SeedOpt = 0,
    sets: SetOpt = None,
    engine: EngineOpt = None,
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
    quiet: QuietOpt = False,
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
    report_needs_out(with_report, out)
    if with_report and reps > 1:
        raise typer.BadParameter(
            "a report shows one run: drop --reps, or sweep the seed with `planner sweep`",
            param_hint="'--report'",
        )
    if reps > 1:
        replications(scenario, sets, reps, seed, workers, out, quiet, engine)
        return
    from planner.cli.tables import report
    from planner.report import run_data, write_report
    from planner.writers import write_run

    with scenario_errors():
        sc = load(scenario, sets, engine)
    warn_infeasible_credits(sc)
    bar = Progress(f"simulating {sc.name}", unit=None, enabled=not quiet)
    stopped = f"of the horizon; nothing written{_to(out)}"
    ran = scenario_errors(scenario)
    with interrupts(lambda: f"the run stopped at {bar.done:.0%} {stopped}"), bar, ran:
        res = planner.simulate(sc, seed=seed, progress=bar.fraction)
    written = write_run(res, out) if out is not None else []
    page = None
    if with_report and out is not None:
        with scenario_errors():
            page = write_report(out, run=run_data(res), slo_h=slo_h)
    if quiet:
        return
    console = stdout()
    print_blocks(console, report(res))
    if out is not None:
        console.print(Text(f"wrote {len(written)} files to {out}"))
    if page is not None:
        console.print(Text(f"wrote {page}"))


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
    seed: SeedOpt = 0,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="Write the summaries side by side as compare.csv into this directory.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Run a scenario once per value of one field, on the same seed, and show them side by side."""
    from planner.cli.tables import comparison

    path, values = parse_values(each, "--each")
    with scenario_errors():
        sc = load(scenario, sets, engine)
        for value in values:  # every variant is checked before any is run
            try:
                sc.with_overrides({path: value})
            except ScenarioError as bad:
                where = f"{scenario} with --each {path}={value}"
                raise ScenarioError(where, bad.problems) from None
    bar = Progress(f"compare {path}", enabled=not quiet)
    stopped = f"of {len(values)} runs had finished; nothing written{_to(out)}"
    with interrupts(lambda: f"{bar.done:.0f} {stopped}"), bar, scenario_errors():
        table = planner.compare(
            sc, path, values, seed, progress=lambda i, _value: bar(i, len(values))
        )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        replace(out / "compare.csv", lambda file: table.to_csv(file, index_label="metric"))
    if not quiet:
        console = stdout()
        console.print(comparison(table, path))
        if out is not None:
            console.print(Text(f"wrote {out / 'compare.csv'}"))


def _to(out: Path | None) -> str:
    return f" to {out}" if out is not None else ""
