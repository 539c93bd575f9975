"""Headline metrics of one run, as a flat pandas Series with dotted keys.

Keys read ``metric`` for fleet totals and ``metric.who`` per tenant class, tenant or cohort, e.g.
``wait_p95_h.paying``, ``credits_burned_usd.moonshot``, ``payback.H800-cn-hangzhou-0``.

``wait_p95_h_offered.<class>`` is the p95 wait over every job the class offered, counting
``jobs_turned_away.<class>`` (balked, or lost after their tenant churned) as never starting:
it is infinite when more than 5% were turned away;
``wait_p95_h_offered.paying_besides.<tenant>`` the same over the paying tenants other than one
holding a take-or-pay reservation. ``scheduler`` is the policy's kind;
``preemptions`` counts runs stopped for other jobs; ``stranded_free_share`` is, of the GPUs free
while jobs waited (sampled daily), the share no waiting job could use where they lay.

Money, fleet-wide: ``revenue_usd`` (credits recognised as burned; by contract tier in
``revenue_usd.<tier>``) = ``revenue_cash_usd`` + ``revenue_credit_usd``;
``revenue_escrow_view_usd`` = cash + every credit granted (the escrow
view); ``capex_usd``, ``opex_usd``, ``margin_usd`` (revenue - opex), ``potential_revenue_usd``,
``revenue_before_obsolescence_usd``, ``revenue_lease_usd`` (idle GPUs leased wholesale),
``revenue_contract_usd`` (take-or-pay reservations; present only when a scenario has one),
``capex_monetised_share`` ((revenue before obsolescence + lease + contract revenue) / capex,
each cohort to its obsolescence or the horizon), ``capture`` (the same over potential revenue),
``idle_value_usd`` and ``stranded_book_value_usd`` (see
:func:`planner.analysis.stranded_book_value_usd`); cash flows, NPV, IRR, paybacks and the
share monetised to obsolescence apart from to the horizon:
:func:`planner.analysis.finance.finance_summary`.
Per credit deal: ``credits_{granted,burned,left,forfeited}_usd``, ``escrow_revenue_usd``,
``credit_gpu_h`` and ``effective_usd_per_gpu_h``. Per cohort: ``payback``, ``capture``,
``stranded_book_value_usd`` and ``obsolete_on``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.analysis import censored_wait_h, job_times, segments
from planner.analysis.finance import finance_summary
from planner.analysis.jobs import _jobs
from planner.model.record import RunRecord
from planner.recording import SKIP_REASONS
from planner.scenario.schema import HOURS_PER_DAY, Scenario

if TYPE_CHECKING:
    from planner.results import RunResult

CLASSES = ("credit", "paying", "internal")  # wholesale lessees submit no jobs
WAIT_PERCENTILES = (50, 95, 99)
# Would-be submissions counted as turned away: balked, or lost after the tenant churned.
TURNED_AWAY = ("balked", "churned")


def summarise(res: RunResult) -> pd.Series:
    """The headline metrics of ``res``."""
    sc, jobs, cohorts, tenants = res.scenario, res.jobs, res.cohorts, res.tenants
    out: dict[str, Any] = {
        "scenario": sc.name,
        "seed": res.seed,
        "horizon_days": sc.horizon_days,
        "jobs_submitted": len(jobs),
        "jobs_finished": int((jobs["state"] == "finished").sum()),
        "jobs_running_at_horizon": int((jobs["state"] == "running").sum()),
        "jobs_queued_at_horizon": int((jobs["state"] == "queued").sum()),
        "jobs_skipped": int(tenants["jobs_skipped"].sum()),
        "scheduler": sc.scheduler.kind,
        "preemptions": int(jobs["preemptions"].sum()),
    }
    in_service = float(cohorts["in_service_gpu_h"].sum()) if len(cohorts) else 0.0
    busy = float(cohorts["busy_gpu_h"].sum()) if len(cohorts) else 0.0
    out["gpu_h_in_service"] = in_service
    out["gpu_h_busy"] = busy
    out["utilisation"] = busy / in_service if in_service else math.nan
    if sc.failures is not None:
        lost = float(jobs["lost_gpu_h"].sum())
        out["node_failures"] = len(res.failures)
        out["restarts"] = int(jobs["restarts"].sum())
        out["lost_gpu_h"] = lost
        # Goodput: GPU-hours that bought kept progress, over all GPU-hours jobs held.
        out["goodput"] = 1.0 - lost / busy if busy else math.nan

    turned_away = (tenants["jobs_balked"] + tenants["jobs_lost_to_churn"]).to_numpy()
    out.update(_waits(sc, jobs, turned_away, tenants["tenant_class"].to_numpy()))

    out["revenue_usd"] = float(jobs["revenue_usd"].sum())
    for tier, revenue in jobs.groupby("tier", observed=True)["revenue_usd"].sum().items():
        out[f"revenue_usd.{tier}"] = float(revenue)
    out["revenue_cash_usd"] = float(jobs["cash_usd"].sum())
    out["revenue_credit_usd"] = float(jobs["credit_usd"].sum())
    deals = tenants[tenants["tenant_class"] == "credit"]
    out["revenue_escrow_view_usd"] = out["revenue_cash_usd"] + float(
        deals["credits_granted_usd"].sum()
    )
    for rec in deals.to_dict("records"):
        for key in DEAL_KEYS:
            out[f"{key}.{rec['tenant']}"] = float(rec[key])

    frag = res.fragmentation
    waiting = frag[frag["queued_jobs"] > 0]
    free = float(waiting["free_gpus"].sum())
    # Of the GPUs free while jobs waited, the share no waiting job could use where they lay.
    out["stranded_free_share"] = float(waiting["stranded_gpus"].sum()) / free if free else 0.0
    out.update(_fleet_value(cohorts))
    for rec in cohorts.to_dict("records"):
        out[f"payback.{rec['cohort']}"] = float(rec["payback"])
        out[f"capture.{rec['cohort']}"] = float(rec["capture"])
        out[f"stranded_book_value_usd.{rec['cohort']}"] = float(rec["stranded_book_value_usd"])
        out[f"obsolete_on.{rec['cohort']}"] = _date(res, float(rec["obsolete_at_h"]))
    out.update(finance_summary(sc, cohorts, res.ledger, res.runs, jobs, res.tables.finance))
    return pd.Series(out, dtype=object)


def wait_metrics(record: RunRecord) -> dict[str, Any]:
    """The wait metrics of :func:`summarise` (``wait_*`` and ``jobs_turned_away.*``) with the
    same values, from the jobs table alone: what a search on a service level needs."""
    sc = record.scenario
    seg = segments(record)
    jobs = _jobs(record, seg, job_times(record, seg))
    rec = record.recorded
    skipped_tenant = record.jobs.tenant[rec.skipped_job]
    away = np.isin(rec.skipped_reason, [SKIP_REASONS.index(r) for r in TURNED_AWAY])
    turned_away = np.bincount(skipped_tenant[away], minlength=len(sc.tenants))
    tenant_class = np.array([t.tenant_class for t in sc.tenants], dtype=object)
    return _waits(sc, jobs, turned_away, tenant_class)


def is_wait_metric(key: str) -> bool:
    """Whether :func:`wait_metrics` gives ``key``."""
    return key.startswith(("wait_", "jobs_turned_away."))


def _waits(
    sc: Scenario, jobs: pd.DataFrame, turned_away: np.ndarray, tenant_class: np.ndarray
) -> dict[str, Any]:
    """Wait percentiles per class, and the waits each class was offered; ``turned_away`` and
    ``tenant_class`` are per tenant."""
    out: dict[str, Any] = {}
    waits = censored_wait_h(jobs, sc.horizon_h)
    # Compared as a column, a categorical compares its small codes, not a string per job.
    of_class = {c: (jobs["tenant_class"] == c).to_numpy(dtype=bool) for c in CLASSES}
    for label, mask in [("all", np.ones(len(jobs), bool)), *of_class.items()]:
        if label != "all" and not mask.any():
            continue
        w = waits[mask]
        out[f"wait_mean_h.{label}"] = float(w.mean()) if len(w) else math.nan
        none = [math.nan] * len(WAIT_PERCENTILES)
        quantiles = np.percentile(w, WAIT_PERCENTILES) if len(w) else none
        for q, wait_h in zip(WAIT_PERCENTILES, quantiles, strict=True):
            out[f"wait_p{q}_h.{label}"] = float(wait_h)

    # The service a class was offered: jobs turned away (balked, or lost after their tenant
    # churned) count as never starting, so a queue that drives customers off cannot pass for
    # a short one. The quantile is read off the data (no interpolation towards infinity).
    for label in CLASSES:
        mask = of_class[label]
        away = int(turned_away[tenant_class == label].sum())
        if not mask.any() and not away:
            continue
        offered = np.r_[waits[mask], np.full(away, np.inf)]
        out[f"jobs_turned_away.{label}"] = away
        out[f"wait_p95_h_offered.{label}"] = float(
            np.quantile(offered, 0.95, method="inverted_cdf")
        )

    # What a take-or-pay contract costs the other paying customers: their offered p95 wait.
    paying = of_class["paying"]
    job_tenant = jobs["tenant"].to_numpy(dtype=object)
    for i, tenant in enumerate(sc.tenants):
        if tenant.reservation is None or tenant.reservation.take_or_pay is None:
            continue
        others = paying & (job_tenant != tenant.name)
        away = int(sum(turned_away[k] for k, t in enumerate(sc.tenants)
                       if k != i and t.tenant_class == "paying"))  # fmt: skip
        offered = np.r_[waits[others], np.full(away, np.inf)]
        if len(offered):
            out[f"{PAYING_BESIDES}.{tenant.name}"] = float(
                np.quantile(offered, 0.95, method="inverted_cdf")
            )
    return out


# ``PAYING_BESIDES.<tenant>``: the p95 wait offered to paying tenants other than ``tenant`` (one
# with a take-or-pay reservation), jobs turned away counting as never starting.
PAYING_BESIDES = "wait_p95_h_offered.paying_besides"


DEAL_KEYS = (
    "credits_granted_usd",
    "credits_burned_usd",
    "credits_left_usd",
    "credits_forfeited_usd",
    "escrow_revenue_usd",
    "credit_gpu_h",
    "effective_usd_per_gpu_h",
)


def _fleet_value(cohorts: pd.DataFrame) -> dict[str, float]:
    """Fleet totals of the cohorts' value: capex against what it earned and could have earned."""

    def total(column: str) -> float:
        return float(cohorts[column].sum()) if len(cohorts) else 0.0

    capex, before = total("capex_usd"), total("revenue_before_obsolescence_usd")
    lease, potential = total("lease_revenue_usd"), total("potential_revenue_usd")
    contract = total("contract_revenue_usd")
    earned = before + lease + contract
    # Only a scenario with take-or-pay contracts reports their revenue.
    contracts = {"revenue_contract_usd": contract} if contract else {}
    return {
        "capex_usd": capex,
        "revenue_before_obsolescence_usd": before,
        "revenue_lease_usd": lease,
        **contracts,
        "capex_monetised_share": earned / capex if capex else math.nan,
        "potential_revenue_usd": potential,
        "capture": earned / potential if potential > 0 else math.nan,
        "idle_value_usd": total("idle_value_usd"),
        "opex_usd": total("opex_usd"),
        "margin_usd": total("margin_usd"),
        "stranded_book_value_usd": total("stranded_book_value_usd"),
    }


def _date(res: RunResult, t_h: float) -> str | None:
    if not math.isfinite(t_h):
        return None
    return (res.scenario.start + timedelta(days=math.floor(t_h / HOURS_PER_DAY))).isoformat()


# Summary metrics by their range (the key before any ``.who``), for intervals that respect it.
SHARES = frozenset({"utilisation", "goodput", "stranded_free_share"})
NON_NEGATIVE = frozenset(
    {
        *("jobs_submitted", "jobs_finished", "jobs_running_at_horizon", "jobs_queued_at_horizon"),
        *("jobs_skipped", "jobs_turned_away", "preemptions", "node_failures", "restarts"),
        *("gpu_h_in_service", "gpu_h_busy", "lost_gpu_h", "credit_gpu_h", "horizon_days"),
        *("wait_mean_h", "wait_p50_h", "wait_p95_h", "wait_p99_h", "wait_p95_h_offered"),
        *("revenue_usd", "revenue_cash_usd", "revenue_credit_usd", "revenue_escrow_view_usd"),
        *("revenue_before_obsolescence_usd", "revenue_lease_usd", "potential_revenue_usd"),
        "revenue_contract_usd",
        *("capex_usd", "opex_usd", "stranded_book_value_usd", "escrow_revenue_usd"),
        *("credits_granted_usd", "credits_burned_usd", "credits_left_usd"),
        *("credits_forfeited_usd", "effective_usd_per_gpu_h"),
        # Ratios of money earned to money spent or possible: at least 0, and not capped at 1
        # (a cohort may earn back its capex more than once; a tier may pay above list price).
        *("payback", "capture", "capex_monetised_share"),
    }
)


def metric_range(key: str) -> tuple[float, float]:
    """The values summary metric ``key`` can take: ``(0, 1)`` for shares, ``(0, inf)`` for
    counts, times, GPU-hours, money earned and ratios of them, and unbounded for the rest
    (``margin_usd``, ``idle_value_usd`` and any key not listed here)."""
    base = key.split(".", 1)[0]
    if base in SHARES:
        return 0.0, 1.0
    if base in NON_NEGATIVE:
        return 0.0, math.inf
    return -math.inf, math.inf
