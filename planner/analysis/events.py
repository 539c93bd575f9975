"""Tables of recorded outcomes, one row each: ``orders``, ``credit_events`` and ``failures``."""

from __future__ import annotations

from dataclasses import astuple, fields

import numpy as np
import pandas as pd

from planner.analysis.columns import _labels
from planner.model.engine import Model
from planner.model.supply import OrderOutcome


def _failures(model: Model) -> pd.DataFrame:
    """One row per node failure: when, on which cohort, and whether a spare replaced it."""
    rec = model.recorder
    cohort = np.frombuffer(rec.failure_cohort, dtype=np.int64)
    cohorts = model.cohorts
    return pd.DataFrame(
        {
            "t_h": np.frombuffer(rec.failure_h).copy(),
            "cohort": _labels(cohort, [c.name for c in cohorts]),
            "gpu_model": _labels(cohort, [c.model for c in cohorts]),
            "region": _labels(cohort, [c.region for c in cohorts]),
            "gpus": np.frombuffer(rec.failure_gpus, dtype=np.int64).copy(),
            "spare_used": np.frombuffer(rec.failure_spare, dtype=np.int8).astype(bool),
            "cause": pd.Series(rec.failure_cause, dtype="str"),
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


def _fragmentation(model: Model) -> pd.DataFrame:
    """Daily per pool: free GPUs, and those no queued job could use where they lie
    (``stranded_gpus``), with the queued jobs that may use the pool."""
    return pd.DataFrame(model.recorder.fragmentation, columns=list(FRAGMENTATION_COLUMNS))


def _orders(model: Model) -> pd.DataFrame:
    columns = [f.name for f in fields(OrderOutcome)]
    frame = pd.DataFrame([astuple(o) for o in model.orders], columns=columns)
    return frame.rename(columns={"name": "order", "model": "gpu_model"})


def _credit_events(model: Model) -> pd.DataFrame:
    names = [t.name for t in model.scenario.tenants]
    rows = [[names[e.tenant], e.kind, e.t_h, e.amount_usd] for e in model.recorder.credit_events]
    return pd.DataFrame(rows, columns=["tenant", "kind", "t_h", "amount_usd"])
