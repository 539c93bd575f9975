"""Arguments and options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        metavar="auto|reference|fast",
        help="The engine that runs it: 'fast' (compiled), 'reference' (SimPy) or 'auto' (fast "
        "where it supports the scenario, else the reference with a note naming the field). "
        "Default: the scenario's engine field, itself auto by default.",
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
        help="A wait SLO in hours for every tenant class, drawn on the report's waits figure "
        "(default: the p95 SLOs the scenario states in slo.wait_p95_h, if any).",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        min=0, help="Random seed (0 or more): the same seed gives the same result, run for run."
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but errors; no progress.")
]
MetricOpt = Annotated[str, typer.Option(help="Summary key held to the target.")]
