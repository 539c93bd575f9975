"""Both engines spread jobs over a pool's cohorts alike: under ``placement.within_pool`` of
``spread`` and of ``pack`` (planner.model.fleet), the same scenario, seed and replication give
identical tables (exact equality) and summaries, on the built-in scenarios and on small random
scenarios whose pools hold several identical cohorts.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.model.demand import JobBatch
from planner.model.fast import unsupported_field
from tests.test_engine_equivalence import assert_same_run, builtin, job_batches, worlds

RULES = ("spread", "pack")


def test_alibaba_2024_packed_is_identical() -> None:
    """The default (spread) is checked in test_engine_equivalence; here the old rule."""
    sc = builtin("alibaba-2024").with_overrides({"placement.within_pool": "pack"})
    fast = assert_same_run(sc)
    assert len(fast.jobs) > 100_000


def test_alibaba_2024_with_one_pool_packed_is_identical() -> None:
    pools = [{"model": "A800", "region": "cn-hangzhou", "within_pool": "pack"}]
    assert_same_run(builtin("alibaba-2024").with_overrides({"placement.pools": pools}))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("name", ["export-shock-2025", "price-war", "early-successor"])
def test_builtin_scenarios_are_identical_under_each_rule(name: str, rule: str) -> None:
    sc = builtin(name)
    if unsupported_field(sc) is not None:
        pytest.skip(f"the fast engine does not run {name}")
    assert_same_run(sc.with_overrides({"placement.within_pool": rule}))


@st.composite
def crowded_worlds(draw: st.DrawFn) -> tuple[planner.Scenario, JobBatch]:
    """A world of test_engine_equivalence whose first cohorts each get up to three identical
    twins (same model, region, size and date), under either rule, with some pools taking the
    other rule, and its jobs."""
    sc, _ = draw(worlds())
    fleet: list[dict[str, Any]] = []
    for i, cohort in enumerate(sc.fleet):
        spec = cohort.model_dump(mode="json", exclude_none=True)
        fleet.append(spec)
        if i < 2:
            fleet += [dict(spec) for _ in range(draw(st.integers(1, 3)))]
    fleet = list(draw(st.permutations(fleet)))  # equal dates install in the file's order
    pools = sorted({(c["model"], c["region"]) for c in fleet})
    rule = draw(st.sampled_from(RULES))
    other = "pack" if rule == "spread" else "spread"
    exceptions = [
        {"model": m, "region": r, "within_pool": other}
        for m, r in draw(st.lists(st.sampled_from(pools), unique=True, max_size=len(pools)))
    ]
    sc = sc.with_overrides(
        {"fleet": fleet, "placement.within_pool": rule, "placement.pools": exceptions}
    )
    return sc, draw(job_batches(sc))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_worlds())
def test_random_scenarios_with_identical_cohorts_are_identical(
    world: tuple[planner.Scenario, JobBatch],
) -> None:
    sc, jobs = world
    assert unsupported_field(sc) is None
    assert_same_run(sc, jobs=jobs)
