"""Figure data: each cohort's value waterfall, from its capex down by what it earned before
obsolescence and by the idle value full use would have earned too, beside its stranded book
value.

Earned before obsolescence counts wholesale lease revenue, as payback and capture do. The
waterfall ends at capex - potential revenue: below zero, full use would have paid the cohort
back.
"""

from __future__ import annotations

import pandas as pd

STEPS = ("capex", "earned before obsolescence", "idle value", "stranded book value")


def earned_before_obsolescence_usd(cohorts: pd.DataFrame) -> pd.Series:
    """Revenue before obsolescence plus lease revenue, per cohort."""
    return cohorts["revenue_before_obsolescence_usd"] + cohorts["lease_revenue_usd"]


def cohort_waterfall(cohorts: pd.DataFrame) -> pd.DataFrame:
    """One row per cohort and step of :data:`STEPS`: the bar's ``bottom_usd`` and ``top_usd``
    and the amount it stands for (``value_usd``, positive).

    capex runs from 0 to capex; earned before obsolescence falls from capex to capex - earned;
    idle value falls on from there to capex - potential revenue; stranded book value stands on
    its own, from 0.
    """
    rows = []
    earned = earned_before_obsolescence_usd(cohorts)
    for got, rec in zip(earned.to_numpy(dtype=float), cohorts.to_dict("records"), strict=True):
        capex = float(rec["capex_usd"])
        idle = float(rec["idle_value_usd"])
        stranded = float(rec["stranded_book_value_usd"])
        cohort = str(rec["cohort"])
        rows += [
            (cohort, STEPS[0], capex, 0.0, capex),
            (cohort, STEPS[1], got, capex - got, capex),
            (cohort, STEPS[2], idle, capex - got - idle, capex - got),
            (cohort, STEPS[3], stranded, 0.0, stranded),
        ]
    return pd.DataFrame(rows, columns=["cohort", "step", "value_usd", "bottom_usd", "top_usd"])


def value_table(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Per cohort: the waterfall's amounts with potential revenue, payback and capture."""
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
