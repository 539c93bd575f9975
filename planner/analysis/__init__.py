"""Collectors: the recorder's raw records → tidy pandas tables of one run.

Time-weighted levels (GPUs busy, queue length) are rebuilt here from job start and end times, so
the event loop pays nothing for them. Money by calendar month (the ``ledger`` and
``credit_ledger`` tables) comes from each stretch a job held GPUs, cut at month edges.

One module per concept, each importing only modules before it in this list: ``columns`` (shared
column types), ``runs`` (segments and the ``runs`` table), ``jobs``, ``timeseries`` (levels and
the daily tables), ``depreciation`` (book value), ``cohorts`` (and lease rates), ``months``
(month pieces), ``credits`` (credit use), ``ledger`` (and ``credit_ledger``), ``tenants``,
``events`` (orders, credit events, failures); this module joins them in :func:`collect`. A name
with a leading underscore is private to this package: its modules may import it, nothing else
should.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from planner.analysis.cohorts import _cohorts, lease_usd_per_idle_gpu_h, model_lease_terms
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
from planner.analysis.finance import finance
from planner.analysis.jobs import CLASSES, JOB_COLUMNS, PAID_WITH, STATES, _jobs, censored_wait_h
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
from planner.analysis.runs import Segments, _runs, segments
from planner.analysis.tenants import _tenants
from planner.analysis.timeseries import _pool_timeseries, _timeseries, daily_mean, level_integral
from planner.model.engine import Model
from planner.scenario.schema import Scenario

__all__ = [
    "CLASSES",
    "CREDIT_LEDGER_COLUMNS",
    "FRAGMENTATION_COLUMNS",
    "JOB_COLUMNS",
    "LEDGER_COLUMNS",
    "PAID_WITH",
    "STATES",
    "BookValue",
    "CreditUse",
    "FloatArray",
    "Months",
    "Pieces",
    "Segments",
    "Tables",
    "book_value",
    "calendar_months",
    "censored_wait_h",
    "collect",
    "credit_use",
    "daily_mean",
    "lease_usd_per_idle_gpu_h",
    "level_integral",
    "model_lease_terms",
    "month_pieces",
    "piece_revenue_usd",
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


def collect(model: Model) -> Tables:
    """Build every table from a model that has run."""
    seg = segments(model)
    jobs = _jobs(model, seg)
    months = calendar_months(model.scenario)
    pieces = month_pieces(seg, months.edges_h)
    piece_revenue = piece_revenue_usd(model, seg, pieces.seg, pieces.from_h, pieces.to_h)
    credit = credit_use(model, seg, pieces)
    cohorts = _cohorts(model, seg)
    tables = Tables(
        jobs=jobs,
        timeseries=_timeseries(model, jobs, seg),
        pool_timeseries=_pool_timeseries(model, seg),
        cohorts=cohorts,
        tenants=_tenants(model, jobs, seg, pieces, credit, cohorts),
        orders=_orders(model),
        credit_events=_credit_events(model),
        ledger=_ledger(model, seg, months, pieces, piece_revenue),
        credit_ledger=_credit_ledger(model, seg, months, pieces, piece_revenue, credit),
        failures=_failures(model),
        runs=_runs(model, seg),
        fragmentation=_fragmentation(model),
    )
    return _with_finance(model.scenario, tables)


def _with_finance(sc: Scenario, tables: Tables) -> Tables:
    """``tables`` with the cohorts' cash-flow figures and the ``cash_flows`` table added."""
    result = finance(sc, tables.cohorts, tables.ledger, tables.runs, tables.jobs)
    cohorts = pd.concat([tables.cohorts, result.cohorts], axis=1)
    return replace(tables, cohorts=cohorts, cash_flows=result.cash_flows)
