"""Cross-field checks on a scenario: references, units that must fit, dates inside the horizon.

Every problem is collected and raised together, each with its field path, so a user fixes a file
in one pass.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from planner.catalog import known_models
from planner.scenario import directives
from planner.wording import counted

if TYPE_CHECKING:
    from planner.scenario.schema import (
        Cohort,
        Order,
        PriceCut,
        Reservation,
        Scenario,
        SuccessorLaunch,
        Tenant,
    )

Loc = tuple[str | int, ...]
Found = tuple[Loc, str]


def raise_if_inconsistent(sc: Scenario) -> None:
    """Raise a pydantic ``ValidationError`` listing every cross-field problem in ``sc``."""
    found = list(_problems(sc))
    if found:
        details = [
            InitErrorDetails(
                type=PydanticCustomError("scenario", "{reason}", {"reason": reason}),
                loc=loc,
                input=None,
            )
            for loc, reason in found
        ]
        raise ValidationError.from_exception_data("Scenario", details)


def _problems(sc: Scenario) -> Iterator[Found]:
    if sc.start.toordinal() + sc.horizon_days > date.max.toordinal():
        # Every other check counts days to the horizon's end, which is past the calendar's.
        days = counted(sc.horizon_days, "day")
        yield ("horizon_days",), f"{days} from {sc.start} run past {date.max}"
        return
    yield from _dates_near(sc)
    yield from _unique_names(sc)
    yield from _known_references(sc)
    yield from _whole_nodes(sc)
    yield from _grey_orders_have_a_market(sc)
    yield from _dates_in_horizon(sc)
    yield from _demand_can_be_drawn(sc)
    yield from _fleet_can_be_built(sc)
    for i, tenant in enumerate(sc.tenants):
        yield from _jobs_fit(sc, i, tenant)
    directive_problems = list(directives.problems(sc))
    yield from directive_problems
    yield from _reservations_fit(sc, [] if directive_problems else directives.expand(sc))
    yield from _initial_state_fits(sc)


# Prices, depreciation and growth compound from the start: a date centuries away is a typo,
# and would overflow them.
CENTURY_DAYS = 36_525


def _dates_near(sc: Scenario) -> Iterator[Found]:
    """Every date in the scenario lies within a century of the horizon."""
    for loc, day in _dates(sc, ()):
        if (sc.start - day).days > CENTURY_DAYS or (day - sc.end).days > CENTURY_DAYS:
            yield loc, f"{day} is more than a century from the horizon {sc.start} to {sc.end}"


def _dates(node: object, loc: Loc) -> Iterator[tuple[Loc, date]]:
    """(field path, date) for every date in a scenario section, at any depth."""
    if isinstance(node, date):
        yield loc, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _dates(getattr(node, name), (*loc, name))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _dates(item, (*loc, i))
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _dates(item, (*loc, str(key)))


def _unique_names(sc: Scenario) -> Iterator[Found]:
    groups: dict[str, list[str | None]] = {
        "regions": [r.name for r in sc.regions],
        "tenants": [t.name for t in sc.tenants],
        "fleet": [c.name for c in sc.fleet],
        "orders": [o.name for o in sc.orders],
        "directives": [d.name for d in sc.directives],
    }
    for field, names in groups.items():
        counts = Counter(n for n in names if n is not None)
        seen: set[str] = set()
        reported: set[str] = set()
        for i, name in enumerate(names):
            # Once per name, at its second use (the path shows the name, not the index).
            if name is not None and name in seen and name not in reported:
                reported.add(name)
                yield (field, i, "name"), f"name '{name}' is used {counts[name]} times"
            if name is not None:
                seen.add(name)


def _installations(sc: Scenario) -> list[tuple[str, Sequence[Cohort | Order]]]:
    return [("fleet", sc.fleet), ("orders", sc.orders)]


def _known_references(sc: Scenario) -> Iterator[Found]:
    models = set(known_models())
    regions = {r.name for r in sc.regions}
    model_list = ", ".join(known_models())
    region_list = ", ".join(sorted(regions))

    def model(loc: Loc, name: str) -> Iterator[Found]:
        if name not in models:
            yield loc, f"unknown GPU model '{name}'; known models: {model_list}"

    def region(loc: Loc, name: str) -> Iterator[Found]:
        if name not in regions:
            yield loc, f"unknown region '{name}'; regions in this scenario: {region_list}"

    for field, items in _installations(sc):
        for i, item in enumerate(items):
            yield from model((field, i, "model"), item.model)
            yield from region((field, i, "region"), item.region)
    tenants = {t.name for t in sc.tenants}
    for i, event in enumerate(sc.export_controls):
        for key, names in (("ban", event.ban), ("lift", event.lift)):
            for j, name in enumerate(names):
                yield from model(("export_controls", i, key, j), name)
        for j, name in enumerate(event.licence.models if event.licence else []):
            yield from model(("export_controls", i, "licence", "models", j), name)
        for j, name in enumerate(event.grey_market.models if event.grey_market else []):
            yield from model(("export_controls", i, "grey_market", "models", j), name)
        for k, bar in enumerate(event.restrict):
            for j, name in enumerate(bar.regions):
                yield from region(("export_controls", i, "restrict", k, "regions", j), name)
            for j, name in enumerate(bar.tenants):
                if name not in tenants:
                    yield (
                        ("export_controls", i, "restrict", k, "tenants", j),
                        f"unknown tenant '{name}'",
                    )
    for name in sc.market.prices:
        yield from model(("market", "prices", name), name)
    for name in sc.market.resale:
        yield from model(("market", "resale", name), name)
    yield from _sales_name_cohorts(sc)
    repricings: list[tuple[str, Sequence[SuccessorLaunch | PriceCut]]] = [
        ("successor_launches", sc.market.successor_launches),
        ("price_cuts", sc.market.price_cuts),
    ]
    for field, repricing in repricings:
        for i, change in enumerate(repricing):
            for j, name in enumerate(change.models or []):
                yield from model(("market", field, i, "models", j), name)
    for i, tenant in enumerate(sc.tenants):
        for j, name in enumerate(tenant.models):
            yield from model(("tenants", i, "models", j), name)
        for j, name in enumerate(tenant.regions or []):
            yield from region(("tenants", i, "regions", j), name)
        arrivals = tenant.workload.arrivals if tenant.workload is not None else None
        reference = getattr(arrivals, "reference_model", None)
        if reference is not None:
            yield from model(("tenants", i, "workload", "arrivals", "reference_model"), reference)
        if tenant.reservation is not None:
            yield from model(("tenants", i, "reservation", "model"), tenant.reservation.model)
            yield from region(("tenants", i, "reservation", "region"), tenant.reservation.region)
    warm = [("running", i, job.tenant) for i, job in enumerate(sc.initial_state.running)]
    warm += [("queue", i, job.tenant) for i, job in enumerate(sc.initial_state.queue)]
    for kind, i, name in warm:
        if name not in tenants:
            yield ("initial_state", kind, i, "tenant"), f"unknown tenant '{name}'"
    for i, running in enumerate(sc.initial_state.running):
        yield from model(("initial_state", "running", i, "model"), running.model)
        yield from region(("initial_state", "running", i, "region"), running.region)
    yield from _placement_pools(sc)


def _placement_pools(sc: Scenario) -> Iterator[Found]:
    """A pool's placement rule names a pool some cohort or order installs, once."""
    pools = {(item.model, item.region) for _, items in _installations(sc) for item in items}
    seen: set[tuple[str, str]] = set()
    for i, pool in enumerate(sc.placement.pools):
        key = (pool.model, pool.region)
        if key not in pools:
            yield (
                ("placement", "pools", i),
                f"no cohort or order installs {pool.model} in '{pool.region}'",
            )
        elif key in seen:
            yield ("placement", "pools", i), f"{pool.model} in '{pool.region}' is given twice"
        seen.add(key)


def _sales_name_cohorts(sc: Scenario) -> Iterator[Found]:
    """A sale names a fleet cohort, an order, or one of an order's tranches (``NAME-tK``)."""
    names = set(sc.cohort_names())
    for order, name in zip(sc.orders, sc.order_names(), strict=True):
        names.add(name)
        names.update(f"{name}-t{k + 1}" for k in range(order.tranches))
    for i, sale in enumerate(sc.finance.sell):
        if sale.cohort not in names:
            yield ("finance", "sell", i, "cohort"), f"unknown cohort '{sale.cohort}'"


def _grey_orders_have_a_market(sc: Scenario) -> Iterator[Found]:
    for i, order in enumerate(sc.orders):
        if order.channel != "grey":
            continue
        open_markets = [
            e
            for e in sc.export_controls
            if e.grey_market is not None
            and order.model in e.grey_market.models
            and e.effective <= order.ordered
        ]
        if not open_markets:
            yield (
                ("orders", i, "channel"),
                f"no grey market for {order.model} is open on {order.ordered}: add an "
                "export-control event with a 'grey_market' listing it",
            )


def _whole_nodes(sc: Scenario) -> Iterator[Found]:
    node_size = {r.name: r.gpus_per_node for r in sc.regions}
    for field, items in _installations(sc):
        for i, item in enumerate(items):
            size = node_size.get(item.region)
            parts = getattr(item, "tranches", 1)
            if size and item.gpus % (size * parts):
                what = f"{parts} tranches of whole" if parts > 1 else "a whole number of"
                yield (
                    (field, i, "gpus"),
                    f"{counted(item.gpus, 'GPU')} is not {what} {size}-GPU nodes in region "
                    f"'{item.region}'",
                )


def _dates_in_horizon(sc: Scenario) -> Iterator[Found]:
    start, end = sc.start, sc.end
    window = f"the horizon {start} to {end}"

    def inside(loc: Loc, day: date, allow_before: bool = False) -> Iterator[Found]:
        if day >= end or (day < start and not allow_before):
            yield loc, f"{day} is outside {window}"

    for i, cohort in enumerate(sc.fleet):
        yield from inside(("fleet", i, "acquired"), cohort.acquired, allow_before=True)
    for i, order in enumerate(sc.orders):
        yield from inside(("orders", i, "ordered"), order.ordered)
    for i, tenant in enumerate(sc.tenants):
        for j, campaign in enumerate(tenant.campaigns):
            yield from inside(("tenants", i, "campaigns", j, "submit"), campaign.submit)
        if tenant.credit is not None:
            yield from inside(("tenants", i, "credit", "granted"), tenant.credit.granted)
        if tenant.reservation is not None and tenant.reservation.start is not None:
            yield from inside(("tenants", i, "reservation", "start"), tenant.reservation.start)
        workload = tenant.workload
        if workload is not None:
            begin, until = workload.active_from or start, workload.active_until or end
            if begin >= end:
                yield (
                    ("tenants", i, "workload", "active_from"),
                    f"{begin} is on or after the horizon's end ({end}), so the workload would "
                    "submit no job",
                )
            elif until <= start:
                yield (
                    ("tenants", i, "workload", "active_until"),
                    f"{until} is on or before the horizon's start ({start}), so the workload "
                    "would submit no job",
                )


# Every job is drawn before a run starts and kept in the results: a few hundred bytes each, so
# beyond this many a run would not fit in memory (the benchmarks run 1e6 jobs).
MAX_EXPECTED_JOBS = 50_000_000


def _demand_can_be_drawn(sc: Scenario) -> Iterator[Found]:
    """A workload expecting more jobs over the horizon than a run can hold is refused before
    drawing them (a rate of 1e30 a day would otherwise fail deep inside the sampler)."""
    for i, tenant in enumerate(sc.tenants):
        expected = _log_expected_jobs(sc, tenant)
        if expected > math.log(MAX_EXPECTED_JOBS):
            yield (
                ("tenants", i, "workload", "arrivals", "per_day"),
                f"about {_power_of_ten(expected)} jobs over the horizon, more than the "
                f"{MAX_EXPECTED_JOBS:,} a run can hold",
            )


# Every node is modelled: ten million GPUs is several times the largest fleet any cloud runs,
# and takes a few seconds and a few hundred MB to build; 1e12 would exhaust memory.
MAX_FLEET_GPUS = 10_000_000


def _fleet_can_be_built(sc: Scenario) -> Iterator[Found]:
    """The fleet and orders together hold no more GPUs than a run can model."""
    installed = [(field, i, item) for field, items in _installations(sc) for i, item in
                 enumerate(items)]  # fmt: skip
    total = sum(item.gpus for _, _, item in installed)
    if total > MAX_FLEET_GPUS:
        field, i, _ = max(installed, key=lambda entry: entry[2].gpus)
        yield (
            (field, i, "gpus"),
            f"the fleet and orders hold {total:.3g} GPUs, more than the {MAX_FLEET_GPUS:,} a "
            "run can model",
        )


def _log_expected_jobs(sc: Scenario, tenant: Tenant) -> float:
    """Natural log of an upper bound on the jobs a generated workload submits over its
    active days (in logs, so no rate or growth overflows); minus infinity if none."""
    from planner.scenario.schema import HOURS_PER_YEAR, BurstyArrivals, Poisson

    workload = tenant.workload
    arrivals = workload.arrivals if workload is not None else None
    if workload is None or not isinstance(arrivals, Poisson | BurstyArrivals):
        return -math.inf
    begin = max(workload.active_from or sc.start, sc.start)
    until = min(workload.active_until or sc.end, sc.end)
    days = (until - begin).days
    if days <= 0:
        return -math.inf
    log_rate = math.log(arrivals.per_day)
    if isinstance(arrivals, Poisson):
        years = sc.horizon_h / HOURS_PER_YEAR
        log_rate += max(0.0, years * math.log1p(arrivals.annual_growth))
    elif arrivals.rate_profile is not None:
        log_rate += math.log(max(arrivals.rate_profile.factors))
    return log_rate + math.log(days)


def _power_of_ten(log_value: float) -> str:
    """``exp(log_value)`` in words that cannot overflow: ``1.2e+30``."""
    exponent = math.floor(log_value / math.log(10))
    mantissa = round(math.exp(log_value - exponent * math.log(10)), 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:g}e{exponent:+d}"


def largest_pod_gpus(sc: Scenario, tenant: Tenant) -> tuple[int, list[str]]:
    """The most GPUs one job of ``tenant`` could ever get, and the pools it may use.

    Each cohort (or delivered order) gets pods of its own, so a pod holds at most
    ``min(pod_gpus, cohort gpus)``.
    """
    allowed_regions = set(tenant.regions) if tenant.regions is not None else None
    best = 0
    pools: list[str] = []
    installed: list[Cohort | Order] = [*sc.fleet, *sc.orders]
    for item in installed:
        if item.model not in tenant.models:
            continue
        if allowed_regions is not None and item.region not in allowed_regions:
            continue
        pools.append(f"{item.model} in {item.region}")
        # Each tranche of an order arrives as a cohort of its own, in pods of its own.
        delivered = item.gpus // getattr(item, "tranches", 1)
        best = max(best, min(sc.region(item.region).pod_gpus, delivered))
    return best, sorted(set(pools))


def _references_known(sc: Scenario) -> bool:
    """Whether every cohort and order names a known model and region: what fits where is
    only worth checking then (otherwise the unknown names are the problem to report)."""
    models, regions = set(known_models()), {r.name for r in sc.regions}
    installed: list[Cohort | Order] = [*sc.fleet, *sc.orders]
    return all(item.model in models and item.region in regions for item in installed)


def _jobs_fit(sc: Scenario, i: int, tenant: Tenant) -> Iterator[Found]:
    if not ({r.name for r in sc.regions} >= set(tenant.regions or [])):
        return  # unknown regions are reported already
    if not _references_known(sc):
        return
    capacity, pools = largest_pod_gpus(sc, tenant)
    if not pools:
        if tenant.workload is not None or tenant.campaigns:
            where = ", ".join(tenant.regions) if tenant.regions else "any region"
            yield (
                ("tenants", i, "models"),
                f"no GPUs of {', '.join(tenant.models)} in {where} are in the fleet or on "
                "order, so no job of this tenant can ever run",
            )
        return
    if tenant.workload is not None and tenant.workload.gpus is not None:
        bound = tenant.workload.gpus.upper_bound()
        if math.isinf(bound):
            yield (
                ("tenants", i, "workload", "gpus"),
                f"a {tenant.workload.gpus.kind} GPU count is unbounded: set 'max' so every "
                "job can fit",
            )
        elif _node_rounded(sc, tenant, math.ceil(bound)) > capacity:
            yield (
                ("tenants", i, "workload", "gpus"),
                f"a job of up to {counted(math.ceil(bound), 'GPU')} can never fit: the largest pod "
                f"this tenant may use holds {counted(capacity, 'GPU')} ({'; '.join(pools)})",
            )
    for j, campaign in enumerate(tenant.campaigns):
        if _node_rounded(sc, tenant, campaign.gpus) > capacity:
            yield (
                ("tenants", i, "campaigns", j, "gpus"),
                f"a job of {counted(campaign.gpus, 'GPU')} can never fit: the largest pod this "
                f"tenant may use holds {counted(capacity, 'GPU')} ({'; '.join(pools)})",
            )


def whole_nodes(gpus: int, node_gpus: int) -> int:
    """GPUs a job holds: its own count on one node, or whole nodes when it needs more."""
    return gpus if gpus <= node_gpus else -(-gpus // node_gpus) * node_gpus


def _node_rounded(sc: Scenario, tenant: Tenant, gpus: int) -> int:
    return whole_nodes(gpus, sc.node_gpus(tenant))


def _may_use(tenant: Tenant, model: str, region: str) -> bool:
    return model in tenant.models and (tenant.regions is None or region in tenant.regions)


def pool_gpus(sc: Scenario, model: str, region: str, at_start: bool = False) -> int:
    """GPUs of ``model`` in ``region`` in the fleet and on order (or, with ``at_start``, only
    those in service at time zero)."""
    installed: list[Cohort | Order] = [*sc.fleet, *([] if at_start else sc.orders)]
    return sum(
        item.gpus
        for item in installed
        if item.model == model
        and item.region == region
        and (not at_start or getattr(item, "acquired", sc.start) <= sc.start)
    )


def _reservations_fit(sc: Scenario, held: Sequence[directives.Holding]) -> Iterator[Found]:
    """Each reservation is on a pool its tenant may use, and a pool's reservations, with those
    the directives hold (``held``), fit in it."""
    if {r.name for r in sc.regions} < {
        t.reservation.region for t in sc.tenants if t.reservation is not None
    }:
        return  # unknown regions are reported already
    spots: list[tuple[Loc, Reservation]] = []
    for i, tenant in enumerate(sc.tenants):
        spot = tenant.reservation
        if spot is None:
            continue
        loc: Loc = ("tenants", i, "reservation")
        if spot.take_or_pay is not None:
            yield from _take_or_pay_billable(sc, tenant, (*loc, "take_or_pay"))
        if not _may_use(tenant, spot.model, spot.region):
            yield loc, f"{spot.model} in {spot.region} is not a pool this tenant may use"
            continue
        spots.append(((*loc, "gpus"), spot))
    spots += [(("directives", h.directive, "share"), h.reservation) for h in held]
    total: Counter[tuple[str, str]] = Counter()
    for loc, spot in spots:
        total[(spot.model, spot.region)] += spot.gpus
        capacity = pool_gpus(sc, spot.model, spot.region)
        if total[(spot.model, spot.region)] > capacity:
            yield (
                loc,
                f"reservations of {spot.model} in {spot.region} add up to "
                f"{total[(spot.model, spot.region)]} GPUs, more than the {capacity} the fleet "
                "and orders hold there",
            )


def _take_or_pay_billable(sc: Scenario, tenant: Tenant, loc: Loc) -> Iterator[Found]:
    """Only the quota scheduler says which jobs run inside the quota a take-or-pay contract
    pays for, and only a paying tenant pays it in cash (credits and internal use are billed
    otherwise)."""
    if sc.scheduler.kind != "quota":
        yield (
            loc,
            (
                "a take-or-pay reservation needs scheduler.kind 'quota', not "
                f"'{sc.scheduler.kind}': only the quota scheduler runs jobs inside the GPUs "
                "the contract pays for"
            ),
        )
    if tenant.tenant_class != "paying":
        yield loc, f"only a tenant of class 'paying' may hold one, not '{tenant.tenant_class}'"


def _initial_state_fits(sc: Scenario) -> Iterator[Found]:
    """Running jobs fit their pools at time zero, and every job is one its tenant may run."""
    names = {t.name: t for t in sc.tenants}
    regions = {r.name: r for r in sc.regions}
    used: Counter[tuple[str, str]] = Counter()
    for i, job in enumerate(sc.initial_state.running):
        tenant, region = names.get(job.tenant), regions.get(job.region)
        if tenant is None or region is None:
            continue  # reported already
        loc: Loc = ("initial_state", "running", i)
        if not _may_use(tenant, job.model, job.region):
            yield loc, f"tenant '{job.tenant}' may not use {job.model} in {job.region}"
            continue
        used[(job.model, job.region)] += whole_nodes(job.gpus, region.gpus_per_node)
        capacity = pool_gpus(sc, job.model, job.region, at_start=True)
        if used[(job.model, job.region)] > capacity:
            yield (
                (*loc, "gpus"),
                f"running jobs on {job.model} in {job.region} hold "
                f"{used[(job.model, job.region)]} GPUs at time zero, more than the {capacity} "
                "in service then",
            )
    for i, queued in enumerate(sc.initial_state.queue):
        tenant = names.get(queued.tenant)
        if tenant is None or not _references_known(sc):
            continue
        capacity, pools = largest_pod_gpus(sc, tenant)
        if pools and _node_rounded(sc, tenant, queued.gpus) > capacity:
            yield (
                ("initial_state", "queue", i, "gpus"),
                f"a job of {counted(queued.gpus, 'GPU')} can never fit: the largest pod tenant "
                f"'{queued.tenant}' may use holds {counted(capacity, 'GPU')}",
            )
