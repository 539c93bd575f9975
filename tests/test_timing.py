"""The order of events at one instant: job ends, then business events, then arrivals, then the
daily samples (planner.model.timing)."""

from __future__ import annotations

import planner
from tests.conftest import base_dict, batch


def test_a_job_arriving_as_its_tenants_credits_expire_sees_them_expired() -> None:
    """A tenant that leaves when its credits expire (at 2024-01-03 00:00, hour 48): its job
    submitted at hour 48 is not submitted, one at hour 47 is."""
    d = base_dict(horizon_days=4)
    d["tenants"] = [
        {
            "name": "lab",
            "class": "credit",
            "models": ["H800"],
            "credit": {
                "amount_usd": 1e6,
                "granted": "2024-01-01",
                "expires": "2024-01-03",
                "after": "leave",
            },
        }
    ]
    res = planner.simulate(
        planner.Scenario.model_validate(d), jobs=batch([(47.0, 8, 8.0), (48.0, 8, 8.0)])
    )
    assert res.jobs["job_id"].tolist() == [0]
    assert res.tenants["jobs_skipped"].tolist() == [1]


def test_a_midnight_sample_counts_the_jobs_that_arrived_at_midnight() -> None:
    """Both nodes are busy until hour 100; a job arriving at hour 24 is queued in the day-1
    sample taken at that same instant."""
    res = planner.simulate(
        planner.Scenario.model_validate(base_dict(horizon_days=3)),
        jobs=batch([(0.0, 16, 1600.0), (24.0, 8, 8.0)]),
    )
    frag = res.fragmentation.set_index("t_h")
    assert frag.loc[0.0, "queued_jobs"] == 0
    assert frag.loc[24.0, "queued_jobs"] == 1
