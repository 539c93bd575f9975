"""Supply: when each cohort enters service, and what export controls do to orders in flight.

With fixed lead times and dated events the outcome of every order is known before the run, so it
is computed here as a plain function and the engine only replays it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from planner.catalog import gpu_model
from planner.model.sampling import draw
from planner.model.streams import Streams
from planner.scenario.schema import (
    HOURS_PER_DAY,
    ExportControl,
    GreyMarket,
    Licence,
    Order,
    Scenario,
)

OrderStatus = Literal[
    "delivered", "cancelled", "frozen", "denied", "capped", "over_cap", "in_transit"
]


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
    outcomes = [o for j in range(len(sc.orders)) for o in _order_outcomes(sc, j, streams)]
    outcomes = _within_region_caps(sc, cohorts, outcomes)
    order_of = {o: j for j in range(len(sc.orders)) for o in _tranche_names(sc, j)}
    for outcome in outcomes:
        if outcome.status != "delivered":
            continue
        order = sc.orders[order_of[outcome.name]]
        unit_capex = order.unit_capex_usd or gpu_model(order.model).ref_capex_usd
        market = _grey_market_for(sc, order) if order.channel == "grey" else None
        cohorts.append(
            CohortPlan(
                index=len(cohorts),
                name=outcome.name,
                model=order.model,
                region=order.region,
                gpus=outcome.gpus,
                in_service_h=outcome.at_h,
                unit_capex_usd=unit_capex * (1.0 + (market.premium if market else 0.0)),
                opex_usd_per_gpu_h=order.opex_usd_per_gpu_h,
                source="order",
            )
        )
    return cohorts, outcomes


def _tranche_names(sc: Scenario, j: int) -> list[str]:
    order, name = sc.orders[j], sc.order_names()[j]
    return [name] if order.tranches == 1 else [f"{name}-t{k + 1}" for k in range(order.tranches)]


def _order_outcomes(sc: Scenario, j: int, streams: Streams) -> list[OrderOutcome]:
    """One outcome per tranche of order ``j``; each tranche meets the controls on its own.

    A grey-market order is not stopped by bans or licences, but waits longer and counts
    against its market's quarterly volume cap (orders are served in scenario order).
    """
    order, name = sc.orders[j], sc.order_names()[j]
    ordered_h = sc.hours_since_start(order.ordered)
    if isinstance(order.lead_days, float | int):
        lead_days = float(order.lead_days)
    else:
        lead_days = float(draw(order.lead_days, streams.get(f"lead/{name}"), 1)[0])
    market = _grey_market_for(sc, order) if order.channel == "grey" else None
    if market is not None:
        lead_days += market.extra_lead_days
        if _grey_quarter_gpus(sc, j) + order.gpus > market.cap_gpus_per_quarter:
            return [
                OrderOutcome(
                    t,
                    order.model,
                    order.region,
                    order.gpus // order.tranches,
                    ordered_h,
                    math.nan,
                    "capped",
                    ordered_h,
                    "grey market cap",
                )
                for t in _tranche_names(sc, j)
            ]
    outcomes = []
    for k, tranche in enumerate(_tranche_names(sc, j)):
        due_h = ordered_h + (lead_days + k * order.tranche_every_days) * HOURS_PER_DAY
        gpus = order.gpus // order.tranches
        if market is not None:
            outcomes.append(_order_outcome(sc, j, tranche, gpus, due_h, grey=True))
        else:
            outcome = _order_outcome(sc, j, tranche, gpus, due_h)
            outcomes.append(_licensed(sc, outcome, streams))
    return outcomes


def _grey_market_for(sc: Scenario, order: Order) -> GreyMarket | None:
    """The grey market open for the order's model when it was ordered (the latest opened)."""
    found = None
    for event in sorted(sc.export_controls, key=lambda e: e.effective):
        if event.effective > order.ordered:
            break
        if event.grey_market is not None and order.model in event.grey_market.models:
            found = event.grey_market
    return found


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3


def _grey_quarter_gpus(sc: Scenario, j: int) -> int:
    """Grey GPUs of the same model ordered earlier (in scenario order) in order j's quarter."""
    order = sc.orders[j]
    return sum(
        o.gpus
        for o in sc.orders[:j]
        if o.channel == "grey"
        and o.model == order.model
        and _quarter(o.ordered) == _quarter(order.ordered)
    )


def _within_region_caps(
    sc: Scenario, installed: list[CohortPlan], outcomes: list[OrderOutcome]
) -> list[OrderOutcome]:
    """Refuse deliveries that would take a region past its GPU or power cap.

    Deliveries are considered in time order, on top of the starting fleet. Retirements are
    not credited back: a cap is on what a site was built to hold.
    """
    gpus = {r.name: 0 for r in sc.regions}
    power_mw = {r.name: 0.0 for r in sc.regions}
    for c in installed:
        gpus[c.region] += c.gpus
        power_mw[c.region] += _power_mw(sc, c.model, c.gpus)
    result = list(outcomes)
    order = sorted(
        (i for i, o in enumerate(outcomes) if o.status == "delivered"),
        key=lambda i: outcomes[i].at_h,
    )
    for i in order:
        o = outcomes[i]
        region = sc.region(o.region)
        more_mw = _power_mw(sc, o.model, o.gpus)
        over_gpus = region.max_gpus is not None and gpus[o.region] + o.gpus > region.max_gpus
        over_power = (
            region.max_power_mw is not None and power_mw[o.region] + more_mw > region.max_power_mw
        )
        if over_gpus or over_power:
            result[i] = replace(o, status="over_cap", control=f"cap of region {o.region}")
            continue
        gpus[o.region] += o.gpus
        power_mw[o.region] += more_mw
    return result


def _power_mw(sc: Scenario, model: str, gpus: int) -> float:
    m = sc.market
    return gpus * gpu_model(model).tdp_w * m.server_power_factor * m.pue / 1e6


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


def _order_outcome(
    sc: Scenario, j: int, name: str, gpus: int, due_h: float, grey: bool = False
) -> OrderOutcome:
    """What bans and lifts do to one delivery of ``gpus`` GPUs of order ``j`` due at ``due_h``
    (nothing, for a delivery through the grey market)."""
    order = sc.orders[j]
    ordered_h = sc.hours_since_start(order.ordered)
    events = sorted(
        (
            e
            for e in sc.export_controls
            if not grey and (order.model in e.ban or order.model in e.lift)
        ),
        key=lambda e: e.effective,
    )

    deliver_h = due_h
    frozen_by: str | None = None
    last_control: str | None = "grey market" if grey else None
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
