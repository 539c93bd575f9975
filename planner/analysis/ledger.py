"""Money by calendar month: the ``ledger`` and ``credit_ledger`` tables.

The ``ledger`` has one row per month and cohort, the ``credit_ledger`` one per month and credit
tenant; both are built from runs cut at month edges (:mod:`planner.analysis.months`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.analysis.cohorts import lease_usd_per_idle_gpu_h
from planner.analysis.columns import FloatArray, _groups, _sum_by
from planner.analysis.contracts import contract_revenue
from planner.analysis.credits import CreditUse
from planner.analysis.depreciation import book_value
from planner.analysis.months import Months, Pieces
from planner.analysis.runs import Segments
from planner.analysis.timeseries import InService
from planner.model.record import RunRecord

LEDGER_COLUMNS = (
    "month",
    "from_h",
    "to_h",
    "cohort",
    "gpu_model",
    "region",
    "gpus_in_service",
    "in_service_gpu_h",
    "busy_gpu_h",
    "utilisation",
    "revenue_usd",
    "potential_revenue_usd",
    "opex_usd",
    "leased_gpu_h",
    "lease_revenue_usd",
    "contract_revenue_usd",
    "margin_usd",
    "capex_spent_usd",
    "depreciation_usd",
    "written_off_usd",
    "book_value_usd",
    "cumulative_revenue_usd",
    "payback_to_date",
)


def _ledger(
    record: RunRecord,
    seg: Segments,
    in_service: InService,
    months: Months,
    pieces: Pieces,
    piece_revenue: FloatArray,
) -> pd.DataFrame:
    """One row per calendar month and cohort: use, revenue, costs and book value.

    Revenue is earned as GPU-hours are used (each stretch's price integrated over its part in the
    month), so summed over months it is the cohort's ``revenue_usd``; GPU-hours and opex likewise.
    Take-or-pay contract revenue is apart (``contract_revenue_usd``: see
    :mod:`planner.analysis.contracts`) and counts in the margin and payback like lease revenue.
    Potential revenue counts in-service GPU-hours before obsolescence only, as in ``cohorts``.
    The book value rolls forward: its value at a month's end is the previous month's plus
    ``capex_spent_usd`` less ``depreciation_usd`` and ``written_off_usd`` (see :class:`BookValue`).
    """
    n_months, n_cohorts = len(months.first_day), len(record.cohorts)
    key = seg.cohort[pieces.seg] * n_months + pieces.month
    size = n_cohorts * n_months
    revenue = _sum_by(key, piece_revenue, size).reshape(n_cohorts, n_months)
    held_gpu_h = seg.gpus[pieces.seg] * (pieces.to_h - pieces.from_h)
    busy = _sum_by(key, held_gpu_h, size).reshape(n_cohorts, n_months)
    contract = contract_revenue(record, in_service, months).by_cohort_month()
    frames = [
        _cohort_ledger(record, in_service, c, months, revenue[c], busy[c], contract[c])
        for c in range(n_cohorts)
    ]
    if not frames:
        return _empty(LEDGER_COLUMNS, labels=("month", "cohort", "gpu_model", "region"))
    table = pd.concat(frames, ignore_index=True)
    order = np.argsort(np.tile(np.arange(n_months), n_cohorts), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _cohort_ledger(
    record: RunRecord,
    in_service: InService,
    cohort: int,
    months: Months,
    revenue_usd: FloatArray,
    busy_gpu_h: FloatArray,
    contract_usd: FloatArray,
) -> pd.DataFrame:
    """The ledger rows of one cohort, one per month."""
    c, price = record.cohorts[cohort], record.prices[cohort]
    t0, t1 = months.edges_h[:-1], months.edges_h[1:]
    gpu_h = in_service.level([cohort]).integral(months.edges_h)
    opex = gpu_h * price.opex_usd_per_gpu_h
    book = book_value(record, cohort)
    leased_share, usd_per_idle_gpu_h = lease_usd_per_idle_gpu_h(record)[cohort]
    idle_gpu_h = np.maximum(0.0, gpu_h - busy_gpu_h)
    lease = idle_gpu_h * usd_per_idle_gpu_h
    cumulative = np.cumsum(revenue_usd + lease + contract_usd)
    return pd.DataFrame(
        {
            "month": months.first_day,
            "from_h": t0,
            "to_h": t1,
            "cohort": c.name,
            "gpu_model": c.model,
            "region": c.region,
            "gpus_in_service": gpu_h / (t1 - t0),
            "in_service_gpu_h": gpu_h,
            "busy_gpu_h": busy_gpu_h,
            "utilisation": np.divide(
                busy_gpu_h, gpu_h, out=np.full(len(t0), np.nan), where=gpu_h > 0
            ),
            "revenue_usd": revenue_usd,
            "potential_revenue_usd": _potential_revenue_usd(record, cohort, months),
            "opex_usd": opex,
            "leased_gpu_h": idle_gpu_h * leased_share,
            "lease_revenue_usd": lease,
            "contract_revenue_usd": contract_usd,
            "margin_usd": revenue_usd + lease + contract_usd - opex,
            "capex_spent_usd": book.capex_spent_usd(t0, t1),
            "depreciation_usd": book.depreciation_usd(t0, t1),
            "written_off_usd": book.written_off_usd(t0, t1),
            "book_value_usd": book.book_value_usd(t1),
            "cumulative_revenue_usd": cumulative,
            "payback_to_date": cumulative / book.capex_usd,
        }
    )


def _potential_revenue_usd(record: RunRecord, cohort: int, months: Months) -> FloatArray:
    """List price x the cohort's in-service GPU-hours before obsolescence, per month."""
    rec, price = record.recorded, record.prices[cohort]
    entered = dict(zip(rec.in_service_cohort, rec.in_service_h, strict=True))
    if cohort not in entered:
        return np.zeros(len(months.first_day))
    retired = dict(zip(rec.retired_cohort, rec.retired_h, strict=True))
    lo = entered[cohort]
    hi = max(lo, min(retired.get(cohort, record.scenario.horizon_h), price.obsolete_at_h))
    a = np.clip(months.edges_h[:-1], lo, hi)
    b = np.clip(months.edges_h[1:], lo, hi)
    return record.cohorts[cohort].gpus * price.curve.integral_array(a, b)


CREDIT_LEDGER_COLUMNS = (
    "month",
    "from_h",
    "to_h",
    "tenant",
    "revenue_usd",
    "cash_usd",
    "credits_burned_usd",
    "credits_granted_usd",
    "credits_forfeited_usd",
    "revenue_escrow_view_usd",
    "credit_gpu_h",
)


def _credit_ledger(
    record: RunRecord,
    seg: Segments,
    months: Months,
    pieces: Pieces,
    piece_revenue: FloatArray,
    credit: CreditUse,
) -> pd.DataFrame:
    """One row per calendar month and credit tenant: both accounting views of its deal.

    The burn view recognises credits as they are burned (``credits_burned_usd``, timed by when
    the GPU-hours they paid for were used: see :func:`credit_use`); the escrow view recognises
    the whole grant in the month it is granted (``credits_granted_usd``). The tenant's revenue
    is ``cash_usd + credits_burned_usd`` in the first view and ``revenue_escrow_view_usd =
    cash_usd + credits_granted_usd`` in the second. Forfeits fall in the month of expiry.
    """
    n_months = len(months.first_day)
    names = [t.name for t in record.scenario.tenants]
    deals = sorted(record.accounts)
    # Each deal's pieces in their order, so each month adds them up in the same order.
    deal_of = np.full(len(names), -1, dtype=np.int64)
    deal_of[deals] = np.arange(len(deals))
    of_deal = _groups(deal_of[record.jobs.tenant[seg.job[pieces.seg]]], len(deals))
    frames = []
    for tenant, mine in zip(deals, of_deal, strict=True):
        month = pieces.month[mine]
        revenue = _sum_by(month, piece_revenue[mine], n_months)
        burned = _sum_by(month, credit.usd[mine], n_months)
        gpu_h = _sum_by(month, credit.gpu_h[mine], n_months)
        granted, forfeited = np.zeros(n_months), np.zeros(n_months)
        for e in record.recorded.credit_events:
            if e.tenant == tenant and e.kind in ("granted", "expired"):
                into = granted if e.kind == "granted" else forfeited
                into[months.of(np.array(e.t_h))] += e.amount_usd
        cash = revenue - burned
        frames.append(
            pd.DataFrame(
                {
                    "month": months.first_day,
                    "from_h": months.edges_h[:-1],
                    "to_h": months.edges_h[1:],
                    "tenant": names[tenant],
                    "revenue_usd": revenue,
                    "cash_usd": cash,
                    "credits_burned_usd": burned,
                    "credits_granted_usd": granted,
                    "credits_forfeited_usd": forfeited,
                    "revenue_escrow_view_usd": cash + granted,
                    "credit_gpu_h": gpu_h,
                }
            )
        )
    if not frames:
        return _empty(CREDIT_LEDGER_COLUMNS, labels=("month", "tenant"))
    table = pd.concat(frames, ignore_index=True)
    order = np.argsort(np.tile(np.arange(n_months), len(frames)), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _empty(columns: Sequence[str], labels: Sequence[str]) -> pd.DataFrame:
    """A table with no rows: ``labels`` columns hold objects (dates, names), the rest floats."""
    return pd.DataFrame(
        {name: pd.Series([], dtype=object if name in labels else np.float64) for name in columns}
    )
