"""Figure data: each cohort's gross value before obsolescence: capex, what it earned before
obsolescence (leases included, as payback and capture count them), the idle value full use would
have earned too, and its stranded book value. A table beneath the value figure
(:mod:`planner.report.cohort_value`).
"""

from __future__ import annotations

import pandas as pd


def earned_before_obsolescence_usd(cohorts: pd.DataFrame) -> pd.Series:
    """Revenue before obsolescence plus lease revenue, per cohort."""
    return cohorts["revenue_before_obsolescence_usd"] + cohorts["lease_revenue_usd"]


def value_table(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Per cohort: capex, earned before obsolescence, idle value and potential revenue, stranded
    book value, payback and capture."""
    earned = earned_before_obsolescence_usd(cohorts)
    return pd.DataFrame(
        {
            "cohort": cohorts["cohort"].astype(str),
            "gpus": cohorts["gpus"],
            "capex_usd": cohorts["capex_usd"],
            "earned_before_obsolescence_usd": earned,
            "idle_value_usd": cohorts["idle_value_usd"],
            "potential_revenue_usd": cohorts["potential_revenue_usd"],
            "capex_left_at_full_use_usd": cohorts["capex_usd"] - cohorts["potential_revenue_usd"],
            "stranded_book_value_usd": cohorts["stranded_book_value_usd"],
            "payback": cohorts["payback"],
            "capture": cohorts["capture"],
        }
    ).reset_index(drop=True)
