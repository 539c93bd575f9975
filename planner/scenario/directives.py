"""State directives carried out as reservations.

A directive holds ``share`` of a pool (a GPU model in a region) for its named tenants from its
date. The pool's size is the GPUs of that model in that region installed by the directive's
date (fleet cohorts acquired on or before it): orders are left out, as a ban or a licence may
stop them. The share is split evenly among the tenants and rounded down to whole nodes, since a
job larger than a node holds whole nodes; each tenant gets one reservation of that many GPUs
from the directive's date to its ``until`` (or the horizon's end). The quota scheduler then
enforces them in both engines, as it does every reservation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from planner.catalog import known_models
from planner.wording import counted

if TYPE_CHECKING:
    from planner.scenario.schema import Directive, Reservation, Scenario, Tenant

Loc = tuple[str | int, ...]
Found = tuple[Loc, str]


@dataclass(frozen=True, slots=True)
class Holding:
    """The reservation directive ``directive`` (its index) holds for ``tenant``."""

    directive: int
    tenant: str
    pool_gpus: int
    reservation: Reservation


def pool_gpus_on(sc: Scenario, model: str, region: str, day: date) -> int:
    """GPUs of ``model`` in ``region`` in fleet cohorts acquired on or before ``day``."""
    return sum(
        c.gpus for c in sc.fleet if c.model == model and c.region == region and c.acquired <= day
    )


def tenant_gpus(share: float, pool_gpus: int, tenants: int, node_gpus: int) -> int:
    """Each tenant's even part of ``share`` of the pool, rounded down to whole nodes."""
    # A share such as 0.3 x 1,000 is 299.99999999999994 in floats: nudge before flooring.
    nodes = math.floor(share * pool_gpus / (tenants * node_gpus) + 1e-9)
    return nodes * node_gpus


def expand(sc: Scenario) -> list[Holding]:
    """The reservations the scenario's directives hold, one per named tenant, in directive
    order. Only meaningful for a validated scenario (see :func:`problems`)."""
    from planner.scenario.schema import Reservation

    held = []
    for i, d in enumerate(sc.directives):
        pool = pool_gpus_on(sc, d.model, d.region, d.date)
        gpus = tenant_gpus(d.share, pool, len(d.tenants), sc.region(d.region).gpus_per_node)
        for name in d.tenants:
            reservation = Reservation.model_validate(
                {
                    "gpus": gpus,
                    "model": d.model,
                    "region": d.region,
                    "start": d.date,
                    "end": d.until,
                }
            )
            held.append(Holding(i, name, pool, reservation))
    return held


def problems(sc: Scenario) -> Iterator[Found]:
    """Every reason the directives cannot be carried out, each at ``directives.<i>.<field>``."""
    if sc.directives and sc.scheduler.kind != "quota":
        yield (
            ("directives",),
            "directives hold GPUs through reservations, which only the 'quota' scheduler "
            f"enforces; scheduler.kind is '{sc.scheduler.kind}'",
        )
    tenants = {t.name: t for t in sc.tenants}
    regions = {r.name: r for r in sc.regions}
    models = set(known_models())
    held_by: dict[str, str] = {}
    shares: dict[tuple[str, str], float] = defaultdict(float)
    for i, d in enumerate(sc.directives):
        loc: Loc = ("directives", i)
        if d.date < sc.start or d.date >= sc.end:
            yield (*loc, "date"), f"{d.date} is outside the horizon {sc.start} to {sc.end}"
        if d.until is not None and d.until <= d.date:
            yield (*loc, "until"), f"{d.until} is not after the directive's date {d.date}"
        if d.model not in models:
            known = ", ".join(known_models())
            yield (*loc, "model"), f"unknown GPU model '{d.model}'; known models: {known}"
        region = regions.get(d.region)
        if region is None:
            known = ", ".join(sorted(regions))
            reason = f"unknown region '{d.region}'; regions in this scenario: {known}"
            yield (*loc, "region"), reason
        known_pool = region is not None and d.model in models
        for j, name in enumerate(d.tenants):
            tenant_loc = (*loc, "tenants", j)
            yield from _tenant_problems(d, name, tenant_loc, tenants, held_by, known_pool)
            held_by.setdefault(name, d.name)
        if region is None or not known_pool:
            continue
        pool = pool_gpus_on(sc, d.model, d.region, d.date)
        if pool == 0:
            yield (
                (*loc, "model"),
                f"no {d.model} GPUs in '{d.region}' are in the fleet on {d.date}",
            )
            continue
        node = region.gpus_per_node
        if tenant_gpus(d.share, pool, len(d.tenants), node) == 0:
            yield (
                (*loc, "share"),
                f"{d.share:g} of the {counted(pool, 'GPU')} is less than one {node}-GPU node for "
                f"each of {counted(len(d.tenants), 'tenant')}",
            )
        shares[(d.model, d.region)] += d.share
        if shares[(d.model, d.region)] > 1 + 1e-9:
            yield (
                (*loc, "share"),
                f"directives on {d.model} in '{d.region}' hold shares adding up to "
                f"{shares[(d.model, d.region)]:g}, more than the whole pool",
            )


def _tenant_problems(
    d: Directive,
    name: str,
    loc: Loc,
    tenants: dict[str, Tenant],
    held_by: dict[str, str],
    known_pool: bool,
) -> Iterator[Found]:
    """A named tenant exists, holds no other reservation, and may use the directive's pool
    (a reservation on a pool its jobs cannot run on would hold GPUs for nothing); an unknown
    pool is reported on its own field instead."""
    tenant = tenants.get(name)
    if tenant is None:
        yield loc, f"unknown tenant '{name}'"
        return
    if tenant.reservation is not None:
        yield loc, f"tenant '{name}' already holds a reservation (tenants.{name}.reservation)"
    elif name in held_by:
        yield loc, f"tenant '{name}' already holds a reservation by directive '{held_by[name]}'"
    if known_pool and (
        d.model not in tenant.models
        or (tenant.regions is not None and d.region not in tenant.regions)
    ):
        yield loc, f"tenant '{name}' may not use {d.model} in '{d.region}'"
