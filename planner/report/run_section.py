"""A run's section of the report: each figure's data, its drawing, a caption stating its key
numbers, and the data beneath it as monthly (or per-cohort) tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from planner.analysis.pools import pools
from planner.report import (
    credits,
    draw_run,
    failures,
    fleet,
    prices,
    queue,
    revenue,
    utilisation,
    value,
)
from planner.report import waits as waits_data
from planner.report.figure import Figure, Item, Note, Section, extreme_row
from planner.report.formats import day, finite, hours, month, num, pct, price, usd
from planner.report.inputs import RunData
from planner.wording import counted

CLASSES = ("paying", "credit", "internal")


def run_section(data: RunData, slo_h: float | None = None) -> Section:
    """Every figure of one run, in the order a capacity review reads them."""
    sc = data.scenario
    items: list[Item] = [
        in_service_figure(data),
        utilisation_figure(data),
        waits_figure(data, slo_h),
        queue_figure(data),
        credits_figure(data),
        prices_figure(data),
        value_figure(data),
        failures_figure(data),
    ]
    about = (
        f"{sc.name}, seed {data.seed}: {sc.start} to {sc.end} ({sc.horizon_days:g} days), "
        f"scheduler {sc.scheduler.kind}."
    )
    summary = data.summary
    by_class = waits_data.class_waits(summary)
    offered = dict(zip(by_class["tenant_class"], by_class["offered_p95_wait_h"], strict=True))
    facts = (
        ("utilisation", pct(summary.get("utilisation"))),
        ("jobs submitted", num(summary.get("jobs_submitted"))),
        ("p95 wait, paying", _hours_or_missing(summary.get("wait_p95_h.paying"))),
        (
            "p95 wait offered, paying (jobs turned away never start)",
            _hours_or_missing(offered.get("paying")),
        ),
        ("jobs turned away (balked or lost to churn)", num(by_class["jobs_turned_away"].sum())),
        ("revenue (cash + credits burned)", usd(summary.get("revenue_usd"))),
        ("  of it, cash", usd(summary.get("revenue_cash_usd"))),
        ("  of it, credits burned", usd(summary.get("revenue_credit_usd"))),
        (
            "revenue, escrow view (cash + credits when granted)",
            usd(summary.get("revenue_escrow_view_usd")),
        ),
        ("fleet capex", usd(summary.get("capex_usd"))),
        (
            "capex earned back, gross, to obsolescence or horizon",
            pct(summary.get("capex_monetised_share")),
        ),
        (
            "of it, cohorts obsolete within the horizon",
            pct(summary.get("capex_monetised_share_to_obsolescence")),
        ),
        ("stranded book value", usd(summary.get("stranded_book_value_usd"))),
    )
    return Section("run", f"Run: {sc.name}", about, facts, tuple(items))


def in_service_figure(data: RunData) -> Figure:
    """GPUs in service by model, with the events that changed the fleet."""
    sc = data.scenario
    series = fleet.in_service_by_model(data.pool_timeseries)
    events = fleet.fleet_events(sc, data.orders, data.cohorts)
    totals = series.groupby("date", sort=True)["in_service_gpus"].sum()
    parts = []
    if len(totals):
        first = series[series["date"] == totals.index[0]]
        last = series[series["date"] == totals.index[-1]]
        peak_on = totals.index[int(np.argmax(totals.to_numpy()))]
        parts.append(
            f"GPUs in service (daily time-average) start at {num(totals.iloc[0])} "
            f"({_by_model(first)}), peak at {num(totals.max())} on {day(peak_on)} and end "
            f"at {num(totals.iloc[-1])} ({_by_model(last)})."
        )
    counts = events["kind"].value_counts()
    delivered = data.cohorts.loc[data.cohorts["in_service_from_h"] > 0, "gpus"].sum()
    parts.append(
        f"Marked: {counted(counts.get('export control', 0), 'export-control event')}, "
        f"{counted(counts.get('delivery', 0), 'delivery', 'deliveries')} ({num(delivered)} GPUs), "
        f"{counted(counts.get('order stopped', 0), 'order')} cancelled, frozen or denied, and "
        f"{counted(counts.get('successor launch', 0), 'successor launch', 'successor launches')} "
        "within the horizon."
    )
    table = fleet.monthly_in_service(series)
    return Figure(
        "in-service",
        "GPUs in service by model",
        " ".join(parts),
        draw_run.draw_in_service(series, events),
        (("monthly mean GPUs in service", table), ("events", events)),
    )


def utilisation_figure(data: RunData) -> Figure:
    """Monthly utilisation per pool and for the fleet."""
    monthly = utilisation.monthly_utilisation(data.pool_timeseries, data.scenario.horizon_h)
    whole = utilisation.fleet_utilisation(monthly)
    totals = utilisation.pool_totals(monthly).dropna(subset=["utilisation"])
    parts = [
        f"Fleet utilisation over the horizon: {pct(data.summary.get('utilisation'))} "
        "(busy / in-service GPU-hours)."
    ]
    if len(totals):
        hi = extreme_row(totals, "utilisation")
        lo = extreme_row(totals, "utilisation", largest=False)
        parts.append(
            f"By pool, from {lo['pool']} at {pct(lo['utilisation'])} to {hi['pool']} at "
            f"{pct(hi['utilisation'])}."
        )
    served = monthly.dropna(subset=["utilisation"])
    if len(served):
        worst = extreme_row(served, "utilisation", largest=False)
        parts.append(
            f"Lowest pool-month: {worst['pool']} in {month(worst['month'])} at "
            f"{pct(worst['utilisation'])}."
        )
    table = utilisation.utilisation_table(monthly)
    table["fleet utilisation"] = (
        whole.set_index("month")["utilisation"].reindex(table["month"]).to_numpy()
    )
    return Figure(
        "utilisation",
        "Utilisation by GPU model and region",
        " ".join(parts),
        draw_run.draw_utilisation(monthly, whole),
        (
            ("monthly utilisation", table),
            # Use and value per pool over its cohorts, with the placement rule that spread them.
            ("per pool, over the horizon", pools(data.scenario, data.cohorts)),
        ),
    )


def waits_figure(data: RunData, slo_h: float | None) -> Figure:
    """Monthly p50 and p95 waits per tenant class, against each class's SLO: the scenario's,
    or ``slo_h`` for every class when given."""
    sc = data.scenario
    monthly = waits_data.monthly_waits(data.jobs, sc.start, sc.horizon_h)
    summary = data.summary
    overall = [
        f"{cls} {hours(summary.get(f'wait_p95_h.{cls}'))} h"
        for cls in CLASSES
        if finite(summary.get(f"wait_p95_h.{cls}")) is not None
    ]
    parts = [
        "Waits by month of submission; jobs still queued at the horizon count as waiting until "
        "then, so late months' percentiles are lower bounds."
    ]
    if overall:
        parts.append("Over the whole horizon, p95 waits: " + ", ".join(overall) + ".")
    by_class = waits_data.class_waits(summary)
    away = by_class[by_class["jobs_turned_away"] > 0]
    if len(away):
        parts.append(
            "Counting jobs turned away (balked, or lost after their tenant churned) as never "
            "starting, the p95 wait offered: "
            + ", ".join(
                f"{row.tenant_class} {_hours_or_missing(row.offered_p95_wait_h)} "
                f"({num(row.jobs_turned_away)} turned away)"
                for row in away.itertuples(index=False)
            )
            + "."
        )
    elif len(by_class):
        parts.append("No job was turned away.")
    if len(monthly):
        worst = extreme_row(monthly, "p95_wait_h")
        parts.append(
            f"Worst month's p95: {worst['tenant_class']} {hours(worst['p95_wait_h'])} h in "
            f"{month(worst['month'])}."
        )
    present = sorted(set(monthly["tenant_class"]))
    slos: dict[str, float] = (
        {str(cls): slo_h for cls in present}
        if slo_h is not None
        else {str(cls): hours_ for cls, hours_ in sc.slo.wait_p95_h.items()}
    )
    if not slos:
        parts.append(
            "The scenario states no SLO (slo.wait_p95_h), so no SLO line is drawn "
            "(planner report DIR --slo-h HOURS draws one for every class)."
        )
    else:
        breaches = []
        for cls, group in monthly.groupby("tenant_class", sort=True):
            slo = slos.get(str(cls))
            if slo is not None:
                over = int((group["p95_wait_h"] > slo).sum())
                breaches.append(f"{cls} ({slo:g} h) {over} of {len(group)}")
        parts.append("Months whose p95 exceeds the class's SLO: " + ", ".join(breaches) + ".")
    return Figure(
        "waits",
        "Monthly p50 and p95 waits per tenant class",
        " ".join(parts),
        draw_run.draw_waits(monthly, slos),
        (
            ("monthly waits (hours)", waits_data.waits_table(monthly)),
            ("p95 wait served and offered over the horizon (hours)", by_class),
            ("jobs turned away per tenant", waits_data.turned_away(data.tenants)),
        ),
    )


def queue_figure(data: RunData) -> Figure:
    """Jobs and GPUs queued, daily."""
    series = queue.queue_length(data.timeseries)
    parts = []
    if len(series):
        peak = extreme_row(series, "jobs_queued")
        parts.append(
            f"On average {num(series['jobs_queued'].mean())} jobs wait (daily time-averages), "
            f"asking for {num(series['gpus_queued'].mean())} GPUs; the queue peaks at "
            f"{num(peak['jobs_queued'])} jobs on {day(peak['date'])}."
        )
    parts.append(f"Jobs queued at the horizon: {num(data.summary.get('jobs_queued_at_horizon'))}.")
    return Figure(
        "queue",
        "Queue length over time",
        " ".join(parts),
        draw_run.draw_queue(series),
        (("monthly queue", queue.monthly_queue(series)),),
    )


def credits_figure(data: RunData) -> Item:
    """Each credit deal's balance with its expiry, or a note when there are none."""
    sc = data.scenario
    deals = credits.credit_deals(sc)
    if not len(deals):
        return Note("credits", "Credit burn-down", "The scenario has no credit deals.")
    series = credits.burn_down(data.credit_ledger, data.credit_events, sc.start)
    parts = []
    for rec in deals.to_dict("records"):
        ends = series[(series["tenant"] == rec["tenant"]) & (series["point"] == "month end")]
        if not len(ends):
            continue
        end = ends.iloc[-1]
        expiry = (
            f"expiring {day(rec['expires'])}"
            if rec["expires_in_horizon"]
            else f"valid past the horizon (expires {day(rec['expires'])})"
        )
        parts.append(
            f"{rec['tenant']}: {usd(rec['amount_usd'])} granted {day(rec['granted'])}, {expiry}; "
            f"{usd(end['burned_usd'])} burned, {usd(end['forfeited_usd'])} forfeited, "
            f"{usd(end['left_usd'])} left at the horizon."
        )
    return Figure(
        "credits",
        "Credit burn-down per deal",
        "Credits left (dots: month ends, from the credit ledger; steps at each grant and expiry, "
        "from the credit events); a dashed line and a cross mark each expiry. " + " ".join(parts),
        draw_run.draw_credits(series, deals),
        (("credits left at each month end", credits.burn_down_table(series)),),
    )


def prices_figure(data: RunData) -> Figure:
    """List price per GPU-hour by model, with its dated steps."""
    sc = data.scenario
    curves = prices.price_curves(sc)
    events = prices.price_events(sc)
    parts = []
    for model, group in curves.groupby("gpu_model", sort=False):
        first, last = group["usd_per_gpu_h"].iloc[0], group["usd_per_gpu_h"].iloc[-1]
        change = last / first - 1.0 if first else np.nan
        parts.append(f"{model} {price(first)} → {price(last)} ({change:+.0%})")
    text = "List price per GPU-hour from the start to the horizon: " + "; ".join(parts) + "."
    if len(events):
        text += (
            f" Price steps on {len(events)} dates (dotted): "
            + "; ".join(
                f"{day(d)} {lab}" for d, lab in zip(events["date"], events["label"], strict=True)
            )
            + "."
        )
    return Figure(
        "prices",
        "Price curves",
        text,
        draw_run.draw_prices(curves, events),
        (("list price on the first of each month", prices.monthly_prices(curves)),
         ("dated steps", events)),
    )  # fmt: skip


def value_figure(data: RunData) -> Item:
    """The value waterfall per cohort, or a note when the run has no cohorts."""
    cohorts = data.cohorts
    if not len(cohorts):
        return Note("value", "Value waterfall per cohort", "The run has no cohorts.")
    waterfall = value.cohort_waterfall(cohorts)
    table = value.value_table(cohorts)
    capex = float(table["capex_usd"].sum())
    earned = float(table["earned_before_obsolescence_usd"].sum())
    rated = table["payback"].notna().any()
    best = extreme_row(table, "payback") if rated else None
    worst = extreme_row(table, "payback", largest=False) if rated else None
    text = (
        f"Per cohort: capex, less what it earned before obsolescence (leases included), less the "
        f"idle value full use would have earned too, which leaves capex - potential revenue "
        f"(below zero: full use would have paid it back); stranded book value beside. Fleet: "
        f"capex {usd(capex)}, earned {usd(earned)} ({pct(earned / capex if capex else None)} of "
        f"capex), idle value {usd(table['idle_value_usd'].sum())}, stranded book value "
        f"{usd(table['stranded_book_value_usd'].sum())}."
    )
    if best is not None and worst is not None:
        text += (
            f" Payback from {pct(worst['payback'], 0)} ({worst['cohort']}) to "
            f"{pct(best['payback'], 0)} ({best['cohort']})."
        )
    sources = revenue.cohort_sources(data.jobs, data.runs, cohorts)
    text += " " + _sources_text(data.summary, sources)
    payback = pd.Series(table["payback"].to_numpy(), index=table["cohort"])
    return Figure(
        "value",
        "Value waterfall per cohort",
        text,
        draw_run.draw_value(waterfall, payback),
        (
            ("per cohort", table),
            ("revenue by source, per cohort", sources),
            ("revenue by source, fleet", revenue.fleet_sources(data.summary)),
        ),
    )


def _sources_text(summary: Mapping[str, Any], sources: pd.DataFrame) -> str:
    """Where the fleet's revenue came from, and the cohort living most on credits."""
    total = finite(summary.get("revenue_usd"))
    credit = finite(summary.get("revenue_credit_usd"))
    text = (
        f"Revenue {usd(total)}: cash {usd(summary.get('revenue_cash_usd'))}, credits burned "
        f"{usd(credit)} ({pct(credit / total if total and credit is not None else None)}); "
        f"the escrow view, every credit granted counted when granted, "
        f"{usd(summary.get('revenue_escrow_view_usd'))}. Grants go to tenants, not cohorts, so "
        "the escrow view is the fleet's and each deal's only."
    )
    rated = sources.dropna(subset=["credit_share"])
    if len(rated) and rated["credits_burned_usd"].sum() > 0:
        most = extreme_row(rated, "credit_share")
        text += (
            f" Most dependent on credits: {most['cohort']}, {usd(most['credits_burned_usd'])} "
            f"of its {usd(most['revenue_usd'])} ({pct(most['credit_share'])})."
        )
    return text


def failures_figure(data: RunData) -> Item:
    """GPUs down and goodput, or a note when failures are off."""
    sc = data.scenario
    if sc.failures is None:
        return Note(
            "failures",
            "Goodput and GPUs down",
            "Failures are off in this scenario (no failures block), so there is no goodput or "
            "GPUs-down figure.",
        )
    down = failures.gpus_down(data.timeseries)
    monthly = failures.monthly_failures(down, data.failures, sc.start)
    goodput = failures.cohort_goodput(data.cohorts)
    fleet_goodput = finite(data.summary.get("goodput"))
    spares = int(data.failures["spare_used"].sum()) if len(data.failures) else 0
    text = (
        f"{num(len(data.failures))} node failures ({num(spares)} covered at once by a spare); "
        f"GPUs down average {num(down['gpus_down'].mean())} (daily time-average), peaking at "
        f"{num(down['gpus_down'].max())}. Goodput, GPU-hours of kept progress over GPU-hours "
        f"held: fleet {pct(fleet_goodput, 2)}"
    )
    rated = goodput.dropna(subset=["goodput"])
    if len(rated):
        low = extreme_row(rated, "goodput", largest=False)
        text += f", lowest cohort {low['cohort']} at {pct(low['goodput'], 2)}"
    return Figure(
        "failures",
        "Goodput and GPUs down",
        text + ".",
        draw_run.draw_failures(down, goodput, fleet_goodput),
        (("monthly failures and GPUs down", monthly), ("goodput per cohort", goodput)),
    )


def _by_model(rows: pd.DataFrame) -> str:
    """GPUs per model, leaving out models with none in service that day."""
    return ", ".join(
        f"{m} {num(g)}"
        for m, g in zip(rows["gpu_model"], rows["in_service_gpus"], strict=True)
        if g > 0
    )


def _hours_or_missing(value: Any) -> str:
    shown = hours(value)
    return shown if shown in ("–", "∞") else f"{shown} h"
