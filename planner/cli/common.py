"""What every command shares: loading a scenario with its overrides, parsing option values,
turning bad input into one paragraph on stderr with exit status 2 and an interrupt into a line
saying what was kept (exit status 130), and writing files safely."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import yaml

from planner.errors import RUNNING, Problem, ScenarioError

if TYPE_CHECKING:
    from planner.scenario import Scenario

INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


@contextmanager
def scenario_errors(source: str | None = None) -> Iterator[None]:
    """Turn a :class:`ScenarioError` into its message on stderr and exit status 2.

    With ``source`` (the scenario as the user named it), problems found while running, which
    know only the scenario they are in, are reported against that file or name.
    """
    try:
        yield
    except ScenarioError as err:
        if source is not None and err.source == RUNNING:
            err = type(err)(source, err.problems)
        typer.echo(err.message(), err=True)
        raise typer.Exit(2) from None


@contextmanager
def interrupts(kept: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C into ``interrupted: <kept()>`` on stderr and exit status 130."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted: {kept()}", err=True)
        raise typer.Exit(INTERRUPTED) from None


def load(scenario: str, sets: Sequence[str] | None, engine: str | None = None) -> Scenario:
    """Load ``scenario`` and apply the ``--set`` overrides, if any, and ``--engine``."""
    from planner.scenario import load_scenario

    overrides = parse_sets(sets or [])
    if engine is not None:
        overrides["engine"] = engine
    _check_exists(scenario)
    sc = load_scenario(scenario)
    if not overrides:
        return sc
    try:
        return sc.with_overrides(overrides)
    except ScenarioError as err:
        raise ScenarioError(f"{scenario} with --set", err.problems) from None


def warn_infeasible_credits(sc: Scenario) -> None:
    """Say on stderr which credit grants exceed the list value of every GPU-hour their tenant
    may use while they are valid: such a grant cannot be burned, and its forfeit is an
    artefact of the scenario, not a finding of the run."""
    from planner.feasibility import infeasible_credit_warnings

    for warning in infeasible_credit_warnings(sc):
        typer.echo(f"warning: {warning}", err=True)


def _check_exists(scenario: str) -> None:
    """Refuse a name that is neither a file nor a built-in scenario, pointing at the closest
    built-in name."""
    from planner.scenario import builtin_names
    from planner.scenario.builtin import resolve

    if resolve(scenario).exists():
        return
    reason = "no such file"
    if Path(scenario).parent == Path("."):
        name = Path(scenario).name.removesuffix(".yaml")
        reason += ", nor a built-in scenario of that name"
        close = difflib.get_close_matches(name, builtin_names(), n=1, cutoff=0.6)
        if close:
            reason += f"; did you mean {close[0]}?"
        reason += " (`planner scenarios` lists the built-in ones)"
    raise ScenarioError(scenario, [Problem("", reason)])


def _yaml_value(raw: str) -> Any:
    """A value given on the command line, read as a scenario file reads it (an impossible date
    stays text, for the schema to name)."""
    from planner.scenario.loading import ScenarioLoader

    return yaml.load(raw, Loader=ScenarioLoader)  # a SafeLoader: builds plain data only


def parse_values(item: str, option: str, form: str = "PATH=V1,V2,...") -> tuple[str, list[Any]]:
    """``PATH=V1,V2,...`` as the path and its values, each read as YAML."""
    path, eq, raw = item.partition("=")
    if not eq or not path.strip() or not raw.strip():
        raise typer.BadParameter(f"'{item}' is not {form}", param_hint=f"'{option}'")
    try:
        return path.strip(), [_yaml_value(v) for v in raw.split(",")]
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
            overrides[path.strip()] = _yaml_value(raw)
        except yaml.YAMLError as exc:
            raise typer.BadParameter(
                f"'{item}': VALUE is not valid YAML ({exc})", param_hint="'--set'"
            ) from None
    return overrides


def report_needs_out(with_report: bool, out: Path | None) -> None:
    """Refuse --report without --out before anything runs."""
    if with_report and out is None:
        from planner.report import REPORT_FILE

        raise typer.BadParameter(
            f"--report writes {REPORT_FILE} into the --out directory: give --out DIR",
            param_hint="'--report'",
        )


def replace(path: Path, write: Callable[[Path], Any]) -> None:
    """Write a file by way of a temporary one beside it, so a failure leaves the old file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    tmp.replace(path)
