"""Resale curves: share of unit capex by age, stepping down when a new architecture ships."""

from __future__ import annotations

import pytest

import planner
from planner.catalog import RESALE_SHARE_BY_YEAR, RESALE_SUCCESSOR_STEP
from planner.errors import ScenarioError
from planner.resale import resale_curve
from planner.scenario import validate
from planner.scenario.schema import HOURS_PER_YEAR
from tests.conftest import base_dict

YEAR = HOURS_PER_YEAR


def launches(*names_and_dates: tuple[str, str]) -> list[dict]:
    return [{"name": n, "date": d, "drop": 0.1} for n, d in names_and_dates]


def market(**extra: object) -> planner.Scenario:
    d = base_dict(horizon_days=30)
    d["market"] = {"successor_launches": [], **extra}
    return planner.Scenario.model_validate(d)


def test_the_default_falls_along_the_catalogue_ladder() -> None:
    curve = resale_curve(market(), "H800")
    for age, share in enumerate(RESALE_SHARE_BY_YEAR):
        assert curve.share(0.0, age * YEAR) == pytest.approx(share)
    # Held after the last whole year.
    assert curve.share(0.0, 10 * YEAR) == pytest.approx(RESALE_SHARE_BY_YEAR[-1])


def test_between_whole_years_the_share_falls_geometrically() -> None:
    curve = resale_curve(market(resale={"H800": {"share_by_year": [1.0, 0.64]}}), "H800")
    assert curve.share(0.0, 0.5 * YEAR) == pytest.approx(0.8)
    assert curve.share(-0.5 * YEAR, 0.0) == pytest.approx(0.8)  # age counts from acquisition


def test_only_the_first_launch_of_a_new_architecture_steps_the_value_down() -> None:
    """For the Hopper H800: the H200 is Hopper (no step), the B200 is the first Blackwell (a
    step), the B300 a second Blackwell (none), Rubin a new architecture (a step)."""
    sc = market(
        successor_launches=launches(
            ("H200", "2024-01-05"),
            ("B200", "2024-01-10"),
            ("B300", "2024-01-15"),
            ("Rubin", "2024-01-20"),
        ),
        resale={"H800": {"share_by_year": [1.0]}, "A800": {"share_by_year": [1.0]}},
    )
    curve = resale_curve(sc, "H800")
    day = 24.0
    step = 1.0 - RESALE_SUCCESSOR_STEP
    assert [curve.share(-day, t * day) for t in (3, 8, 13, 18, 25)] == pytest.approx(
        [1.0, 1.0, step, step, step**2]
    )
    # A cohort acquired after the B200 launch sees only Rubin's step.
    assert curve.share(12 * day, 25 * day) == pytest.approx(step)
    # For the Ampere A800 the H200 is a new architecture.
    assert resale_curve(sc, "A800").share(-day, 6 * day) == pytest.approx(step)


def test_the_step_can_be_overridden_per_model() -> None:
    sc = market(
        successor_launches=launches(("B200", "2024-01-05")),
        resale={
            "H800": {"share_by_year": [1.0], "successor_step": 0.4},
            "A800": {"share_by_year": [1.0]},
        },
    )
    assert resale_curve(sc, "H800").share(0.0, 10 * 24.0) == pytest.approx(0.6)
    assert resale_curve(sc, "A800").share(0.0, 10 * 24.0) == pytest.approx(
        1.0 - RESALE_SUCCESSOR_STEP
    )


def test_a_resale_ladder_must_not_rise_and_must_name_a_known_model() -> None:
    d = base_dict()
    d["market"]["resale"] = {"H800": {"share_by_year": [1.0, 0.5, 0.6]}}
    with pytest.raises(ScenarioError, match="must not increase"):
        validate(d, "<dict>")
    d["market"]["resale"] = {"H900": {"successor_step": 0.2}}
    with pytest.raises(ScenarioError, match=r"market\.resale\.H900: unknown GPU model"):
        validate(d, "<dict>")
