"""alibaba-lifecycle runs until its last A800/H800 cohort is obsolete, so every cohort's value is
measured to its obsolescence, not to the horizon."""

from __future__ import annotations

import planner
from planner.model.market import Market
from planner.model.supply import plan_supply
from planner.scenario.schema import HOURS_PER_DAY


def test_every_cohort_of_alibaba_lifecycle_is_obsolete_within_its_horizon() -> None:
    sc = planner.load_scenario("alibaba-lifecycle")
    market = Market(sc)
    cohorts, _ = plan_supply(sc)
    assert {c.model for c in cohorts} == {"A800", "H800"}
    obsolete_h = [
        market.cohort_price(c.model, c.in_service_h, c.opex_usd_per_gpu_h).obsolete_at_h
        for c in cohorts
    ]
    assert max(obsolete_h) < sc.horizon_h
    # ... and no longer than that: the horizon ends on the day after the last obsolescence.
    assert sc.horizon_h - max(obsolete_h) <= HOURS_PER_DAY
