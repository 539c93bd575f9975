"""Table data: where the revenue came from, cash or credits burned, per cohort and for the
fleet, beside the escrow view that recognises every credit granted when it is granted.

A job pays in cash, in credits, or both (the job that exhausts a grant, or one running past a
grant's window). Its revenue is split between the cohorts it ran on as its runs earned it, and
each run is counted as paid with credits in its job's proportion of credits to revenue, so the
cohorts' credits add up to the jobs' exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def cohort_sources(jobs: pd.DataFrame, runs: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """Per cohort, in the cohorts table's order: ``revenue_usd``, of it ``cash_usd`` and
    ``credits_burned_usd``, and ``credit_share`` (credits over revenue, NaN without revenue).

    ``jobs`` needs ``job_id``, ``revenue_usd`` and ``credit_usd``; ``runs`` needs ``job_id``,
    ``cohort`` and ``revenue_usd``.
    """
    paid = jobs.set_index("job_id")
    revenue = paid["revenue_usd"].to_numpy(dtype=float)
    credit = paid["credit_usd"].to_numpy(dtype=float)
    share = pd.Series(
        np.divide(credit, revenue, out=np.zeros(len(paid)), where=revenue > 0), index=paid.index
    )
    run_credit = runs["revenue_usd"].to_numpy(dtype=float) * share.reindex(runs["job_id"]).to_numpy(
        dtype=float, na_value=0.0
    )
    cohort = runs["cohort"].astype(str).to_numpy()
    names = cohorts["cohort"].astype(str)
    earned = pd.Series(runs["revenue_usd"].to_numpy(dtype=float)).groupby(cohort).sum()
    burned = pd.Series(run_credit).groupby(cohort).sum()
    out = pd.DataFrame(
        {
            "cohort": names.to_numpy(),
            "revenue_usd": earned.reindex(names, fill_value=0.0).to_numpy(),
            "credits_burned_usd": burned.reindex(names, fill_value=0.0).to_numpy(),
        }
    )
    out.insert(2, "cash_usd", out["revenue_usd"] - out["credits_burned_usd"])
    out["credit_share"] = (out["credits_burned_usd"] / out["revenue_usd"]).where(
        out["revenue_usd"] > 0
    )
    return out


def fleet_sources(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The fleet's revenue by source, from the run's summary: cash, credits burned, their sum,
    and the escrow view (cash + every credit granted, recognised when granted)."""
    rows = (
        ("cash", "revenue_cash_usd"),
        ("credits burned", "revenue_credit_usd"),
        ("revenue (cash + credits burned)", "revenue_usd"),
        ("escrow view (cash + credits granted)", "revenue_escrow_view_usd"),
    )
    return pd.DataFrame(
        {
            "source": [label for label, _ in rows],
            "amount_usd": [float(summary.get(key) or 0.0) for _, key in rows],
        }
    )
