"""What happens to a cohort when it becomes obsolete: it retires, or stays at a floor price."""

from __future__ import annotations

import math

import pytest

import planner
from tests.conftest import base_dict, batch


def obsolete_on_day_5(at_obsolescence: str, floor: float = 0.0) -> planner.Scenario:
    """$1.00 flat with a $0.25 opex, until an 80% cut on day 5 (hour 120) takes the price to
    $0.20, below opex: the cohort is obsolete from hour 120."""
    d = base_dict()
    d["market"] = {
        "prices": {
            "H800": {"usd_per_gpu_h": 1.0, "annual_decline": 0.0, "opex_usd_per_gpu_h": 0.25}
        },
        "successor_launches": [],
        "price_cuts": [{"date": "2024-01-06", "cut": 0.8}],
        "at_obsolescence": at_obsolescence,
        "floor_usd_per_gpu_h": floor,
    }
    return planner.Scenario.model_validate(d)


def test_retired_cohort_takes_no_new_jobs_but_finishes_running_ones() -> None:
    """A job running at hour 120 ends as planned and pays list price throughout; a job
    submitted after hour 120 never starts."""
    jobs = batch([(100.0, 8, 8 * 40.0), (130.0, 8, 8.0)])
    res = planner.simulate(obsolete_on_day_5("retire"), jobs=jobs)
    assert list(res.jobs["state"]) == ["finished", "queued"]
    assert res.jobs.loc[0, "end_h"] == 140.0
    assert res.jobs.loc[0, "revenue_usd"] == pytest.approx(8 * (20 * 1.0 + 20 * 0.2))
    cohort = res.cohorts.iloc[0]
    assert (cohort["obsolete_at_h"], cohort["retired_at_h"]) == (120.0, 120.0)
    # Retiring drains: the 8 idle GPUs leave at hour 120, the job's 8 when it ends at hour 140.
    assert cohort["in_service_gpu_h"] == pytest.approx(16 * 120.0 + 8 * 20.0)
    # Revenue before obsolescence counts only the first 20 hours of the job.
    assert cohort["revenue_before_obsolescence_usd"] == pytest.approx(8 * 20 * 1.0)
    days = res.timeseries.set_index("day")["gpus_in_service"]
    assert list(days.loc[[0, 5, 6]]) == pytest.approx([16.0, 8 * 20 / 24, 0.0])


def test_cohort_kept_at_a_floor_earns_the_floor_after_obsolescence() -> None:
    jobs = batch([(100.0, 8, 8 * 40.0), (130.0, 8, 8.0)])
    res = planner.simulate(obsolete_on_day_5("floor", floor=0.3), jobs=jobs)
    assert list(res.jobs["state"]) == ["finished", "finished"]
    assert list(res.jobs["revenue_usd"]) == pytest.approx([8 * (20 * 1.0 + 20 * 0.3), 8 * 0.3])
    cohort = res.cohorts.iloc[0]
    assert math.isnan(cohort["retired_at_h"])
    assert cohort["in_service_gpu_h"] == 16 * 240.0


def test_cohort_obsolete_before_it_arrives_never_enters_service() -> None:
    d = obsolete_on_day_5("retire").model_dump(mode="json", by_alias=True)
    d["fleet"][0]["acquired"] = "2024-01-08"
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch([(0.0, 8, 8.0)]))
    assert math.isnan(res.cohorts.loc[0, "in_service_from_h"])
    assert res.jobs.loc[0, "state"] == "queued"
