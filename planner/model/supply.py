"""Supply: when each cohort enters service, and what export controls do to orders in flight.

With fixed lead times and dated events the outcome of every order is known before the run, so it
is computed here as a plain function and the engine only replays it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from planner.catalog import gpu_model
from planner.model.sampling import draw
from planner.model.streams import Streams
from planner.scenario.schema import HOURS_PER_DAY, ExportControl, Licence, Scenario

OrderStatus = Literal["delivered", "cancelled", "frozen", "denied", "in_transit"]


@dataclass(frozen=True, slots=True)
class CohortPlan:
    """A cohort and the time it enters service (hours; negative if before the start)."""

    index: int
    name: str
    model: str
    region: str
    gpus: int
    in_service_h: float
    unit_capex_usd: float
    opex_usd_per_gpu_h: float | None
    source: Literal["fleet", "order"]


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What happened to one order by the horizon, and when."""

    name: str
    model: str
    region: str
    gpus: int
    ordered_h: float
    due_h: float
    status: OrderStatus
    at_h: float  # delivery, cancellation or freeze time; NaN while in transit
    control: str | None  # the export-control event that cancelled, froze or licensed it
    frozen_h: float = math.nan  # when a ban first froze it, even if it was delivered later
    licence_delay_h: float = math.nan  # how long its export licence held it up


def plan_supply(
    sc: Scenario, streams: Streams | None = None
) -> tuple[list[CohortPlan], list[OrderOutcome]]:
    """Cohorts that enter service within the horizon, and every order's outcome.

    Licence decisions are random (``streams``, one named stream per order); everything else
    about supply follows from dated events.
    """
    streams = streams or Streams(0)
    names = sc.cohort_names()
    cohorts = [
        CohortPlan(
            index=i,
            name=names[i],
            model=c.model,
            region=c.region,
            gpus=c.gpus,
            in_service_h=sc.hours_since_start(c.acquired),
            unit_capex_usd=c.unit_capex_usd or gpu_model(c.model).ref_capex_usd,
            opex_usd_per_gpu_h=c.opex_usd_per_gpu_h,
            source="fleet",
        )
        for i, c in enumerate(sc.fleet)
    ]
    outcomes = []
    for j, order in enumerate(sc.orders):
        for outcome in _order_outcomes(sc, j, streams):
            outcomes.append(outcome)
            if outcome.status == "delivered":
                cohorts.append(
                    CohortPlan(
                        index=len(cohorts),
                        name=outcome.name,
                        model=order.model,
                        region=order.region,
                        gpus=outcome.gpus,
                        in_service_h=outcome.at_h,
                        unit_capex_usd=order.unit_capex_usd or gpu_model(order.model).ref_capex_usd,
                        opex_usd_per_gpu_h=order.opex_usd_per_gpu_h,
                        source="order",
                    )
                )
    return cohorts, outcomes


def _order_outcomes(sc: Scenario, j: int, streams: Streams) -> list[OrderOutcome]:
    """One outcome per tranche of order ``j``; each tranche meets the controls on its own."""
    order, name = sc.orders[j], sc.order_names()[j]
    ordered_h = sc.hours_since_start(order.ordered)
    if isinstance(order.lead_days, float | int):
        lead_days = float(order.lead_days)
    else:
        lead_days = float(draw(order.lead_days, streams.get(f"lead/{name}"), 1)[0])
    outcomes = []
    for k in range(order.tranches):
        tranche = name if order.tranches == 1 else f"{name}-t{k + 1}"
        due_h = ordered_h + (lead_days + k * order.tranche_every_days) * HOURS_PER_DAY
        outcome = _order_outcome(sc, j, tranche, order.gpus // order.tranches, due_h)
        outcomes.append(_licensed(sc, outcome, streams))
    return outcomes


def _licensed(sc: Scenario, outcome: OrderOutcome, streams: Streams) -> OrderOutcome:
    """Apply an export-licence requirement in force when the order would be delivered."""
    if outcome.status != "delivered":
        return outcome
    requirement = _licence_in_force(sc, outcome.model, outcome.at_h)
    if requirement is None:
        return outcome
    event, licence = requirement
    rng = streams.get(f"licence/{outcome.name}")
    denied = rng.random() < licence.deny_probability
    delay_h = float(draw(licence.delay_days, rng, 1)[0]) * HOURS_PER_DAY
    label = event.name or f"export_controls[{sc.export_controls.index(event)}]"
    if denied:
        decided_h = max(sc.hours_since_start(event.effective), outcome.ordered_h)
        return replace(outcome, status="denied", at_h=decided_h, control=label)
    deliver_h = outcome.at_h + delay_h
    status: OrderStatus = "delivered" if deliver_h < sc.horizon_h else "in_transit"
    return replace(
        outcome,
        status=status,
        at_h=deliver_h if status == "delivered" else math.nan,
        control=label,
        licence_delay_h=delay_h,
    )


def _licence_in_force(sc: Scenario, model: str, t_h: float) -> tuple[ExportControl, Licence] | None:
    """The licence requirement on ``model`` in force at ``t_h``, if any (a lift ends it)."""
    found: tuple[ExportControl, Licence] | None = None
    for event in sorted(sc.export_controls, key=lambda e: e.effective):
        if sc.hours_since_start(event.effective) > t_h:
            break
        if event.licence is not None and model in event.licence.models:
            found = (event, event.licence)
        elif model in event.lift:
            found = None
    return found


def _order_outcome(sc: Scenario, j: int, name: str, gpus: int, due_h: float) -> OrderOutcome:
    """What bans and lifts do to one delivery of ``gpus`` GPUs of order ``j`` due at ``due_h``."""
    order = sc.orders[j]
    ordered_h = sc.hours_since_start(order.ordered)
    events = sorted(
        (e for e in sc.export_controls if order.model in e.ban or order.model in e.lift),
        key=lambda e: e.effective,
    )

    deliver_h = due_h
    frozen_by: str | None = None
    last_control: str | None = None
    first_freeze_h = math.nan

    def result(status: OrderStatus, at_h: float, control: str | None = None) -> OrderOutcome:
        return OrderOutcome(
            name,
            order.model,
            order.region,
            gpus,
            ordered_h,
            due_h,
            status,
            at_h,
            control,
            first_freeze_h,
        )

    for event in events:
        effective_h = sc.hours_since_start(event.effective)
        label = event.name or f"export_controls[{sc.export_controls.index(event)}]"
        if frozen_by is None and effective_h > deliver_h:
            break  # delivered before this event takes effect
        if order.model in event.ban and frozen_by is None:
            at_h = max(effective_h, ordered_h)
            if event.undelivered == "cancel":
                return result("cancelled", at_h, label)
            frozen_by = last_control = label
            freeze_h = at_h
            if math.isnan(first_freeze_h):
                first_freeze_h = at_h
        elif order.model in event.lift and frozen_by is not None:
            frozen_by = None
            deliver_h = max(due_h, effective_h)
    if frozen_by is not None:
        return result("frozen", freeze_h, frozen_by)
    if deliver_h >= sc.horizon_h:
        return result("in_transit", math.nan, last_control)
    return result("delivered", deliver_h, last_control)
