"""The ``cohorts`` table (capex, use, revenue against its potential, book value) and lease rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.analysis.columns import _groups, _sum_by, _where
from planner.analysis.contracts import contract_revenue
from planner.analysis.depreciation import book_value, stranded_book_value_usd
from planner.analysis.runs import Charges, Segments
from planner.analysis.timeseries import InService
from planner.leasing import LeaseTerm, lease_terms
from planner.model.record import RunRecord


def _cohorts(
    record: RunRecord, seg: Segments, paid: Charges, gpus_in_service: InService
) -> pd.DataFrame:
    """Per cohort: capex, use, revenue against its potential, and its book value.

    ``stranded_book_value_usd`` is, for a cohort obsolete within the horizon, its book value at
    obsolescence (written off then: see :class:`BookValue`); for one still in service at the
    horizon, the part of its book value at the horizon that its revenue so far has not earned
    back: ``min(book value at horizon, max(0, capex - revenue to date))``.
    """
    sc, rec = record.scenario, record.recorded
    horizon = sc.horizon_h
    in_service = dict(zip(rec.in_service_cohort, rec.in_service_h, strict=True))
    retired = dict(zip(rec.retired_cohort, rec.retired_h, strict=True))
    lease_rate = lease_usd_per_idle_gpu_h(record)
    contract_of = contract_revenue(record, gpus_in_service).by_cohort()
    n = len(record.cohorts)
    failures_on = np.bincount(rec.failure_cohort, minlength=n)
    lost_on = _sum_by(rec.lost_cohort, rec.lost_gpu_h, n)
    rows = []
    for c, price, mine in zip(record.cohorts, record.prices, _groups(seg.cohort, n), strict=True):
        obsolete = price.obsolete_at_h
        a, b = seg.from_h[mine], seg.to_h[mine]
        revenue = float(seg.revenue_usd[mine].sum())
        paying = _where(mine, paid.charged[mine])
        # What each run pays for starts when it starts to pay (a take-or-pay term's end).
        a_paying, b_paying = paid.charged_from_h[paying], seg.to_h[paying]
        # GPUs weighted by what each pays over the list price (its contract tier).
        gpus = seg.gpus[paying] * paid.price_factor[paying]
        before = float(
            np.sum(gpus * price.curve.integral_array(a_paying, np.minimum(b_paying, obsolete)))
        )
        after = float(np.sum(gpus * price.integral_array(np.maximum(a_paying, obsolete), b_paying)))
        served_from = in_service.get(c.index, math.nan)
        served_to = retired.get(c.index, horizon)
        in_service_gpu_h = potential = 0.0
        if not math.isnan(served_from):
            potential = c.gpus * price.curve.integral(served_from, min(served_to, obsolete))
            in_service_gpu_h = gpus_in_service.gpu_h(c.index, horizon)
        busy_gpu_h = float(np.sum(seg.gpus[mine] * (b - a)))
        book = book_value(record, c.index)
        capex = book.capex_usd
        opex = in_service_gpu_h * price.opex_usd_per_gpu_h
        leased_share, usd_per_idle_gpu_h = lease_rate[c.index]
        idle_gpu_h = max(0.0, in_service_gpu_h - busy_gpu_h)
        leased_gpu_h, lease = idle_gpu_h * leased_share, idle_gpu_h * usd_per_idle_gpu_h
        # Contract and lease revenue are earned beside job revenue: payback counts them alike.
        contract = float(contract_of[c.index])
        earned = before + lease + contract
        rows.append(
            {
                "cohort": c.name,
                "gpu_model": c.model,
                "region": c.region,
                "gpus": c.gpus,
                "source": c.source,
                "capex_usd": capex,
                "opex_usd_per_gpu_h": price.opex_usd_per_gpu_h,
                "acquired_h": c.in_service_h,
                "in_service_from_h": served_from,
                "retired_at_h": retired.get(c.index, math.nan),
                "obsolete_at_h": obsolete,
                "obsolete_within_horizon": obsolete < horizon,
                "in_service_gpu_h": in_service_gpu_h,
                "busy_gpu_h": busy_gpu_h,
                "utilisation": busy_gpu_h / in_service_gpu_h if in_service_gpu_h else math.nan,
                "node_failures": int(failures_on[c.index]),
                "lost_gpu_h": float(lost_on[c.index]),
                "goodput": 1.0 - lost_on[c.index] / busy_gpu_h if busy_gpu_h else math.nan,
                "revenue_usd": revenue,
                "revenue_before_obsolescence_usd": before,
                "revenue_after_obsolescence_usd": after,
                "potential_revenue_usd": potential,
                "leased_gpu_h": leased_gpu_h,
                "lease_revenue_usd": lease,
                "contract_revenue_usd": contract,
                "payback": earned / capex,
                "capture": earned / potential if potential > 0 else math.nan,
                "idle_value_usd": potential - earned,
                "opex_usd": opex,
                "margin_usd": revenue + lease + contract - opex,
                "book_value_at_obsolescence_usd": book.at_obsolescence_usd,
                "book_value_at_horizon_usd": float(book.book_value_usd(np.array(horizon))),
                "stranded_book_value_usd": stranded_book_value_usd(
                    book, horizon, revenue + lease + contract
                ),
            }
        )
    return pd.DataFrame(rows)


def lease_usd_per_idle_gpu_h(record: RunRecord) -> list[tuple[float, float]]:
    """Per cohort: share of its idle GPU-hours leased out, and lease revenue per idle GPU-hour."""
    rates = [(0.0, 0.0) for _ in record.cohorts]
    for term in cohort_lease_terms(record):
        share, usd = rates[term.cohort]
        rates[term.cohort] = (share + term.share, usd + term.share * term.usd_per_gpu_h)
    return rates


def cohort_lease_terms(record: RunRecord) -> list[LeaseTerm]:
    """The wholesale lease terms on a run's cohorts."""
    return lease_terms(record.scenario, [(c.model, c.region) for c in record.cohorts])
