"""The ``planner`` command line: a thin shell over the Python API.

Every verb loads a scenario through :func:`planner.load_scenario`, calls the API and formats what
comes back. Bad input (a :class:`~planner.ScenarioError`) is reported as one paragraph on stderr
with exit status 2; anything else is a bug and raises. Each command group lives in its own module;
this one assembles them into ``app``, in the order ``planner --help`` lists them.
"""

from __future__ import annotations

import warnings
from typing import Annotated, TextIO

import typer

import planner
from planner.cli import experiments, kernel, plan, report, run, scenarios, traces
from planner.cli.common import parse_sets

__all__ = ["app", "main", "parse_sets"]

app = typer.Typer(
    name="planner",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def main() -> None:
    """Run the ``planner`` command line."""
    app()


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"planner {planner.__version__}")
        raise typer.Exit()


_show_python_warning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """The engine's notes (a fallback, a first compile) are for the user, not Python warnings
    with a source line (matched by name: importing the engine here would slow every start)."""
    if category.__name__ in ("EngineFallback", "KernelCompiling"):
        typer.echo(f"note: {message}", err=True)
    else:
        _show_python_warning(message, category, filename, lineno, file, line)


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
    warnings.showwarning = _show_warning


app.command()(run.run)
app.command()(run.compare)
app.command("sweep")(experiments.sweep_command)

trace_app = typer.Typer(
    no_args_is_help=True, help="Work with public GPU-cluster traces.", rich_markup_mode=None
)
trace_app.command("import")(traces.trace_import)
trace_app.command("fit")(traces.trace_fit)
app.add_typer(trace_app, name="trace")

plan_app = typer.Typer(
    no_args_is_help=True,
    help="Answer a planning question with an interval and the evaluations made.",
    rich_markup_mode=None,
)
plan_app.command("grant")(plan.plan_grant)
plan_app.command("gpus")(plan.plan_gpus)
plan_app.command("price")(plan.plan_price)
plan_app.command("contract")(plan.plan_contract)
plan_app.command("exit")(plan.plan_exit)
app.add_typer(plan_app, name="plan")

app.command()(experiments.sensitivity)
app.command("report")(report.report_command)
app.command()(scenarios.validate)
app.command()(scenarios.schema)
app.command()(scenarios.scenarios)
app.command("compile")(kernel.compile_command)
