"""Planning queries: the largest credit grant, the fewest GPUs, the best price and the most
GPUs on take-or-pay contract that keep a service level, each answered with an interval and the
record of evaluations that led to it;
and the month to sell a cohort (:func:`best_exit`, from :mod:`planner.experiments.exit`).

Every candidate is judged on the same replications (common random numbers): candidate x is
run for replications 0 .. reps-1 of one seed, so two candidates differ only by x, and the
search does not wander on noise. A candidate *meets* the service level at ``confidence`` when
the one-sided upper confidence bound of the metric's mean is within the target; demanding the
bound rather than the mean keeps a planner from staking an SLO on a lucky draw.

The grant and GPU queries search a monotone response by bisection: more credit demand only
lengthens queues, more GPUs only shorten them (in expectation; with common random numbers,
nearly path by path). The bisection keeps a bracket [meets, fails] and stops when it is
narrower than ``tol``. The price query maximises an objective that need not be monotone,
by golden-section search over the feasible prices.

A search can take minutes, so each query reports as it goes: ``progress(done, most)`` after
every run (runs finished, of at most ``most`` the search can need) and ``on_candidate(c)`` as
each candidate is decided.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from planner.catalog import gpu_model
from planner.errors import Problem, ScenarioError
from planner.experiments.evaluate import Evaluation, scenario_data
from planner.experiments.exit import ExitAnswer as ExitAnswer
from planner.experiments.exit import best_exit as best_exit
from planner.experiments.replicate import metric_ci, run_all
from planner.scenario.checks import pool_gpus
from planner.scenario.schema import Scenario
from planner.stats import Interval
from planner.summary import PAYING_BESIDES

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class Candidate:
    """One evaluated candidate: its value, the metric's interval, and whether it meets."""

    x: float
    interval: Interval
    meets: bool
    objective: Interval | None
    wall_s: float


@dataclass
class Answer:
    """A planning answer: the value found, the metric there, and how it was found.

    ``answer`` is None when even the most favourable end of the range fails. ``bracket`` is
    the last (meets, fails) pair for a bisection; the answer lies between them to ``tol``.
    ``variable`` names what was searched and ``unit`` its unit; ``today`` is the scenario's
    own value of it (None where it has none), and ``unit_cost_usd`` what one more unit costs
    where that is known (a GPU's capex).
    """

    question: str
    metric: str
    target: float
    confidence: float
    answer: float | None
    at_answer: Candidate | None
    bracket: tuple[float, float] | None
    reps: int
    seed: int
    evaluations: list[Candidate] = field(default_factory=list)
    wall_s: float = 0.0
    variable: str = ""
    unit: str = ""
    today: float | None = None
    unit_cost_usd: float | None = None
    objective: str | None = None  # the summary key judged beside the metric at each candidate

    def table(self) -> pd.DataFrame:
        """The evaluations in the order they were made."""
        return pd.DataFrame(
            [
                {
                    "step": i,
                    "x": c.x,
                    "metric_mean": c.interval.mean,
                    "metric_low": c.interval.low,
                    "metric_high": c.interval.high,
                    "metric_interval": c.interval.method,
                    "meets": c.meets,
                    "objective_mean": c.objective.mean if c.objective else math.nan,
                    "wall_s": c.wall_s,
                }
                for i, c in enumerate(self.evaluations)
            ]
        )


class _Judge:
    """Evaluates candidates on common random numbers, remembering each one."""

    def __init__(
        self,
        scenario: Scenario,
        overrides_at: Callable[[float], Mapping[str, Any]],
        metric: str,
        target: float,
        *,
        confidence: float,
        reps: int,
        seed: int,
        workers: int,
        objective: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_candidate: Callable[[Candidate], None] | None = None,
    ) -> None:
        if not 0.5 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
        if reps < 2:
            raise ValueError("a planning query needs at least 2 replications per candidate")
        self.data = scenario_data(scenario)
        self.scenario = scenario
        self.overrides_at = overrides_at
        self.metric, self.target, self.objective = metric, target, objective
        self.confidence, self.reps, self.seed, self.workers = confidence, reps, seed, workers
        self.progress, self.on_candidate = progress, on_candidate
        self.most = 0  # the most candidates the search can try: set by it, for progress
        self.seen: dict[float, Candidate] = {}
        self.order: list[Candidate] = []

    def check(self, x: float) -> None:
        """Fail early, with the field path, if ``x`` gives an invalid scenario."""
        self.scenario.with_overrides(dict(self.overrides_at(x)))

    def __call__(self, x: float) -> Candidate:
        if x in self.seen:
            return self.seen[x]
        began = time.perf_counter()
        overrides = dict(self.overrides_at(x))
        needed = (self.metric,) if self.objective is None else (self.metric, self.objective)
        jobs = [
            Evaluation(self.data, overrides, self.seed, r, metrics=needed) for r in range(self.reps)
        ]
        rows = run_all(jobs, self.workers, self._ran)
        values = [float(row.get(self.metric, math.nan)) for row in rows]
        if any(math.isnan(v) for v in values):
            raise ValueError(f"metric '{self.metric}' is not defined in every replication")
        if any(math.isinf(v) for v in values):
            # Unbounded in some replication (e.g. most jobs turned away): it cannot meet.
            inf = math.inf
            interval = Interval(inf, inf, inf, len(values), 2.0 * self.confidence - 1.0)
        else:
            # A two-sided interval at 2c - 1 has its upper end at the one-sided c bound.
            interval = metric_ci(self.metric, values, 2.0 * self.confidence - 1.0)
        objective = None
        if self.objective is not None:
            objective_values = [float(row[self.objective]) for row in rows]
            objective = metric_ci(self.objective, objective_values, 0.95)
        found = Candidate(
            x, interval, interval.high <= self.target, objective, time.perf_counter() - began
        )
        self.seen[x] = found
        self.order.append(found)
        if self.on_candidate is not None:
            self.on_candidate(found)
        return found

    def _ran(self, done: int, _total: int) -> None:
        """Runs finished in the whole search, of at most ``most`` candidates' worth."""
        if self.progress is not None:
            most = max(self.most, len(self.order) + 1)
            self.progress(len(self.order) * self.reps + done, most * self.reps)


def _bisect(
    judge: _Judge, meets_end: float, fails_end: float, tol: float, step: float | None
) -> tuple[float | None, tuple[float, float] | None]:
    """Bisect between an end that should meet and one that should fail.

    Returns the last value that meets (None if ``meets_end`` fails) and the final bracket.
    With ``step``, candidates are multiples of it (whole nodes, whole dollars).
    """
    # Both ends, then halvings until the bracket is within the resolution; rounding to a step
    # can cost one more.
    span, resolution = abs(fails_end - meets_end), max(tol, step or 0.0)
    halvings = math.ceil(math.log2(span / resolution)) + 1 if span > resolution > 0 else 0
    judge.most = 2 + halvings
    if not judge(meets_end).meets:
        return None, None
    if judge(fails_end).meets:
        return fails_end, None
    good, bad = meets_end, fails_end
    while abs(bad - good) > max(tol, step or 0.0):
        mid = (good + bad) / 2.0
        if step:
            mid = round(mid / step) * step
            if mid in (good, bad):
                break
        if judge(mid).meets:
            good = mid
        else:
            bad = mid
    return good, (good, bad)


def _answer(
    judge: _Judge,
    question: str,
    found: float | None,
    bracket: tuple[float, float] | None,
    began: float,
    **decision: Any,
) -> Answer:
    return Answer(
        question=question,
        metric=judge.metric,
        target=judge.target,
        confidence=judge.confidence,
        answer=found,
        at_answer=judge.seen.get(found) if found is not None else None,
        bracket=bracket,
        reps=judge.reps,
        seed=judge.seed,
        evaluations=list(judge.order),
        wall_s=time.perf_counter() - began,
        **decision,
    )


def slo_target(scenario: Scenario, metric: str) -> float:
    """The scenario's p95 wait SLO for the tenant class of a p95 wait ``metric``."""
    kind, _, cls = metric.rpartition(".")
    levels = {str(c): hours for c, hours in scenario.slo.wait_p95_h.items()}
    slo = levels.get(cls) if kind.startswith("wait_p95_h") else None
    if slo is None:
        raise ScenarioError(
            "plan grant",
            [Problem("slo.wait_p95_h", f"no service level for {metric}: give a target")],
        )
    return float(slo)


def largest_grant(
    scenario: Scenario,
    tenant: str,
    *,
    target_h: float | None = None,
    metric: str = "wait_p95_h_offered.paying",
    high_usd: float | None = None,
    tol_usd: float = 5e6,
    scale_demand: bool = True,
    confidence: float = 0.95,
    reps: int = 8,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> Answer:
    """The largest credit grant for ``tenant`` that keeps ``metric`` within ``target_h``
    (default: the scenario's ``slo.wait_p95_h`` for the metric's tenant class).

    Searches grants from 0 to ``high_usd`` (default: four times the current grant). The grant
    is set as ``amount_usd``; a grant sized by investment and share is replaced by the amount.
    With ``scale_demand`` (the default) the deal buys compute in proportion to its size: the
    tenant's workload arrival rate scales by grant / current grant. Without it only the money
    changes, which moves queues only if the tenant's ``after`` rule ties its demand to credits.
    """
    began = time.perf_counter()
    if target_h is None:
        target_h = slo_target(scenario, metric)
    found_tenant = _tenant(scenario, tenant)
    current = found_tenant.credit
    if current is None:
        raise ScenarioError(
            "plan grant", [Problem(f"tenants.{tenant}.credit", "this tenant has no credit grant")]
        )
    high = high_usd if high_usd is not None else 4.0 * current.amount_usd
    base = f"tenants.{tenant}.credit"
    workload = found_tenant.workload if scale_demand else None
    if workload is not None and not hasattr(workload.arrivals, "per_day"):
        workload = None  # a replayed trace has no rate to scale

    def overrides(amount: float) -> dict[str, Any]:
        # A grant of zero is not a grant: the smallest is one dollar.
        amount = max(amount, 1.0)
        changes: dict[str, Any] = {
            f"{base}.amount_usd": amount,
            f"{base}.investment_usd": None,
            f"{base}.credit_share": None,
        }
        if workload is not None:
            per_day = workload.arrivals.per_day * amount / current.amount_usd
            changes[f"tenants.{tenant}.workload.arrivals.per_day"] = per_day
        return changes

    judge = _Judge(
        scenario, overrides, metric, target_h,
        confidence=confidence, reps=reps, seed=seed, workers=workers,
        progress=progress, on_candidate=on_candidate,
    )  # fmt: skip
    judge.check(high)
    found, bracket = _bisect(judge, 0.0, high, tol_usd, step=1.0)
    return _answer(
        judge, f"largest credit grant for {tenant}", found, bracket, began,
        variable=f"credit grant for {tenant}", unit="USD", today=current.amount_usd,
    )  # fmt: skip


def fewest_gpus(
    scenario: Scenario,
    cohort: str,
    *,
    target: float,
    metric: str = "wait_p95_h_offered.paying",
    low_gpus: int | None = None,
    high_gpus: int | None = None,
    also: Callable[[int], Mapping[str, Any]] | None = None,
    confidence: float = 0.95,
    reps: int = 8,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> Answer:
    """The fewest GPUs in fleet cohort ``cohort`` (its name or index) that keep ``metric``
    within ``target``: how many to add, or how few to keep.

    Candidates are whole nodes, from ``low_gpus`` (default one node) to ``high_gpus``
    (default four times the cohort). ``also(gpus)`` may give further overrides that must move
    with the count (a pod size, say).
    """
    began = time.perf_counter()
    index = _cohort_index(scenario, cohort)
    item = scenario.fleet[index]
    node = scenario.region(item.region).gpus_per_node
    low = low_gpus if low_gpus is not None else node
    high = high_gpus if high_gpus is not None else 4 * item.gpus

    def overrides(gpus: float) -> dict[str, Any]:
        count = round(gpus)
        return {f"fleet.{index}.gpus": count, **(also(count) if also else {})}

    judge = _Judge(
        scenario, overrides, metric, target,
        confidence=confidence, reps=reps, seed=seed, workers=workers,
        progress=progress, on_candidate=on_candidate,
    )  # fmt: skip
    judge.check(high)
    judge.check(low)
    found, bracket = _bisect(judge, float(high), float(low), 0.0, step=float(node))
    name = scenario.cohort_names()[index]
    return _answer(
        judge, f"fewest GPUs in cohort {cohort}", found, bracket, began,
        variable=f"GPUs in cohort {name}", unit="GPUs", today=float(item.gpus),
        unit_cost_usd=item.unit_capex_usd or gpu_model(item.model).ref_capex_usd,
    )  # fmt: skip


def best_price(
    scenario: Scenario,
    model: str,
    *,
    low_usd: float,
    high_usd: float,
    objective: str = "revenue_usd",
    metric: str = "wait_p95_h_offered.paying",
    target: float = math.inf,
    tol_usd: float = 0.05,
    confidence: float = 0.95,
    reps: int = 8,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> Answer:
    """The list price of ``model`` in [low, high] that maximises ``objective`` (its mean),
    among prices whose ``metric`` stays within ``target``. Golden-section search: the
    objective is taken to have one peak over the range."""
    began = time.perf_counter()
    path = f"market.prices.{model}.usd_per_gpu_h"
    judge = _Judge(
        scenario, lambda price: {path: price}, metric, target,
        confidence=confidence, reps=reps, seed=seed, workers=workers, objective=objective,
        progress=progress, on_candidate=on_candidate,
    )  # fmt: skip
    judge.check(low_usd)

    def score(price: float) -> float:
        found = judge(price)
        if found.objective is None:
            raise RuntimeError("a price search judges an objective at every candidate")
        return found.objective.mean if found.meets else -math.inf

    a, b = low_usd, high_usd
    # Each step shrinks the bracket by GOLDEN and tries one new price (the first step two).
    steps = math.ceil(math.log(tol_usd / (b - a)) / math.log(GOLDEN)) if b - a > tol_usd else 0
    judge.most = steps + 1 if steps else 0
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    while b - a > tol_usd:
        if score(c) >= score(d):
            b, d = d, c
            c = b - GOLDEN * (b - a)
        else:
            a, c = c, d
            d = a + GOLDEN * (b - a)
    feasible = [x for x in judge.seen if judge.seen[x].meets]
    found = max(feasible, key=score) if feasible else None
    listed = scenario.market.prices.get(model)
    return _answer(
        judge, f"best price for {model} by {objective}", found, (a, b), began,
        variable=f"{model} list price", unit="USD per GPU-hour",
        today=listed.usd_per_gpu_h if listed is not None else None, objective=objective,
    )  # fmt: skip


def largest_contract(
    scenario: Scenario,
    tenant: str,
    *,
    model: str | None = None,
    region: str | None = None,
    price_usd_per_gpu_h: float | None = None,
    start: date | None = None,
    end: date | None = None,
    target_h: float | None = None,
    high_gpus: int | None = None,
    confidence: float = 0.95,
    reps: int = 8,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> Answer:
    """The most GPUs ``tenant`` may commit to take or pay for before the other paying
    customers' p95 wait (offered: ``wait_p95_h_offered.paying_besides.<tenant>``) breaks
    ``target_h`` (default: the scenario's ``slo.wait_p95_h.paying``), with the fleet NPV at
    every candidate.

    The contract is a ``reservation`` with ``take_or_pay``; its terms default to the tenant's
    own reservation, else its first model in the first region with a pool of it, the whole
    horizon, and the model's list price at the ``reserved`` tier. Candidates are whole nodes,
    from one node to ``high_gpus`` (default: the pool, less other tenants' reservations on
    it). The tenant's demand stays as it is: the question is what holding GPUs for it costs
    everyone else. It needs the ``quota`` scheduler, the only one that holds them.
    """
    began = time.perf_counter()
    found_tenant = _tenant(scenario, tenant)
    where = f"tenants.{tenant}.reservation"
    if scenario.scheduler.kind != "quota":
        raise ScenarioError(
            "plan contract",
            [Problem("scheduler.kind", f"a take-or-pay contract needs the 'quota' scheduler, "
                     f"not '{scenario.scheduler.kind}' (try --set scheduler.kind=quota)")],
        )  # fmt: skip
    if found_tenant.tenant_class != "paying":
        raise ScenarioError(
            "plan contract",
            [Problem(f"tenants.{tenant}", "only a paying tenant may hold a take-or-pay contract")],
        )
    held = found_tenant.reservation
    terms = _contract_terms(scenario, found_tenant, model, region)
    model, region = terms
    price = price_usd_per_gpu_h
    if price is None and held is not None and held.take_or_pay is not None:
        price = held.take_or_pay.price_usd_per_gpu_h
    if price is None:
        listed = scenario.market.prices.get(model)
        list_usd = (
            listed.usd_per_gpu_h if listed is not None else gpu_model(model).ref_usd_per_gpu_h
        )
        price = list_usd * scenario.market.tiers.reserved
    start = start or (held.start if held is not None else None)
    end = end or (held.end if held is not None else None)
    node = scenario.region(region).gpus_per_node
    others = sum(
        t.reservation.gpus
        for t in scenario.tenants
        if t.name != tenant
        and t.reservation is not None
        and (t.reservation.model, t.reservation.region) == (model, region)
    )
    room = pool_gpus(scenario, model, region) - others
    high = high_gpus if high_gpus is not None else (room // node) * node
    if high < node:
        raise ScenarioError(
            "plan contract",
            [Problem(where, f"{model} in {region} has {room} GPUs free of other reservations, "
                     f"less than one node of {node}")],
        )  # fmt: skip
    if target_h is None:
        target_h = slo_target(scenario, "wait_p95_h_offered.paying")

    def overrides(gpus: float) -> dict[str, Any]:
        spot: dict[str, Any] = {
            "gpus": round(gpus),
            "model": model,
            "region": region,
            "take_or_pay": {"price_usd_per_gpu_h": price},
        }
        if start is not None:
            spot["start"] = start.isoformat()
        if end is not None:
            spot["end"] = end.isoformat()
        return {where: spot}

    judge = _Judge(
        scenario, overrides, f"{PAYING_BESIDES}.{tenant}", target_h,
        confidence=confidence, reps=reps, seed=seed, workers=workers, objective="npv_usd",
        progress=progress, on_candidate=on_candidate,
    )  # fmt: skip
    judge.check(float(high))
    found, bracket = _bisect(judge, float(node), float(high), 0.0, step=float(node))
    return _answer(
        judge, f"most GPUs {tenant} may commit to take or pay for ({model} in {region} at "
        f"${price:.2f}/GPU-h)", found, bracket, began,
        variable=f"GPUs of {model} in {region} on take-or-pay for {tenant}", unit="GPUs",
        today=float(held.gpus) if held is not None else None, objective="npv_usd",
    )  # fmt: skip


def _contract_terms(
    scenario: Scenario, tenant: Any, model: str | None, region: str | None
) -> tuple[str, str]:
    """The pool of a contract: as given, else the tenant's reservation's, else its first
    model in the first region with a pool of that model it may use."""
    held = tenant.reservation
    model = model or (held.model if held is not None else tenant.models[0])
    if region is None:
        if held is not None and held.model == model:
            region = held.region
        else:
            region = next(
                (
                    c.region
                    for c in scenario.fleet
                    if c.model == model and (tenant.regions is None or c.region in tenant.regions)
                ),
                None,
            )
    if region is None:
        raise ScenarioError(
            "plan contract",
            [Problem("region", f"no pool of {model} that {tenant.name} may use: give --region")],
        )
    return model, region


def _tenant(scenario: Scenario, name: str) -> Any:
    for tenant in scenario.tenants:
        if tenant.name == name:
            return tenant
    names = ", ".join(t.name for t in scenario.tenants)
    raise ScenarioError("plan", [Problem("tenant", f"unknown tenant '{name}'; tenants: {names}")])


def _cohort_index(scenario: Scenario, cohort: str) -> int:
    names = scenario.cohort_names()
    if cohort in names:
        return names.index(cohort)
    if cohort.isdigit() and int(cohort) < len(names):
        return int(cohort)
    raise ScenarioError(
        "plan", [Problem("cohort", f"unknown cohort '{cohort}'; cohorts: {', '.join(names)}")]
    )
