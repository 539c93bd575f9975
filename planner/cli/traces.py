"""``planner trace import|fit``: public GPU-cluster traces as the generic CSV, and a workload
fitted to one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.text import Text

from planner.cli.output import num4, stderr, stdout, table
from planner.errors import ScenarioError
from planner.wording import counted

# The readers' formats (planner.traces.FORMATS), named here so that help needs no pandas.
FORMATS = ("philly", "itp", "crux", "openb", "generic")


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
    from planner.traces import read_trace, write_generic

    try:
        trace = read_trace(source, fmt, skip_bad=skip_bad)
    except ScenarioError as err:
        typer.echo(err.message(), err=True)
        raise typer.Exit(2) from None
    try:
        write_generic(trace, out)
    except OSError as err:
        typer.echo(f"{out}: cannot write: {err.strerror or err}", err=True)
        raise typer.Exit(2) from None
    lines = [f"{counted(len(trace), 'job')} from {trace.name} written to {out}"]
    if trace.skipped_rows:
        lines.append(f"{counted(trace.skipped_rows, 'malformed row')} skipped")
    lines += list(trace.notes)
    stdout().print(Text("\n".join(lines)))


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
    from planner.traces import read_trace
    from planner.traces.fit import fit_trace

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
    typer.echo(f"# fitted to {trace.name}: {counted(len(trace), 'job')}; paste under a tenant")
    typer.echo(yaml.safe_dump({"workload": fitted.workload()}, sort_keys=False).rstrip())
    shown = table("fit", ("quantity", "left"), ("trace", "right"), ("model", "right"))
    for quantity, in_trace, in_model in fitted.report.itertuples(index=False):
        shown.add_row(str(quantity), num4(in_trace), num4(in_model))
    stderr().print(shown)
