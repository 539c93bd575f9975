"""The ``tenants`` table: jobs, waits, revenue and leases per tenant, and each credit deal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.analysis.cohorts import cohort_lease_terms
from planner.analysis.columns import _groups
from planner.analysis.contracts import contract_revenue
from planner.analysis.credits import TenantCredit
from planner.analysis.jobs import STATES, censored_wait_h
from planner.analysis.timeseries import InService
from planner.model.record import RunRecord
from planner.recording import SKIP_REASONS


def _tenants(
    record: RunRecord,
    jobs: pd.DataFrame,
    gpus_in_service: InService,
    credit: TenantCredit,
    cohorts: pd.DataFrame,
) -> pd.DataFrame:
    """Per tenant: jobs, waits, revenue, leases, and for a credit tenant its deal (:func:`_deal`).

    ``jobs_skipped`` counts would-be submissions that never happened, of which ``jobs_balked``
    balked at a long expected wait and ``jobs_lost_to_churn`` came after the tenant left over
    long waits (at ``churned_at_h``).
    ``lease_revenue_usd`` is what a wholesale lessee paid for idle GPU-hours (not job revenue);
    ``contract_revenue_usd`` what a tenant paid under its take-or-pay reservation (cash, apart
    from its jobs' ``revenue_usd``).
    """
    sc, rec = record.scenario, record.recorded
    waits = censored_wait_h(jobs, sc.horizon_h)
    skipped_tenant = record.jobs.tenant[rec.skipped_job]
    reason = rec.skipped_reason
    balked = reason == SKIP_REASONS.index("balked")
    churned = reason == SKIP_REASONS.index("churned")
    idle_gpu_h = np.zeros(0)
    if not cohorts.empty:
        idle = cohorts["in_service_gpu_h"] - cohorts["busy_gpu_h"]
        idle_gpu_h = idle.clip(lower=0.0).to_numpy()
    leased_gpu_h = np.zeros(len(sc.tenants))
    lease_usd = np.zeros(len(sc.tenants))
    for term in cohort_lease_terms(record):
        leased_gpu_h[term.tenant] += idle_gpu_h[term.cohort] * term.share
        lease_usd[term.tenant] += idle_gpu_h[term.cohort] * term.share * term.usd_per_gpu_h
    n = len(sc.tenants)
    contract_usd = contract_revenue(record, gpus_in_service).by_tenant(n)
    skipped = np.bincount(skipped_tenant, minlength=n)
    balked_of = np.bincount(skipped_tenant[balked], minlength=n)
    churned_of = np.bincount(skipped_tenant[churned], minlength=n)
    # A table of every job of the batch lists them in order (a view, not a copy, of the
    # batch's tenants).
    every = len(jobs) == len(record.jobs)
    row_tenant = record.jobs.tenant if every else record.jobs.tenant[jobs["job_id"].to_numpy()]
    states = jobs["state"].astype(pd.CategoricalDtype(list(STATES)))
    state_code = states.cat.codes.to_numpy()  # one byte per job
    # Every restart follows an interrupted run: counted from those, not summed over the rows.
    interrupted = rec.end_job[rec.end_interrupted != 0]
    restarts = np.bincount(record.jobs.tenant[interrupted], minlength=n)
    column = {c: jobs[c].to_numpy() for c in SUMMED}
    rows = []
    for i, (t, mine) in enumerate(zip(sc.tenants, _groups(row_tenant, n), strict=True)):
        # Each tenant's jobs in table order, so sums add in the same order as over its rows.
        total = {c: float(values[mine].sum()) for c, values in column.items()}
        w = waits[mine]
        wait_mean_h = float(w.mean()) if len(w) else math.nan
        mine_in = state_code[mine]
        state = {s: np.count_nonzero(mine_in == k) for k, s in enumerate(STATES)}
        # In place: w is this tenant's alone (a copy, or the one tenant's view of waits).
        wait_h = np.percentile(w, (50, 95, 99), overwrite_input=True) if len(w) else [math.nan] * 3
        rows.append(
            {
                "tenant": t.name,
                "tenant_class": t.tenant_class,
                "jobs_submitted": len(w),
                "jobs_skipped": int(skipped[i]),
                "jobs_balked": int(balked_of[i]),
                "jobs_lost_to_churn": int(churned_of[i]),
                "churned_at_h": rec.churned.get(i, math.nan),
                "jobs_finished": int(state["finished"]),
                "jobs_running": int(state["running"]),
                "jobs_queued": int(state["queued"]),
                "gpu_h": total["gpu_h"],
                "restarts": int(restarts[i]),
                "lost_gpu_h": total["lost_gpu_h"],
                "goodput": (
                    1.0 - total["lost_gpu_h"] / total["gpu_h"] if total["gpu_h"] > 0 else math.nan
                ),
                "wait_mean_h": wait_mean_h,
                "wait_p50_h": float(wait_h[0]),
                "wait_p95_h": float(wait_h[1]),
                "wait_p99_h": float(wait_h[2]),
                "revenue_usd": total["revenue_usd"],
                "cash_usd": total["cash_usd"],
                "leased_gpu_h": float(leased_gpu_h[i]),
                "lease_revenue_usd": float(lease_usd[i]),
                "contract_revenue_usd": float(contract_usd[i]),
                **_deal(
                    record,
                    i,
                    burned_usd=total["credit_usd"],
                    credit_gpu_h=float(credit.gpu_h[i]),
                    compute_cost_usd=float(credit.compute_cost_usd[i]),
                ),
            }
        )
    return pd.DataFrame(rows)


def _deal(
    record: RunRecord,
    tenant: int,
    *,
    burned_usd: float,
    credit_gpu_h: float,
    compute_cost_usd: float,
) -> dict[str, object]:
    """A tenant's credit deal: its size, what became of the credits, and what they bought.

    ``escrow_revenue_usd`` is the escrow view: the whole grant, recognised when granted (beside
    ``credits_burned_usd``, recognised as burned). ``credit_gpu_h`` are the GPU-hours paid with
    credits (see :func:`credit_use`); ``compute_cost_usd`` is their operating cost on the cohorts
    they ran on. ``effective_usd_per_gpu_h`` is what the start-up paid in equity per GPU-hour it
    got: credits granted / credit GPU-hours; ``inf`` if credits were granted but never used,
    NaN if none were granted (within the horizon). While a grant is still valid at the horizon
    its unused credits count as paid for, so the figure is then an upper bound.
    """
    grant = record.scenario.tenants[tenant].credit
    account = record.accounts.get(tenant)
    events = [e for e in record.recorded.credit_events if e.tenant == tenant]
    granted = math.fsum(e.amount_usd for e in events if e.kind == "granted")
    forfeited = math.fsum(e.amount_usd for e in events if e.kind == "expired")
    if credit_gpu_h > 0:
        effective = granted / credit_gpu_h
    else:
        effective = math.inf if granted > 0 else math.nan
    investment = grant.investment_usd if grant is not None else None
    share = grant.credit_share if grant is not None else None
    return {
        "investment_usd": investment if investment is not None else math.nan,
        "credit_share": share if share is not None else math.nan,
        "credits_granted_usd": granted,
        "credits_burned_usd": burned_usd,
        "credits_forfeited_usd": forfeited,
        "credits_left_usd": account.balance_usd if account is not None else 0.0,
        "credit_state": account.state if account is not None else None,
        "escrow_revenue_usd": granted,
        "credit_gpu_h": credit_gpu_h,
        "compute_list_value_usd": burned_usd,
        "compute_cost_usd": compute_cost_usd,
        "effective_usd_per_gpu_h": effective,
    }


# Columns of the jobs table summed per tenant.
SUMMED = ("gpu_h", "lost_gpu_h", "revenue_usd", "cash_usd", "credit_usd")
