"""Tables of recorded outcomes, one row each: ``orders``, ``credit_events`` and ``failures``."""

from __future__ import annotations

from dataclasses import astuple, fields

import pandas as pd

from planner.analysis.columns import _labels
from planner.model.record import RunRecord
from planner.model.supply import OrderOutcome


def _failures(record: RunRecord) -> pd.DataFrame:
    """One row per node failure: when, on which cohort, and whether a spare replaced it."""
    rec = record.recorded
    cohort = rec.failure_cohort
    cohorts = record.cohorts
    return pd.DataFrame(
        {
            "t_h": rec.failure_h.copy(),
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "gpus": rec.failure_gpus.copy(),
            "spare_used": rec.failure_spare.astype(bool),
            "cause": pd.Series(list(rec.failure_cause), dtype="str"),
        }
    )


FRAGMENTATION_COLUMNS = (
    "t_h",
    "gpu_model",
    "region",
    "free_gpus",
    "stranded_gpus",
    "queued_jobs",
)


def _fragmentation(record: RunRecord) -> pd.DataFrame:
    """Daily per pool: free GPUs, and those no queued job could use where they lie
    (``stranded_gpus``), with the queued jobs that may use the pool."""
    return pd.DataFrame(list(record.recorded.fragmentation), columns=list(FRAGMENTATION_COLUMNS))


def _orders(record: RunRecord) -> pd.DataFrame:
    columns = [f.name for f in fields(OrderOutcome)]
    frame = pd.DataFrame([astuple(o) for o in record.orders], columns=columns)
    return frame.rename(columns={"name": "order", "model": "gpu_model"})


def _credit_events(record: RunRecord) -> pd.DataFrame:
    names = [t.name for t in record.scenario.tenants]
    rows = [[names[e.tenant], e.kind, e.t_h, e.amount_usd] for e in record.recorded.credit_events]
    return pd.DataFrame(rows, columns=["tenant", "kind", "t_h", "amount_usd"])
