"""A run's section of the report: each figure's data, its drawing, a caption stating its key
numbers, and the data beneath it as monthly (or per-cohort) tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from planner import plot
from planner.analysis.pools import pools
from planner.report import (
    cohort_value,
    credits,
    failures,
    fleet,
    prices,
    queue,
    revenue,
    utilisation,
    value,
)
from planner.report import waits as waits_data
from planner.report.directives import directives_table
from planner.report.figure import Figure, Item, Note, Section, extreme_row
from planner.report.formats import day, finite, hours, month, num, pct, price, usd
from planner.report.inputs import RunData
from planner.report.plotting import png
from planner.wording import counted

CLASSES = ("paying", "credit", "internal")


def run_section(data: RunData, slo_h: float | None = None) -> Section:
    """Every figure of one run, in the order a capacity review reads them."""
    sc = data.scenario
    items: list[Item] = [
        in_service_figure(data),
        utilisation_figure(data),
        waits_figure(data, slo_h),
        heatmap_figure(data),
        queue_figure(data),
        credits_figure(data),
        prices_figure(data),
        value_figure(data),
        cash_figure(data),
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
        png(plot.in_service(data)),
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
        png(plot.utilisation(data)),
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
    slos = waits_data.slo_levels(sc, monthly, slo_h)
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
    tables: tuple[tuple[str, pd.DataFrame], ...] = (
        ("monthly waits (hours)", waits_data.waits_table(monthly)),
        ("p95 wait served and offered over the horizon (hours)", by_class),
        ("jobs turned away per tenant", waits_data.turned_away(data.tenants)),
    )
    if sc.directives:
        held = directives_table(sc, data.tenants)
        parts.append(
            f"State directives hold {num(held['reserved_gpus'].sum())} GPUs for "
            f"{counted(len(held), 'tenant')} as reservations (table below)."
        )
        tables += (("state directives and the reservations they hold", held),)
    return Figure(
        "waits",
        "Monthly p50 and p95 waits per tenant class",
        " ".join(parts),
        png(plot.waits(data, slo_h)),
        tables,
    )


def heatmap_figure(data: RunData) -> Figure:
    """Utilisation per pool and month as a grid."""
    monthly = utilisation.monthly_utilisation(data.pool_timeseries, data.scenario.horizon_h)
    grid = utilisation.heatmap(monthly)
    served = monthly.dropna(subset=["utilisation"])
    parts = [
        "Busy / in-service GPU-hours per pool and month, in percent; blank: nothing in service."
    ]
    if len(served):
        low = served[served["utilisation"] < 0.3]
        parts.append(
            f"{counted(len(low), 'pool-month')} below 30%"
            + (
                ": " + ", ".join(f"{r.pool} {month(r.month)} {pct(r.utilisation, 0)}"
                                 for r in low.head(8).itertuples(index=False))
                + ("…" if len(low) > 8 else "")
                if len(low)
                else ""
            )
            + "."
        )  # fmt: skip
    table = grid.copy()
    table.columns = [month(c) for c in table.columns]
    shown = table.T.reset_index().rename(columns={"index": "month"})
    shown.columns = ["month", *[f"{p} utilisation" for p in grid.index]]
    return Figure(
        "utilisation-heatmap",
        "Utilisation by pool and month",
        " ".join(parts),
        png(plot.utilisation_heatmap(data)),
        (("utilisation per pool, by month", shown),),
    )


def queue_figure(data: RunData) -> Figure:
    """Jobs queued by tenant class and GPUs queued by the pool the jobs started on, daily,
    with the month the queue was longest and what the pools did then."""
    sc = data.scenario
    series = queue.queue_length(data.timeseries)
    by_class, by_pool = plot.queue_breakdown(data)
    parts = []
    if len(series):
        peak = extreme_row(series, "jobs_queued")
        parts.append(
            f"On average {num(series['jobs_queued'].mean())} jobs wait (daily time-averages), "
            f"asking for {num(series['gpus_queued'].mean())} GPUs; the queue peaks at "
            f"{num(peak['jobs_queued'])} jobs on {day(peak['date'])}."
        )
    parts.append(f"Jobs queued at the horizon: {num(data.summary.get('jobs_queued_at_horizon'))}.")
    monthly = queue.monthly_queue(series)
    pool_waits = queue.pool_waits(data.jobs, sc.start, sc.horizon_h)
    if len(monthly) and monthly["mean_gpus_queued"].max() > 0:
        parts.append(_busiest_month(data, monthly, by_pool, pool_waits))
    return Figure(
        "queue",
        "Queue by tenant class and by pool",
        " ".join(parts),
        png(plot.queue(data)),
        (
            ("monthly queue", monthly),
            ("mean jobs waiting by tenant class, monthly",
             queue.monthly_by(by_class, "jobs_queued")),
            ("mean GPUs waiting by the pool each job started on, monthly",
             queue.monthly_by(by_pool, "gpus_queued")),
            ("p95 wait by the pool each job started on, by month of submission (hours)",
             pool_waits.pivot_table(index="month", columns="pool", values="p95_wait_h",
                                    aggfunc="first").add_suffix(" p95_wait_h").reset_index()),
        ),
    )  # fmt: skip


def _busiest_month(
    data: RunData, monthly: pd.DataFrame, by_pool: pd.DataFrame, pool_waits: pd.DataFrame
) -> str:
    """The month with the most GPUs waiting: the pools' utilisation then, and how long jobs
    that went on to start on the least used pool waited, which tells a queue short of GPUs
    from one that leaves a pool idle."""
    worst = extreme_row(monthly, "mean_gpus_queued")
    when = pd.Timestamp(worst["month"])
    pools = utilisation.monthly_utilisation(data.pool_timeseries, data.scenario.horizon_h)
    then = pools[(pools["month"] == when)].dropna(subset=["utilisation"])
    text = (
        f"Most GPUs waiting in {month(when)}: on average {num(worst['mean_jobs_queued'])} jobs "
        f"asking for {num(worst['mean_gpus_queued'])} GPUs."
    )
    if not len(then):
        return text
    idle = then.sort_values("utilisation").head(2)
    text += " That month " + ", ".join(
        f"{r.pool} ran at {pct(r.utilisation, 0)}" for r in idle.itertuples(index=False)
    )
    lowest = str(idle["pool"].iloc[0])
    waited = pool_waits[(pool_waits["month"] == when) & (pool_waits["pool"] == lowest)]
    if len(waited) and waited["jobs"].iloc[0] > 0:
        text += (
            f", yet jobs that started on {lowest} waited {hours(waited['p95_wait_h'].iloc[0])} h "
            "at p95"
        )
    text += "."
    if data.scenario.scheduler.kind == "fifo":
        text += (
            " The scheduler is one FIFO queue for the whole fleet: a job at its head that no "
            "pool can take yet blocks every job behind it, even those an idle pool could run."
        )
    return text


def credits_figure(data: RunData) -> Item:
    """Each credit deal's balance and burn against what its expiry needs, forfeits marked as
    losses, or a note when there are no deals."""
    sc = data.scenario
    deals = credits.credit_deals(sc)
    if not len(deals):
        return Note("credits", "Credit burn-down", "The scenario has no credit deals.")
    series = credits.burn_down(data.credit_ledger, data.credit_events, sc.start)
    rates = credits.burn_rates(data.credit_ledger, sc)
    outcomes = credits.deal_outcomes(deals, rates)
    parts = []
    for rec, out in zip(deals.to_dict("records"), outcomes.to_dict("records"), strict=True):
        expiry = (
            f"expiring {day(rec['expires'])}"
            if rec["expires_in_horizon"]
            else f"valid past the horizon (expires {day(rec['expires'])})"
        )
        text = (
            f"{rec['tenant']}: {usd(rec['amount_usd'])} granted {day(rec['granted'])}, {expiry}; "
            f"using it by then needed {usd(out['even_burn_needed_usd_per_day'])} a day, it "
            f"burned {usd(out['burn_got_usd_per_day'])} a day: {usd(out['burned_usd'])} burned"
        )
        if out["forfeited_usd_lost"] > 0:
            text += f", {usd(out['forfeited_usd_lost'])} forfeited at expiry, a loss"
        if rec["expires_in_horizon"]:
            text += "."
        else:
            text += f", {usd(out['left_usd'])} left at the horizon."
        parts.append(text)
    lost = float(outcomes["forfeited_usd_lost"].sum())
    lead = (
        "Credits left (dots: month ends, from the credit ledger; steps at each grant and "
        "expiry, from the credit events). Dotted: the even burn that would use a grant by its "
        "expiry; a line above it is behind. Red: credits forfeited at expiry, granted and "
        "never turned into compute. Beneath, each month's burn per day against the burn per "
        "day needed from then on to use what is left by the expiry (log scale)."
    )
    if lost > 0:
        lead += f" Forfeited in all: {usd(lost)}."
    table = rates.assign(
        tenant=rates["tenant"],
        forfeited_usd_lost=rates["forfeited_usd"],
    ).drop(columns=["forfeited_usd", "valid_days"])
    return Figure(
        "credits",
        "Credit burn-down per deal",
        lead + " " + " ".join(parts),
        png(plot.credits(data)),
        (
            ("per deal", outcomes),
            ("per deal and month while valid", table),
            ("credits left at each month end", credits.burn_down_table(series)),
        ),
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
        png(plot.prices(data)),
        (("list price on the first of each month", prices.monthly_prices(curves)),
         ("dated steps", events)),
    )  # fmt: skip


def value_figure(data: RunData) -> Item:
    """Per cohort, capex beside what came back (never below zero), or a note when the run has
    no cohorts."""
    cohorts = data.cohorts
    if not len(cohorts):
        return Note("value", "Capex and what came back, per cohort", "The run has no cohorts.")
    text = cohort_value.value_bars_caption(data)
    sources = revenue.cohort_sources(data.jobs, data.runs, cohorts)
    text += " " + _sources_text(data.summary, sources)
    return Figure(
        "value",
        "Capex and what came back, per cohort",
        text,
        png(plot.value(data)),
        (
            ("per cohort", cohort_value.value_table(data)),
            ("gross value before obsolescence, per cohort", value.value_table(cohorts)),
            ("revenue by source, per cohort", sources),
            ("revenue by source, fleet", revenue.fleet_sources(data.summary)),
        ),
    )


def cash_figure(data: RunData) -> Item:
    """Per cohort, cumulative net cash flow with its payback dates, or a note."""
    if not len(data.cohorts) or not len(data.cash_flows):
        return Note("cash", "Cumulative net cash flow per cohort", "The run has no cohorts.")
    return Figure(
        "cash",
        "Cumulative net cash flow per cohort",
        cohort_value.cumulative_cash_caption(data),
        png(plot.cash_flow(data)),
        (
            ("NPV, IRR and payback dates, per cohort", cohort_value.payback_table(data)),
            ("cumulative net cash flow at each month's end", _monthly(data)),
        ),
    )


def _monthly(data: RunData) -> pd.DataFrame:
    wide = cohort_value.monthly_cumulative(data)
    return wide.reset_index().rename(columns={"index": "month"})


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
        png(plot.failures(data)),
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
