"""The ``pools`` table: utilisation and value per pool (a GPU model in a region), summed over
its cohorts.

Cohort figures depend on how jobs were spread over a pool's cohorts (``placement.within_pool``);
pool figures do not, so they are the ones to compare across placement rules. The lowest and
highest cohort utilisation show how evenly the pool's cohorts were used.
"""

from __future__ import annotations

import math

import pandas as pd

from planner.scenario.schema import Scenario

POOL_COLUMNS = (
    "gpu_model",
    "region",
    "within_pool",
    "cohorts",
    "gpus",
    "capex_usd",
    "in_service_gpu_h",
    "busy_gpu_h",
    "utilisation",
    "cohort_utilisation_min",
    "cohort_utilisation_max",
    "revenue_usd",
    "revenue_before_obsolescence_usd",
    "potential_revenue_usd",
    "lease_revenue_usd",
    "contract_revenue_usd",
    "payback",
    "capture",
    "idle_value_usd",
    "opex_usd",
    "margin_usd",
    "stranded_book_value_usd",
    "npv_usd",
)

# Summed over a pool's cohorts.
_SUMS = (
    "gpus",
    "capex_usd",
    "in_service_gpu_h",
    "busy_gpu_h",
    "revenue_usd",
    "revenue_before_obsolescence_usd",
    "potential_revenue_usd",
    "lease_revenue_usd",
    "contract_revenue_usd",
    "idle_value_usd",
    "opex_usd",
    "margin_usd",
    "stranded_book_value_usd",
    "npv_usd",
)


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else math.nan


def pools(sc: Scenario, cohorts: pd.DataFrame) -> pd.DataFrame:
    """One row per pool, in the order of its first cohort in ``cohorts`` (the cohorts table).

    Sums are over the pool's cohorts; ``utilisation`` is busy over in-service GPU-hours,
    ``payback`` and ``capture`` are the cohorts' ratios taken over the pool's sums (revenue
    before obsolescence plus lease and contract revenue, over capex and over potential revenue). The
    cohort utilisation extremes count only cohorts that were in service.
    """
    rows: list[dict[str, object]] = []
    if not len(cohorts):  # no fleet: the cohorts table may have no columns either
        return pd.DataFrame(rows, columns=list(POOL_COLUMNS))
    for (model, region), mine in cohorts.groupby(["gpu_model", "region"], sort=False):
        total = {name: float(mine[name].sum()) if name in mine else math.nan for name in _SUMS}
        earned = (
            total["revenue_before_obsolescence_usd"]
            + total["lease_revenue_usd"]
            + total["contract_revenue_usd"]
        )
        potential = total["potential_revenue_usd"]
        used = mine["utilisation"].dropna()
        rows.append(
            {
                **total,
                "gpu_model": model,
                "region": region,
                "within_pool": sc.placement.within(str(model), str(region)),
                "cohorts": len(mine),
                "gpus": int(mine["gpus"].sum()),
                "utilisation": _ratio(total["busy_gpu_h"], total["in_service_gpu_h"]),
                "cohort_utilisation_min": float(used.min()) if len(used) else math.nan,
                "cohort_utilisation_max": float(used.max()) if len(used) else math.nan,
                "payback": _ratio(earned, total["capex_usd"]),
                "capture": earned / potential if potential > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(POOL_COLUMNS))
