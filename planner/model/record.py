"""The record of one run: what the tables are built from, and nothing of the engine that ran it.

An engine hands its finished run over as a :class:`RunRecord`: the scenario with the seed and
replication it ran on, what was built from them before time zero (the jobs, the cohorts and their
prices, the orders' outcomes), the credit accounts as they stood at the horizon, and what was
recorded while it ran (:class:`Recorded`). :mod:`planner.analysis` reads only this, so the tables
cannot tell which engine ran, and no engine's internals shape them.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.model.billing import AccountState, CreditAccount
from planner.model.demand import JobBatch
from planner.model.market import CohortPrice
from planner.model.supply import CohortPlan, OrderOutcome
from planner.recording import CreditEvent, Recorder
from planner.scenario.schema import Scenario

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Flags = NDArray[np.int8]


@dataclass(frozen=True, eq=False)
class Recorded:
    """What was recorded during a run, column by column, as read-only arrays.

    The columns are those of :class:`planner.recording.Recorder` under the same names, with the
    same meaning: row i of ``start_job``, ``start_h``, ``start_cohort`` and ``start_gpus`` is
    one run's start, in the order runs started; likewise for ends, lost work, failures,
    repairs, skipped submissions, credit draws, cohorts entering service and retiring.
    """

    start_job: Ints
    start_h: Floats
    start_cohort: Ints
    start_gpus: Ints
    quota_start: Ints  # rows of the start columns whose run is inside a reservation
    end_job: Ints
    end_h: Floats
    end_interrupted: Flags  # 0 completed, else planner.recording.FAILED or PREEMPTED
    lost_job: Ints
    lost_cohort: Ints
    lost_gpu_h: Floats
    failure_h: Floats
    failure_cohort: Ints
    failure_gpus: Ints
    failure_spare: Flags
    failure_cause: tuple[str, ...]
    repair_h: Floats
    repair_cohort: Ints
    repair_gpus: Ints
    skipped_job: Ints
    skipped_reason: Flags  # a planner.recording.SKIP_REASONS index
    credit_job: Ints
    credit_usd: Floats
    in_service_cohort: Ints
    in_service_h: Floats
    retired_cohort: Ints
    retired_h: Floats
    credit_events: tuple[CreditEvent, ...]
    churned: Mapping[int, float]  # tenant -> when it left
    # Daily per pool: (t_h, model, region, free GPUs, free GPUs no queued job fits, queued jobs).
    fragmentation: tuple[tuple[float, str, str, int, int, int], ...]

    @classmethod
    def of(cls, rec: Recorder, taken: Mapping[str, NDArray[Any]] | None = None) -> Recorded:
        """The recorder's columns as read-only arrays over its own memory (no copy).

        ``taken`` holds columns an engine recorded in arrays of its own, under the Recorder's
        names and dtypes; they are used as they are (read-only views, no copy) in place of
        the Recorder's, which must then have recorded nothing in them.
        """
        taken = taken or {}
        columns = {
            f.name: _read_only(values)
            for f in fields(cls)
            if isinstance(values := getattr(rec, f.name), array) and f.name not in taken
        }
        for name, values in taken.items():
            if len(getattr(rec, name)):
                raise RuntimeError(f"{name} was recorded both by the Recorder and by the engine")
            view = values.view()
            view.flags.writeable = False
            columns[name] = view
        return cls(
            **columns,
            failure_cause=tuple(rec.failure_cause),
            credit_events=tuple(rec.credit_events),
            churned=MappingProxyType(dict(rec.churned)),
            fragmentation=tuple(rec.fragmentation),
        )


def _read_only(values: array[Any]) -> NDArray[Any]:
    # An array's typecode ("q", "d", "b") names the same C type as a numpy dtype.
    out = np.frombuffer(values, dtype=values.typecode)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class CreditAccountRecord:
    """A credit tenant's account: its grant's validity window, and where it stood at the
    horizon."""

    granted_h: float
    expires_h: float
    balance_usd: float  # left at the horizon
    state: AccountState  # at the horizon

    @classmethod
    def of(cls, account: CreditAccount) -> CreditAccountRecord:
        return cls(account.granted_h, account.expires_h, account.balance_usd, account.state)


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One finished run of ``scenario`` on ``seed`` and ``replication``: its build products and
    its records.

    ``cohorts`` and ``prices`` are indexed alike (a cohort's index is its place in both);
    ``accounts`` holds the credit tenants' accounts by tenant index.
    """

    scenario: Scenario
    seed: int
    replication: int
    jobs: JobBatch
    cohorts: tuple[CohortPlan, ...]
    prices: tuple[CohortPrice, ...]
    orders: tuple[OrderOutcome, ...]
    accounts: Mapping[int, CreditAccountRecord]
    recorded: Recorded
