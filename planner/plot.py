"""Every figure of the HTML report as a matplotlib Figure, from a result held in memory, for a
notebook or a script to show, restyle, combine or save::

    import planner
    res = planner.simulate(planner.load_scenario("alibaba-2024"), seed=0)
    planner.plot.utilisation_heatmap(res)          # a matplotlib.figure.Figure
    fig = planner.plot.queue(res); fig.axes[0].set_yscale("log"); fig.savefig("queue.svg")

A run's figures take a :class:`planner.RunResult` (or the report's
:class:`~planner.report.inputs.RunData`); a sweep's take the rows of :func:`planner.sweep` or
:func:`planner.read_sweep`; :func:`plan` takes a planning query's
:class:`~planner.experiments.plan.Answer`; :func:`tornado` the table of
:func:`planner.tornado`. The report draws each of its figures by calling these functions.

Figures are made without pyplot, on the Agg canvas, so they touch no global figure state; a
notebook shows one as the cell's value. matplotlib is imported when a figure is drawn, not
when this module is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from planner.report import cohort_value, draw_experiments, draw_run, fleet, search, sensitivity
from planner.report import credits as credit_data
from planner.report import exit as exit_data
from planner.report import failures as failure_data
from planner.report import prices as price_data
from planner.report import queue as queue_data
from planner.report import response as response_data
from planner.report import utilisation as utilisation_data
from planner.report import waits as waits_data
from planner.report.inputs import PlanData, RunData, SweepData, TornadoData, plan_data, run_data

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from planner.experiments.exit import ExitAnswer
    from planner.experiments.plan import Answer
    from planner.results import RunResult

__all__ = [
    "LEVEL",
    "cash_flow",
    "credits",
    "exit_curve",
    "failures",
    "in_service",
    "paired",
    "plan",
    "prices",
    "queue",
    "response",
    "tornado",
    "utilisation",
    "utilisation_heatmap",
    "value",
    "waits",
]

LEVEL = 0.95


def _run(result: RunResult | RunData) -> RunData:
    return result if isinstance(result, RunData) else run_data(result)


def in_service(result: RunResult | RunData) -> Figure:
    """GPUs in service by model over time, with export controls, deliveries, stopped orders and
    successor launches marked in lanes beneath."""
    data = _run(result)
    series = fleet.in_service_by_model(data.pool_timeseries)
    events = fleet.fleet_events(data.scenario, data.orders, data.cohorts)
    return draw_run.draw_in_service(series, events)


def utilisation(result: RunResult | RunData) -> Figure:
    """Monthly utilisation per pool (model and region) and for the fleet."""
    data = _run(result)
    monthly = utilisation_data.monthly_utilisation(data.pool_timeseries, data.scenario.horizon_h)
    return draw_run.draw_utilisation(monthly, utilisation_data.fleet_utilisation(monthly))


def utilisation_heatmap(result: RunResult | RunData) -> Figure:
    """Utilisation per pool and month as a grid of percentages."""
    data = _run(result)
    monthly = utilisation_data.monthly_utilisation(data.pool_timeseries, data.scenario.horizon_h)
    return draw_run.draw_heatmap(utilisation_data.heatmap(monthly))


def waits(result: RunResult | RunData, slo_h: float | None = None) -> Figure:
    """Monthly p50 and p95 waits per tenant class against each class's SLO: the scenario's
    ``slo.wait_p95_h``, or ``slo_h`` for every class."""
    data = _run(result)
    sc = data.scenario
    monthly = waits_data.monthly_waits(data.jobs, sc.start, sc.horizon_h)
    return draw_run.draw_waits(monthly, waits_data.slo_levels(sc, monthly, slo_h))


def queue(result: RunResult | RunData) -> Figure:
    """Jobs waiting by tenant class, and the GPUs they ask for by the pool each started on,
    daily averages stacked to the whole queue."""
    data = _run(result)
    by_class, by_pool = queue_breakdown(data)
    return draw_run.draw_queue(by_class, by_pool)


def queue_breakdown(data: RunData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`planner.report.queue.queued_by` by tenant class and by pool started on."""
    sc = data.scenario
    jobs = data.jobs
    classes = jobs["tenant_class"].astype(str).to_numpy(dtype=object)
    by_class = queue_data.queued_by(jobs, sc.start, sc.horizon_h, classes)
    by_pool = queue_data.queued_by(jobs, sc.start, sc.horizon_h, queue_data.job_pools(jobs))
    return by_class, by_pool


def credits(result: RunResult | RunData) -> Figure:
    """Each credit deal's balance, the burn it got against the burn it needed to use the grant
    by its expiry, and each forfeit marked as a loss. Raises ValueError without credit deals."""
    data = _run(result)
    sc = data.scenario
    deals = credit_data.credit_deals(sc)
    if not len(deals):
        raise ValueError(f"scenario {sc.name!r} has no credit deals")
    series = credit_data.burn_down(data.credit_ledger, data.credit_events, sc.start)
    rates = credit_data.burn_rates(data.credit_ledger, sc)
    return draw_run.draw_credits(series, deals, rates)


def prices(result: RunResult | RunData) -> Figure:
    """List price per GPU-hour by model, with its dated steps."""
    sc = _run(result).scenario
    return draw_run.draw_prices(price_data.price_curves(sc), price_data.price_events(sc))


def value(result: RunResult | RunData) -> Figure:
    """Per cohort, capex beside what came back: earned net of opex, internal value and resale or
    terminal value, none below zero. Raises ValueError for a run without cohorts."""
    data = _run(result)
    if not len(data.cohorts):
        raise ValueError("the run has no cohorts")
    return cohort_value.value_bars(data)


def cash_flow(result: RunResult | RunData) -> Figure:
    """Per cohort, cumulative net cash flow by month from its capex, with its cash and
    discounted payback dates marked. Raises ValueError for a run without cohorts."""
    data = _run(result)
    if not len(data.cohorts):
        raise ValueError("the run has no cohorts")
    return cohort_value.cumulative_cash(data)


def failures(result: RunResult | RunData) -> Figure:
    """GPUs down for repair, and goodput per cohort. Raises ValueError when failures are off."""
    data = _run(result)
    if data.scenario.failures is None:
        raise ValueError(f"failures are off in scenario {data.scenario.name!r}")
    down = failure_data.gpus_down(data.timeseries)
    goodput = failure_data.cohort_goodput(data.cohorts)
    fleet_goodput = data.summary.get("goodput")
    shown = float(fleet_goodput) if isinstance(fleet_goodput, int | float) else None
    return draw_run.draw_failures(down, goodput, shown)


def _rows(sweep: pd.DataFrame | SweepData) -> tuple[pd.DataFrame, Mapping[str, float]]:
    if isinstance(sweep, SweepData):
        return sweep.rows, sweep.slo_h
    return sweep, {}


def response(
    sweep: pd.DataFrame | SweepData,
    metrics: Sequence[str] | None = None,
    slo_h: Mapping[str, float] | None = None,
) -> Figure:
    """The headline metrics' means over replications against the swept parameter, with their
    95% intervals; a p95 wait's panel carries its class's SLO (``slo_h`` by class, or the
    sweep's scenario's). Raises ValueError when the rows hold none of the metrics."""
    rows, slos = _rows(sweep)
    chosen = response_data.headline_metrics(rows, metrics or response_data.HEADLINE_METRICS)
    if not chosen:
        raise ValueError("the rows hold none of the metrics")
    curves = response_data.response_curves(rows, chosen, LEVEL)
    x_param = response_data.x_parameter(rows)
    return draw_experiments.draw_response(
        curves, x_param, chosen, LEVEL, slo_h if slo_h is not None else slos
    )


def paired(
    sweep: pd.DataFrame | SweepData, baseline: int = 0, metrics: Sequence[str] | None = None
) -> Figure:
    """Each point's difference from point ``baseline``, replication by replication, with its
    Student t interval. Raises ValueError when the rows hold none of the metrics."""
    from planner.experiments.paired import paired_differences

    rows, _ = _rows(sweep)
    chosen = response_data.headline_metrics(rows, metrics or response_data.HEADLINE_METRICS)
    if not chosen:
        raise ValueError("the rows hold none of the metrics")
    diffs = paired_differences(rows, chosen, baseline, LEVEL)
    swept = response_data.parameters(rows)
    labels = [
        f"{int(row['point'])}: {point_label(row, swept)}"
        for _, row in diffs.drop_duplicates("point").iterrows()
    ]
    return draw_experiments.draw_paired(diffs, labels, chosen, LEVEL)


def point_label(row: pd.Series, params: Sequence[str]) -> str:
    """A sweep point by its parameters (``scheduler.kind=fifo``), or by its number."""
    if not params:
        return f"point {int(row['point'])}"
    return ", ".join(f"{p.removeprefix('param.')}={row[p]}" for p in params)


def plan(answer: Answer | PlanData) -> Figure:
    """The metric against the decision variable (GPUs, grant or price) at every candidate, with
    its interval, the target, the answer and today's value marked; a price query's objective
    beneath."""
    data = answer if isinstance(answer, PlanData) else plan_data(answer)
    return draw_experiments.draw_decision(search.search_path(data.evaluations), data)


def exit_curve(answer: ExitAnswer | pd.DataFrame, cohort: str | None = None) -> Figure:
    """A cohort's NPV against the month it is sold, the best month ringed and keeping it dashed:
    the answer of :func:`planner.plan.best_exit`, or its curve as ``exit_curve.csv`` holds it
    with the cohort's name."""
    if isinstance(answer, pd.DataFrame):
        return exit_data.exit_figure(answer, cohort or "the cohort")
    return exit_data.exit_figure(answer.curve, answer.cohort)


def tornado(table: pd.DataFrame | TornadoData, metric: str | None = None) -> Figure:
    """Each parameter's swing of the metric between the ends of its range, widest first."""
    if isinstance(table, TornadoData):
        metric = metric or table.metric
        table = table.table
    return draw_experiments.draw_tornado(sensitivity.tornado_bars(table), metric)
