"""The tables printed about runs: one run's report, runs side by side, intervals across
replications."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from planner.cli.output import MISSING, hours, integer, num, pct, price, qty, table, text, usd
from planner.report.labels import METRIC_LABELS

if TYPE_CHECKING:
    import pandas as pd

    from planner.results import RunResult

CLASSES = ("paying", "credit", "internal", "all")
COMPARED = tuple(
    (key, METRIC_LABELS[key], kind)
    for key, kind in (
        ("utilisation", "pct"),
        ("wait_mean_h.all", "hours"),
        ("wait_p95_h.paying", "hours"),
        ("wait_p95_h.credit", "hours"),
        ("wait_p95_h.internal", "hours"),
        ("jobs_finished", "int"),
        ("jobs_queued_at_horizon", "int"),
        ("preemptions", "int"),
        ("stranded_free_share", "pct"),
        ("revenue_usd", "usd"),
        ("revenue_usd.reserved", "usd"),
        ("revenue_usd.on_demand", "usd"),
        ("revenue_usd.spot", "usd"),
        ("capex_monetised_share", "pct"),
        ("npv_usd", "usd"),
    )
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


def intervals(summary: pd.DataFrame, title: str, mean: str = "mean") -> Table:
    """Headline metrics across replications (``summary`` indexed by metric, with ``mean``,
    ``low``, ``high`` and perhaps ``interval``), each under its readable name: mean, 95%
    interval and how it was formed (``t``, or Student t on the ``log`` or ``logit`` scale for
    metrics bounded below or shares)."""
    shown = table(
        title, ("metric", "left"), (mean, "right"), ("95% CI", "right"), ("interval", "left")
    )
    for key, label, kind in COMPARED:
        if key not in summary.index:
            continue
        fmt = {"pct": pct, "hours": hours, "int": qty, "usd": usd}[kind]
        centre, low, high = summary.loc[key, ["mean", "low", "high"]].to_numpy(dtype=float)
        ci = MISSING if math.isnan(low) else f"[{fmt(low)}, {fmt(high)}]"
        method = str(summary.loc[key, "interval"]) if "interval" in summary.columns else ""
        shown.add_row(label, fmt(centre), ci, method)
    return shown


def sweep_results(rows: pd.DataFrame, baseline: int, level: float = 0.95) -> list[Table]:
    """What ``planner sweep`` prints: per point, each headline metric's mean and interval across
    its replications; then per other point, its paired difference from ``baseline`` (Student t
    over the per-replication differences, which may take either sign)."""
    from planner.experiments.paired import paired_differences
    from planner.experiments.replicate import Replications

    params = [str(c) for c in rows.columns if str(c).startswith("param.")]
    of_point = {int(p): rows[rows["point"] == p] for p in sorted(rows["point"].unique())}
    where = {
        point: ", ".join(f"{p.removeprefix('param.')}={mine[p].iloc[0]}" for p in params)
        or "no parameters"
        for point, mine in of_point.items()
    }
    shown = []
    for point, mine in of_point.items():
        runs = mine.drop(columns=["point", *params])
        title = f"point {point} ({where[point]}): {len(runs)} replications"
        shown.append(intervals(Replications(runs, level).summary(), title))
    metrics = [key for key, _label, _kind in COMPARED if key in rows]
    diffs = paired_differences(rows, metrics, baseline, level).assign(interval="paired t")
    for point in of_point:
        if point == baseline:
            continue
        mine = diffs[diffs["point"] == point]
        title = (
            f"point {point} ({where[point]}) - baseline point {baseline} "
            f"({where[baseline]}): paired over {mine['n'].max()} replications"
        )
        shown.append(intervals(mine.set_index("metric"), title, mean="mean difference"))
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
        Text(
            "jobs still queued count as waiting until the horizon; p95 offered counts the jobs "
            "turned away (balked, or lost after their tenant churned) as never starting",
            style="dim",
        ),
        _turned_away(res),
    ]
    deals = _deals(res)
    if deals.row_count:
        tables.append(deals)
    if len(res.cohorts):
        tables += [
            _pools(res),
            _cohorts(res),
            _cohort_value(res, summary),
            _cohort_cash(res, summary),
        ]
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
        ("p95 offered", "right"),
        ("turned away", "right"),
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
            _hours_or_infinite(summary.get(f"wait_p95_h_offered.{label}")),
            integer(summary.get(f"jobs_turned_away.{label}")),
        )
    return shown


def _hours_or_infinite(value: object) -> str:
    """Hours, or ∞ where more jobs were turned away than the percentile leaves out."""
    return "∞" if isinstance(value, float) and math.isinf(value) else hours(value)


def _turned_away(res: RunResult) -> Table:
    """One row per tenant that submits jobs: what it submitted and what never was, by reason."""
    from planner.report.waits import turned_away

    shown = table(
        "jobs not submitted, per tenant",
        ("tenant", "left"),
        ("class", "left"),
        ("submitted", "right"),
        ("balked", "right"),
        ("lost to churn", "right"),
        ("credit rule", "right"),
    )
    for row in turned_away(res.tenants).itertuples(index=False):
        shown.add_row(
            Text(str(row.tenant)),
            str(row.tenant_class),
            integer(row.jobs_submitted),
            integer(row.jobs_balked),
            integer(row.jobs_lost_to_churn),
            integer(row.jobs_held_by_credit_rule),
        )
    shown.caption = Text(
        "balked: not submitted for a long expected wait; lost to churn: would have come after "
        "the tenant left over long waits; credit rule: held back by the tenant's credit deal",
        style="dim",
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


def _pools(res: RunResult) -> Table:
    """One row per pool: its cohorts' use and value together, and how evenly they were used."""
    shown = table(
        "pools",
        ("pool", "left"),
        ("placement", "left"),
        ("cohorts", "right"),
        ("GPUs", "right"),
        ("utilisation", "right"),
        ("cohorts' range", "right"),
        ("revenue", "right"),
        ("payback", "right"),
        ("margin", "right"),
    )
    for row in res.pools.itertuples(index=False):
        shown.add_row(
            Text(f"{row.gpu_model} {row.region}"),
            Text(str(row.within_pool)),
            integer(row.cohorts),
            integer(row.gpus),
            pct(row.utilisation),
            Text(f"{pct(row.cohort_utilisation_min)}-{pct(row.cohort_utilisation_max)}"),
            usd(row.revenue_usd),
            pct(row.payback),
            usd(row.margin_usd),
        )
    shown.caption = Text(
        "a pool is one GPU model in one region; placement: how jobs are spread over its cohorts "
        "(spread: a job of one node or less to the least busy cohort; pack: best fit over the "
        "pool); cohorts' range: their lowest and highest utilisation",
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


def _cohort_cash(res: RunResult, summary: pd.Series) -> Table:
    """One row per cohort, and the fleet: share monetised (to obsolescence or to the horizon),
    internal value apart from revenue, and the cash-flow figures."""
    shown = table(
        "cohort cash flows",
        ("cohort", "left"),
        ("monetised to", "left"),
        ("share", "right"),
        ("internal", "right"),
        ("+ internal", "right"),
        ("NPV", "right"),
        ("IRR", "right"),
        ("net payback", "left"),
        ("+ internal", "left"),
        ("disc. payback", "left"),
    )
    for row in res.cohorts.itertuples(index=False):
        shown.add_row(
            Text(str(row.cohort)),
            str(row.monetised_to),
            pct(row.payback),
            usd(row.internal_value_usd),
            pct(row.payback_with_internal),
            usd(row.npv_usd),
            pct(row.irr_annual),
            _date(row.net_payback_date),
            _date(row.net_payback_date_with_internal),
            _date(row.discounted_payback_date),
        )
    for scope in ("obsolescence", "horizon"):
        count = summary.get(f"cohorts_monetised_to_{scope}")
        if count:
            shown.add_row(
                Text(f"fleet, {integer(count)} cohorts", style="bold"),
                scope,
                pct(summary.get(f"capex_monetised_share_to_{scope}")),
                *[""] * 7,
            )
    shown.add_row(
        Text("fleet", style="bold"),
        "",
        pct(summary.get("capex_monetised_share")),
        usd(summary.get("internal_value_usd")),
        "",
        usd(summary.get("npv_usd")),
        pct(summary.get("irr_annual")),
        text(summary.get("net_payback_date")),
        "",
        text(summary.get("discounted_payback_date")),
    )
    shown.caption = Text(
        "share: gross revenue (and lease) before obsolescence / capex, to obsolescence if the "
        "cohort became obsolete within the horizon, else to the horizon; internal: internal "
        "tenants' GPU-hours at the transfer price, not in revenue; + internal: the share and "
        "the cash payback with it counted; NPV and IRR: net of opex, with resale at exit or "
        "terminal value at the horizon; paybacks: cash and discounted, – if not within the "
        "horizon",
        style="dim",
    )
    return shown


def _date(value: object) -> str:
    """A payback date as YYYY-MM-DD, or the missing mark for none (NaT)."""
    shown = str(value)
    return MISSING if shown in ("NaT", "None", "nan") else shown[:10]
