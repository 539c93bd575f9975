"""Supply: when each cohort enters service, and what export controls do to orders in flight.

With fixed lead times and dated events the outcome of every order is known before the run, so it
is computed here as a plain function and the engine only replays it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from planner.catalog import gpu_model
from planner.scenario.schema import HOURS_PER_DAY, Scenario

OrderStatus = Literal["delivered", "cancelled", "frozen", "in_transit"]


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
    control: str | None  # the export-control event that cancelled or (last) froze it
    frozen_h: float = math.nan  # when a ban first froze it, even if it was delivered later


def plan_supply(sc: Scenario) -> tuple[list[CohortPlan], list[OrderOutcome]]:
    """Cohorts that enter service within the horizon, and every order's outcome."""
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
        outcome = _order_outcome(sc, j)
        outcomes.append(outcome)
        if outcome.status == "delivered":
            cohorts.append(
                CohortPlan(
                    index=len(cohorts),
                    name=outcome.name,
                    model=order.model,
                    region=order.region,
                    gpus=order.gpus,
                    in_service_h=outcome.at_h,
                    unit_capex_usd=order.unit_capex_usd or gpu_model(order.model).ref_capex_usd,
                    opex_usd_per_gpu_h=order.opex_usd_per_gpu_h,
                    source="order",
                )
            )
    return cohorts, outcomes


def _order_outcome(sc: Scenario, j: int) -> OrderOutcome:
    order = sc.orders[j]
    name = sc.order_names()[j]
    ordered_h = sc.hours_since_start(order.ordered)
    due_h = ordered_h + order.lead_days * HOURS_PER_DAY
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
            order.gpus,
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
