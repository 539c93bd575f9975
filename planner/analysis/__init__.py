"""Collectors: the record of one run (:class:`~planner.model.record.RunRecord`) → tidy pandas
tables. They read only the record, never the engine that produced it.

Time-weighted levels (GPUs busy, queue length) are rebuilt here from job start and end times, so
the event loop pays nothing for them. Money by calendar month (the ``ledger`` and
``credit_ledger`` tables) comes from each stretch a job held GPUs, cut at month edges.

One module per concept, each importing only modules before it in this list: ``columns`` (shared
column types), ``runs`` (segments and the ``runs`` table), ``jobs``, ``timeseries`` (levels and
the daily tables), ``depreciation`` (book value), ``cohorts`` (and lease rates), ``months``
(month pieces), ``credits`` (credit use), ``ledger`` (and ``credit_ledger``), ``tenants``,
``events`` (orders, credit events, failures), ``pools`` (cohorts summed per pool); this module
joins them in :func:`collect`. A name with a leading underscore is private to this package: its
modules may import it, nothing else should.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import pandas as pd

from planner.analysis.cohorts import _cohorts, cohort_lease_terms, lease_usd_per_idle_gpu_h
from planner.analysis.columns import FloatArray
from planner.analysis.credits import CreditUse, credit_use
from planner.analysis.depreciation import BookValue, book_value, stranded_book_value_usd
from planner.analysis.events import (
    FRAGMENTATION_COLUMNS,
    _credit_events,
    _failures,
    _fragmentation,
    _orders,
)
from planner.analysis.finance import FinanceResult, finance
from planner.analysis.jobs import (
    CLASSES,
    JOB_COLUMNS,
    PAID_WITH,
    STATES,
    JobTimes,
    _jobs,
    censored_wait_h,
    job_times,
)
from planner.analysis.ledger import (
    CREDIT_LEDGER_COLUMNS,
    LEDGER_COLUMNS,
    _credit_ledger,
    _ledger,
)
from planner.analysis.months import (
    Months,
    Pieces,
    calendar_months,
    month_pieces,
    piece_revenue_usd,
)
from planner.analysis.pools import POOL_COLUMNS, pools
from planner.analysis.runs import Charges, Segments, _runs, priced_segments, segments
from planner.analysis.tenants import _tenants
from planner.analysis.timeseries import (
    InService,
    Level,
    _busy,
    _pool_timeseries,
    _timeseries,
    daily_mean,
    in_service,
    level_integral,
)
from planner.model.record import RunRecord
from planner.scenario.schema import Scenario

__all__ = [
    "CLASSES",
    "CREDIT_LEDGER_COLUMNS",
    "FRAGMENTATION_COLUMNS",
    "JOB_COLUMNS",
    "LEDGER_COLUMNS",
    "PAID_WITH",
    "POOL_COLUMNS",
    "STATES",
    "TABLE_NAMES",
    "BookValue",
    "Charges",
    "CreditUse",
    "FloatArray",
    "InService",
    "JobTimes",
    "Level",
    "Months",
    "Pieces",
    "Segments",
    "Tables",
    "book_value",
    "calendar_months",
    "censored_wait_h",
    "cohort_lease_terms",
    "collect",
    "credit_use",
    "daily_mean",
    "in_service",
    "job_times",
    "lease_usd_per_idle_gpu_h",
    "level_integral",
    "month_pieces",
    "piece_revenue_usd",
    "priced_segments",
    "segments",
    "stranded_book_value_usd",
]


@dataclass(frozen=True)
class Tables:
    """Every table of one run."""

    jobs: pd.DataFrame
    timeseries: pd.DataFrame
    pool_timeseries: pd.DataFrame
    cohorts: pd.DataFrame
    tenants: pd.DataFrame
    orders: pd.DataFrame
    credit_events: pd.DataFrame
    ledger: pd.DataFrame
    credit_ledger: pd.DataFrame
    failures: pd.DataFrame
    runs: pd.DataFrame
    fragmentation: pd.DataFrame
    cash_flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    pools: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Not a table: the cash flows the cohorts, cash_flows and pools tables were built from, kept
    # so a summary of the run need not compute them again. None where they were not computed.
    finance: FinanceResult | None = field(default=None, repr=False, compare=False)


# The tables' names, in order (every field of Tables but ``finance``).
TABLE_NAMES = tuple(f.name for f in fields(Tables) if f.name != "finance")


def collect(record: RunRecord) -> Tables:
    """Build every table of a run from its record."""
    # Ordered so that each large intermediate (one row per run, per month piece or per change
    # of a level) is dropped as soon as the last table that reads it is built, and none of
    # them is alive beside the jobs table, the largest: a million-job run's peak memory is
    # set here, not in the engine.
    seg, paid = priced_segments(record)
    gpus_in_service = in_service(record, seg)
    cohorts = _cohorts(record, seg, paid, gpus_in_service)
    months = calendar_months(record.scenario)
    pieces = month_pieces(seg, months.edges_h)
    piece_revenue = piece_revenue_usd(record, seg, paid, pieces.seg, pieces.from_h, pieces.to_h)
    credit = credit_use(record, seg, paid, pieces)
    ledger = _ledger(record, seg, gpus_in_service, months, pieces, piece_revenue)
    credit_ledger = _credit_ledger(record, seg, months, pieces, piece_revenue, credit)
    tenant_credit = credit.by_tenant(record, seg, pieces)
    del paid, pieces, piece_revenue, credit
    busy = _busy(record, seg)
    times = job_times(record, seg)
    timeseries = _timeseries(record, times, busy, gpus_in_service)
    pool_timeseries = _pool_timeseries(record, busy, gpus_in_service)
    del busy
    jobs = _jobs(record, seg, times)
    del times
    tenants = _tenants(record, jobs, gpus_in_service, tenant_credit, cohorts)
    runs = _runs(record, seg)
    del seg
    tables = Tables(
        jobs=jobs,
        timeseries=timeseries,
        pool_timeseries=pool_timeseries,
        cohorts=cohorts,
        tenants=tenants,
        orders=_orders(record),
        credit_events=_credit_events(record),
        ledger=ledger,
        credit_ledger=credit_ledger,
        failures=_failures(record),
        runs=runs,
        fragmentation=_fragmentation(record),
    )
    return _with_finance(record.scenario, tables)


def _with_finance(sc: Scenario, tables: Tables) -> Tables:
    """``tables`` with the cohorts' cash-flow figures, the ``cash_flows`` table and the
    ``pools`` table (which sums the cohorts' figures, NPV included) added."""
    result = finance(sc, tables.cohorts, tables.ledger, tables.runs, tables.jobs)
    cohorts = pd.concat([tables.cohorts, result.cohorts], axis=1)
    return replace(
        tables,
        cohorts=cohorts,
        cash_flows=result.cash_flows,
        pools=pools(sc, cohorts),
        finance=result,
    )
