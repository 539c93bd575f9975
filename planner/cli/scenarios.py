"""``planner validate``, ``planner schema`` and ``planner scenarios``: scenario files checked,
described and listed, without running them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from planner.cli.common import load, scenario_errors, warn_infeasible_credits
from planner.cli.options import ScenarioArg, SetOpt
from planner.cli.output import MISSING, integer, num, print_blocks, stdout, table, usd

if TYPE_CHECKING:
    from planner.scenario import Scenario

DESCRIPTION_COLUMNS = 72
SENTENCE_END = re.compile(r"[.?!](?=\s|$)")


def validate(scenario: ScenarioArg, sets: SetOpt = None) -> None:
    """Load and check a scenario; describe it and say whether it is valid."""
    with scenario_errors():
        sc = load(scenario, sets)
    warn_infeasible_credits(sc)
    valid = Text(f"{scenario}: valid", style="green")
    print_blocks(stdout(), [*describe(sc), Text(""), valid])


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
    from planner.scenario import Scenario

    document = Scenario.model_json_schema(by_alias=True)
    if out is None:
        typer.echo(json.dumps(document, indent=2))
    else:
        from planner.writers import write_json

        write_json(document, out)


def scenarios() -> None:
    """List the built-in scenarios, each with what it is (its description's opening)."""
    from planner.errors import ScenarioError
    from planner.scenario import builtin_names, load_scenario, scenarios_dir

    names = builtin_names()
    if not names:
        typer.echo(f"no built-in scenarios in {scenarios_dir()}")
        return
    listing = Table("name", box=None, show_header=True, header_style="bold")
    listing.add_column("description", max_width=DESCRIPTION_COLUMNS)
    for name in names:
        try:
            about = opening(load_scenario(name).description)
        except ScenarioError:
            about = f"(invalid: see `planner validate {name}`)"
        listing.add_row(Text(name), Text(about))
    stdout().print(listing)


def opening(description: str) -> str:
    """A description's first line, carried on to the end of its sentence if it breaks
    mid-sentence (descriptions are wrapped text whose first line says what the scenario is)."""
    lines = description.strip().splitlines()
    said = lines[0].strip() if lines else ""
    for line in lines[1:]:
        if SENTENCE_END.search(said[-1:] + " ") or not line.strip():
            break
        end = SENTENCE_END.search(line)
        said += " " + (line[: end.end()] if end else line).strip()
    return said


def describe(sc: Scenario) -> list[Table | Text]:
    """A one-screen description of a scenario, as ``planner validate`` prints it."""
    head = Text(f"{sc.name}: {sc.start} to {sc.end} ({num(sc.horizon_days)} days)", style="bold")
    blocks: list[Table | Text] = [head]
    if sc.description.strip():
        blocks.append(Text(opening(sc.description)))

    regions = table("regions", ("region", "left"), ("pod GPUs", "right"), ("GPUs/node", "right"))
    for r in sc.regions:
        regions.add_row(Text(r.name), integer(r.pod_gpus), integer(r.gpus_per_node))
    blocks.append(regions)

    if sc.fleet:
        fleet = table(
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
                integer(c.gpus),
                str(c.acquired),
            )
        per_model: dict[str, int] = {}
        for c in sc.fleet:
            per_model[c.model] = per_model.get(c.model, 0) + c.gpus
        fleet.caption = Text(
            "fleet GPUs per model: "
            + ", ".join(f"{model} {integer(gpus)}" for model, gpus in sorted(per_model.items()))
        )
        blocks.append(fleet)

    if sc.orders:
        orders = table(
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
                integer(o.gpus),
                str(o.ordered),
                str(o.expected_due),
            )
        blocks.append(orders)

    if sc.export_controls:
        controls = table(
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

    tenants = table(
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
            *((usd(credit.amount_usd), str(credit.expires)) if credit is not None else ("", "")),
        )
    blocks.append(tenants)
    if sc.directives:
        blocks.append(directives_table(sc))
    return blocks


def directives_table(sc: Scenario) -> Table:
    """Each directive and the reservation it holds for each of its tenants."""
    from planner.scenario.directives import expand

    held = table(
        "directives, held as reservations (quota scheduler)",
        ("directive", "left"),
        ("from", "left"),
        ("until", "left"),
        ("pool", "left"),
        ("share", "right"),
        ("tenant", "left"),
        ("GPUs held", "right"),
        ("of pool", "right"),
    )
    for h in expand(sc):
        d, r = sc.directives[h.directive], h.reservation
        held.add_row(
            Text(d.name),
            str(d.date),
            str(r.end or sc.end),
            Text(f"{d.model} in {d.region}"),
            num(d.share),
            Text(h.tenant),
            integer(r.gpus),
            integer(h.pool_gpus),
        )
    held.caption = Text("\n".join(f"{d.name}: {d.source}" for d in sc.directives), justify="left")
    return held


def _arrivals(arrivals: Any) -> str:
    """Jobs a day, or where a replayed trace comes from."""
    per_day = getattr(arrivals, "per_day", None)
    return num(per_day) if per_day is not None else f"trace {arrivals.path}"
