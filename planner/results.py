"""The result of one simulated run: its tables, its provenance and its summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from planner.analysis import TABLE_NAMES, Tables
from planner.scenario.schema import Scenario


@dataclass(frozen=True)
class RunResult:
    """Tables of one run of ``scenario`` with ``seed``; nothing here writes files."""

    scenario: Scenario
    seed: int
    tables: Tables
    wall_s: float = field(compare=False)

    @property
    def jobs(self) -> pd.DataFrame:
        """One row per submitted job, including those still queued or running at the horizon."""
        return self.tables.jobs

    @property
    def timeseries(self) -> pd.DataFrame:
        """Fleet-level daily time-averages: GPUs in service and busy, utilisation, queue."""
        return self.tables.timeseries

    @property
    def pool_timeseries(self) -> pd.DataFrame:
        """Daily GPUs in service and busy per (GPU model, region)."""
        return self.tables.pool_timeseries

    @property
    def cohorts(self) -> pd.DataFrame:
        """Per cohort: capex, revenue, payback, capture, obsolescence, book and stranded value,
        and its cash-flow figures: exit, resale, terminal value, NPV, IRR, payback dates."""
        return self.tables.cohorts

    @property
    def tenants(self) -> pd.DataFrame:
        """Per tenant: jobs, waits, revenue, and the credit deal: credits granted, burned,
        forfeited and left, the escrow view, the GPU-hours paid with credits and their price."""
        return self.tables.tenants

    @property
    def orders(self) -> pd.DataFrame:
        """Per order: delivered, cancelled, frozen or still in transit at the horizon."""
        return self.tables.orders

    @property
    def credit_events(self) -> pd.DataFrame:
        """Grants, exhaustions and expiries of credit accounts."""
        return self.tables.credit_events

    @property
    def ledger(self) -> pd.DataFrame:
        """Per calendar month and cohort: GPU-hours, revenue against potential, opex, margin,
        capex, depreciation, write-offs, book value and payback to date."""
        return self.tables.ledger

    @property
    def cash_flows(self) -> pd.DataFrame:
        """Per calendar month and cohort: revenue, internal value, opex, capex, resale, tax, net
        cash flow and terminal value (see :mod:`planner.analysis.finance`)."""
        return self.tables.cash_flows

    @property
    def pools(self) -> pd.DataFrame:
        """Per pool (GPU model and region): its placement rule, utilisation (and its cohorts'
        lowest and highest), revenue, payback, capture, margin and NPV over its cohorts."""
        return self.tables.pools

    @property
    def runs(self) -> pd.DataFrame:
        """Per run of a job (it runs again after a node failure): cohort, GPUs, from and to."""
        return self.tables.runs

    @property
    def failures(self) -> pd.DataFrame:
        """Per node failure: time, cohort, GPUs and whether a spare replaced the node."""
        return self.tables.failures

    @property
    def fragmentation(self) -> pd.DataFrame:
        """Daily per pool: free GPUs, and those no queued job could use as they lie."""
        return self.tables.fragmentation

    @property
    def credit_ledger(self) -> pd.DataFrame:
        """Per calendar month and credit deal: credits burned (burn view) and granted (escrow
        view), forfeits, cash and the GPU-hours paid with credits."""
        return self.tables.credit_ledger

    @cached_property
    def _summary(self) -> pd.Series:
        from planner.summary import summarise

        return summarise(self)

    def summary(self) -> pd.Series:
        """Headline metrics (see :mod:`planner.summary` for the keys)."""
        return self._summary.copy()

    def table(self, name: str) -> pd.DataFrame:
        """A table by name (``jobs``, ``timeseries``, ...)."""
        frame: pd.DataFrame = getattr(self.tables, name)
        return frame

    @staticmethod
    def table_names() -> tuple[str, ...]:
        return TABLE_NAMES
