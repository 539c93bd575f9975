"""A dated sale (``finance.sell``) takes its cohort out of service on both engines alike.

A sale is a business event, handled as a retirement: from the sale the cohort's free GPUs take
no job, and its running jobs finish where they are; its GPUs never come back. The fast engine
replays the reference's business events and mirrors the retirement into its arrays, so both
engines must give identical tables.
"""

from __future__ import annotations

import math

import numpy as np

import planner
from planner.model.demand import JobBatch
from tests.test_engine_equivalence import assert_same_run

SOLD_H = 24.0  # the sale: 2024-01-02, a day after the start


def two_cohorts(**finance: object) -> planner.Scenario:
    """Two one-node H800 cohorts in one pool; ``old`` is sold on day two unless told otherwise."""
    return planner.Scenario.model_validate(
        {
            "name": "sale",
            "start": "2024-01-01",
            "horizon_days": 4,
            "regions": [{"name": "r1", "pod_gpus": 8, "gpus_per_node": 8}],
            "fleet": [
                {
                    "name": "old",
                    "model": "H800",
                    "region": "r1",
                    "gpus": 8,
                    "acquired": "2023-06-01",
                },
                {
                    "name": "new",
                    "model": "H800",
                    "region": "r1",
                    "gpus": 8,
                    "acquired": "2023-06-01",
                },
            ],
            "market": {"prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0}}},
            "tenants": [{"name": "acme", "class": "paying", "models": ["H800"]}],
            "finance": finance or {"sell": [{"cohort": "old", "date": "2024-01-02"}]},
        }
    )


def jobs() -> JobBatch:
    """Job 0 (4 GPUs) starts on ``old`` and runs past the sale; job 1 (4 GPUs) shares its node;
    jobs 2-5 (8 GPUs each) arrive after the sale and can only use ``new``."""
    rows = [(0.0, 4, 4 * 40.0), (0.0, 4, 4 * 6.0)] + [(30.0 + k, 8, 8 * 5.0) for k in range(4)]
    submit, gpus, work = (np.array(c) for c in zip(*rows, strict=True))
    return JobBatch(submit, np.zeros(len(rows), np.int64), gpus.astype(np.int64), work)


def test_a_sold_cohort_leaves_service_on_both_engines_alike() -> None:
    res = assert_same_run(two_cohorts(), jobs=jobs())
    runs = res.runs.set_index("job_id")
    cohorts = res.cohorts.set_index("cohort")
    # The job running at the sale finishes on the sold cohort, as at a retirement ...
    assert runs.loc[0, "cohort"] == "old" and runs.loc[0, "to_h"] == 40.0
    # ... but nothing starts there after it: the later jobs queue for the one cohort left.
    later = runs.loc[[2, 3, 4, 5]]
    assert (later["cohort"] == "new").all()
    assert list(later["from_h"]) == [30.0, 35.0, 40.0, 45.0]
    assert cohorts.loc["old", "retired_at_h"] == SOLD_H
    assert math.isnan(cohorts.loc["new", "retired_at_h"])
    # Service and finance agree: exit at the sale, at its resale value.
    assert cohorts.loc["old", "exit_reason"] == "sold"
    assert cohorts.loc["old", "exit_at_h"] == SOLD_H
    assert cohorts.loc["old", "resale_usd"] > 0.0
    # In service: the whole node to the sale, then the 4 GPUs draining job 0 to hour 40.
    assert cohorts.loc["old", "in_service_gpu_h"] == 8 * SOLD_H + 4 * (40.0 - SOLD_H)


def test_without_the_sale_the_later_jobs_use_both_cohorts() -> None:
    """The same jobs with no sale: the check above is the sale's doing."""
    res = assert_same_run(two_cohorts(sell=[]), jobs=jobs())
    runs = res.runs.set_index("job_id")
    assert set(runs.loc[[2, 3, 4, 5], "cohort"]) == {"old", "new"}


def test_a_sale_naming_an_order_sells_each_of_its_tranches() -> None:
    sc = planner.Scenario.model_validate(
        {
            **two_cohorts().model_dump(mode="json", by_alias=True, exclude_defaults=True),
            "orders": [
                {
                    "name": "h",
                    "model": "H800",
                    "region": "r1",
                    "gpus": 16,
                    "ordered": "2024-01-01",
                    "lead_days": 1,
                    "tranches": 2,
                    "tranche_every_days": 1,
                },
            ],
            "finance": {"sell": [{"cohort": "h", "date": "2024-01-04"}]},
        }
    )
    res = assert_same_run(sc, jobs=jobs())
    cohorts = res.cohorts.set_index("cohort")
    assert list(cohorts.loc[["h-t1", "h-t2"], "retired_at_h"]) == [72.0, 72.0]
    assert (cohorts.loc[["h-t1", "h-t2"], "exit_reason"] == "sold").all()
