"""The tables printed about runs: one run's report, runs side by side, intervals across
replications."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from planner.cli.output import MISSING, hours, integer, num, pct, price, qty, table, text, usd

if TYPE_CHECKING:
    import pandas as pd

    from planner.results import RunResult

CLASSES = ("paying", "credit", "internal", "all")
COMPARED = (
    ("utilisation", "utilisation", "pct"),
    ("wait_mean_h.all", "mean wait, all", "hours"),
    ("wait_p95_h.paying", "p95 wait, paying", "hours"),
    ("wait_p95_h.credit", "p95 wait, credit", "hours"),
    ("wait_p95_h.internal", "p95 wait, internal", "hours"),
    ("jobs_finished", "jobs finished", "int"),
    ("jobs_queued_at_horizon", "jobs queued at horizon", "int"),
    ("preemptions", "preemptions", "int"),
    ("stranded_free_share", "free GPUs no waiting job fits", "pct"),
    ("revenue_usd", "revenue", "usd"),
    ("revenue_usd.reserved", "revenue, reserved tier", "usd"),
    ("revenue_usd.on_demand", "revenue, on-demand tier", "usd"),
    ("revenue_usd.spot", "revenue, spot tier", "usd"),
    ("capex_monetised_share", "capex earned back, gross, to obsolescence or horizon", "pct"),
    ("npv_usd", "NPV at the cost of capital", "usd"),
)


def comparison(summaries: pd.DataFrame, path: str) -> Table:
    """The headline metrics of a comparison, one column per value."""
    formats = {"pct": pct, "hours": hours, "int": integer, "usd": usd}
    out = table(
        f"{path}, side by side", ("metric", "left"), *((str(c), "right") for c in summaries)
    )
    for key, label, kind in COMPARED:
        if key in summaries.index:
            out.add_row(label, *(formats[kind](v) for v in summaries.loc[key]))
    return out


def intervals(summary: pd.DataFrame, title: str) -> Table:
    """Headline metrics across replications: mean, 95% interval and how it was formed (``t``,
    or Student t on the ``log`` or ``logit`` scale for metrics bounded below or shares)."""
    shown = table(
        title, ("metric", "left"), ("mean", "right"), ("95% CI", "right"), ("interval", "left")
    )
    for key, _label, kind in COMPARED:
        if key not in summary.index:
            continue
        fmt = {"pct": pct, "hours": hours, "int": qty, "usd": usd}[kind]
        mean, low, high = summary.loc[key, ["mean", "low", "high"]].to_numpy(dtype=float)
        ci = MISSING if math.isnan(low) else f"[{fmt(low)}, {fmt(high)}]"
        method = str(summary.loc[key, "interval"]) if "interval" in summary.columns else ""
        shown.add_row(key, fmt(mean), ci, method)
    return shown


def report(res: RunResult) -> list[Table | Text]:
    """What ``planner run`` prints: a heading, then headline, wait, deal and cohort tables."""
    sc, summary = res.scenario, res.summary()
    heading = Text(
        f"{sc.name} · seed {res.seed} · {sc.start} to {sc.end} "
        f"({num(sc.horizon_days)} days) · simulated in {res.wall_s:.2f} s",
        style="bold",
    )
    tables: list[Table | Text] = [
        heading,
        _headline(summary),
        _waits(summary),
        Text("jobs still queued count as waiting until the horizon", style="dim"),
    ]
    deals = _deals(res)
    if deals.row_count:
        tables.append(deals)
    if len(res.cohorts):
        tables += [_cohorts(res), _cohort_value(res, summary)]
    return tables


def _headline(summary: pd.Series) -> Table:
    shown = table("headline", ("metric", "left"), ("value", "right"))
    rows = [
        ("utilisation", pct(summary.get("utilisation"))),
        ("jobs submitted", integer(summary.get("jobs_submitted"))),
        ("jobs finished", integer(summary.get("jobs_finished"))),
        ("jobs running at horizon", integer(summary.get("jobs_running_at_horizon"))),
        ("jobs queued at horizon", integer(summary.get("jobs_queued_at_horizon"))),
        ("revenue, cash", usd(summary.get("revenue_cash_usd"))),
        ("revenue, credits as burned", usd(summary.get("revenue_credit_usd"))),
        ("revenue, total", usd(summary.get("revenue_usd"))),
        (
            "revenue, escrow view (credits when granted)",
            usd(summary.get("revenue_escrow_view_usd")),
        ),
        ("opex", usd(summary.get("opex_usd"))),
        ("margin (revenue - opex)", usd(summary.get("margin_usd"))),
        ("fleet capex", usd(summary.get("capex_usd"))),
        (
            "capex earned back, gross, to obsolescence or horizon",
            pct(summary.get("capex_monetised_share")),
        ),
        (
            "  of cohorts obsolete within the horizon",
            pct(summary.get("capex_monetised_share_to_obsolescence")),
        ),
        ("NPV at the cost of capital (resale at exit)", usd(summary.get("npv_usd"))),
        ("IRR, a year", pct(summary.get("irr_annual"))),
        ("capture (revenue / potential)", pct(summary.get("capture"))),
        ("scheduler", str(summary.get("scheduler"))),
        ("runs preempted", integer(summary.get("preemptions"))),
        ("free GPUs no waiting job fits", pct(summary.get("stranded_free_share"))),
        ("idle value (potential - revenue)", usd(summary.get("idle_value_usd"))),
        ("stranded book value", usd(summary.get("stranded_book_value_usd"))),
    ]
    if "goodput" in summary:
        rows += [
            ("node failures", integer(summary.get("node_failures"))),
            ("job restarts", integer(summary.get("restarts"))),
            ("GPU-hours lost to failures", integer(summary.get("lost_gpu_h"))),
            ("goodput (kept / held GPU-hours)", pct(summary.get("goodput"))),
        ]
    for label, value in rows:
        shown.add_row(label, value)
    return shown


def _waits(summary: pd.Series) -> Table:
    shown = table(
        "wait per tenant class (hours)",
        ("class", "left"),
        ("mean", "right"),
        ("p50", "right"),
        ("p95", "right"),
        ("p99", "right"),
    )
    for label in CLASSES:
        if f"wait_p50_h.{label}" not in summary.index:
            continue
        shown.add_row(
            label,
            *(
                hours(summary.get(f"wait_{stat}_h.{label}"))
                for stat in ("mean", "p50", "p95", "p99")
            ),
        )
    return shown


def _deals(res: RunResult) -> Table:
    """One row per credit deal: what became of the credits and what the start-up paid."""
    shown = table(
        "credit deals",
        ("tenant", "left"),
        ("granted", "right"),
        ("burned", "right"),
        ("forfeited", "right"),
        ("left", "right"),
        ("escrow", "right"),
        ("GPU-h", "right"),
        ("$/GPU-h", "right"),
        ("state", "left"),
    )
    deals = res.tenants[res.tenants["tenant_class"] == "credit"]
    for row in deals.itertuples(index=False):
        shown.add_row(
            Text(str(row.tenant)),
            usd(row.credits_granted_usd),
            usd(row.credits_burned_usd),
            usd(row.credits_forfeited_usd),
            usd(row.credits_left_usd),
            usd(row.escrow_revenue_usd),
            qty(row.credit_gpu_h),
            price(row.effective_usd_per_gpu_h),
            text(row.credit_state),
        )
    shown.caption = Text(
        "burned: credits recognised as used; escrow: the whole grant, recognised when granted; "
        "GPU-h: GPU-hours paid with credits; $/GPU-h: credits granted per such GPU-hour, the "
        "price paid in equity",
        style="dim",
    )
    return shown


def _cohorts(res: RunResult) -> Table:
    """One row per cohort: its use and what it earned and cost within the horizon."""
    shown = table(
        "cohorts",
        ("cohort", "left"),
        ("GPUs", "right"),
        ("utilisation", "right"),
        ("revenue", "right"),
        ("opex", "right"),
        ("margin", "right"),
        ("book value at end", "right"),
    )
    for row in res.cohorts.itertuples(index=False):
        shown.add_row(
            Text(str(row.cohort)),
            integer(row.gpus),
            pct(row.utilisation),
            usd(row.revenue_usd),
            usd(row.opex_usd),
            usd(row.margin_usd),
            usd(row.book_value_at_horizon_usd),
        )
    return shown


def _cohort_value(res: RunResult, summary: pd.Series) -> Table:
    """One row per cohort: how much of its value it earned before becoming obsolete."""
    shown = table(
        "cohort value",
        ("cohort", "left"),
        ("capex", "right"),
        ("before obs.", "right"),
        ("payback", "right"),
        ("capture", "right"),
        ("idle value", "right"),
        ("obsolete on", "left"),
        ("stranded", "right"),
    )
    for row in res.cohorts.itertuples(index=False):
        name = str(row.cohort)
        shown.add_row(
            Text(name),
            usd(row.capex_usd),
            usd(row.revenue_before_obsolescence_usd),
            pct(row.payback),
            pct(row.capture),
            usd(row.idle_value_usd),
            text(summary.get(f"obsolete_on.{name}")),
            usd(row.stranded_book_value_usd),
        )
    shown.caption = Text(
        "before obs.: revenue before obsolescence; payback = that / capex; capture = that / "
        "(list price x in-service GPU-hours); stranded: book value written off at obsolescence "
        "or, if still in service at the end, its book value not yet earned back",
        style="dim",
    )
    return shown
