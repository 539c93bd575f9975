"""``planner report DIR``: the HTML report of what an earlier command wrote with --out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from planner.cli.common import scenario_errors
from planner.cli.options import SloOpt
from planner.cli.output import stdout


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
    from planner.report import write_report

    with scenario_errors():
        page = write_report(directory, slo_h=slo_h)
    stdout().print(Text(f"wrote {page}"))
