"""The monthly ledger and the cohort value ledger, against hand computations and identities.

The ``ledger`` table has one row per calendar month and cohort; summed over months it must give
the ``cohorts`` table's totals, and its book value must roll forward month to month.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import planner
from planner.scenario.schema import HOURS_PER_YEAR
from tests.conftest import base_dict, batch
from tests.test_properties import worlds

JAN_H = 31 * 24.0  # January 2024 in hours: the month edge of a run starting on 1 Jan 2024
SUMMED = ("revenue_usd", "in_service_gpu_h", "busy_gpu_h", "potential_revenue_usd", "opex_usd")


def one_cohort(**market: Any) -> planner.Scenario:
    """16 H800 at $10,000 each, acquired 1 Dec 2023 (31 days before the start), a flat $2 price,
    a one-year book life; 40 days from 1 Jan 2024, so January and 9 days of February."""
    d = base_dict(horizon_days=40)
    d["fleet"][0].update(acquired="2023-12-01", unit_capex_usd=10_000.0)
    d["market"] = {
        "prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0}},
        "successor_launches": [],
        "book_life_years": 1.0,
        **market,
    }
    return planner.Scenario.model_validate(d)


def test_ledger_has_a_row_per_month_and_cohort_with_the_first_day_of_each_month() -> None:
    res = planner.simulate(one_cohort())
    ledger = res.ledger
    assert list(ledger["month"]) == [date(2024, 1, 1), date(2024, 2, 1)]
    assert list(ledger["cohort"]) == ["H800-r1-0", "H800-r1-0"]
    assert list(ledger["from_h"]) == [0.0, JAN_H]
    assert list(ledger["to_h"]) == [JAN_H, 40 * 24.0]
    assert "ledger" in planner.RunResult.table_names()


def test_revenue_of_a_job_across_a_month_edge_is_split_by_its_hours_in_each_month() -> None:
    """An 8-GPU job from 10 h before the edge to 10 h after it, at a flat $2: $160 a side."""
    res = planner.simulate(one_cohort(), jobs=batch([(JAN_H - 10.0, 8, 8 * 20.0)]))
    ledger = res.ledger
    assert list(ledger["revenue_usd"]) == pytest.approx([160.0, 160.0])
    assert list(ledger["busy_gpu_h"]) == pytest.approx([80.0, 80.0])
    assert list(ledger["cumulative_revenue_usd"]) == pytest.approx([160.0, 320.0])
    assert list(ledger["payback_to_date"]) == pytest.approx([160.0 / 160_000, 320.0 / 160_000])
    # All 16 GPUs are in service all the time; potential = $2 for each in-service GPU-hour.
    feb_h = 9 * 24.0
    assert list(ledger["gpus_in_service"]) == pytest.approx([16.0, 16.0])
    assert list(ledger["in_service_gpu_h"]) == pytest.approx([16 * JAN_H, 16 * feb_h])
    assert list(ledger["utilisation"]) == pytest.approx([80 / (16 * JAN_H), 80 / (16 * feb_h)])
    assert list(ledger["potential_revenue_usd"]) == pytest.approx([32 * JAN_H, 32 * feb_h])
    opex = res.cohorts.loc[0, "opex_usd_per_gpu_h"]
    assert list(ledger["opex_usd"]) == pytest.approx([16 * JAN_H * opex, 16 * feb_h * opex])
    assert list(ledger["margin_usd"]) == pytest.approx(
        [160 - 16 * JAN_H * opex, 160 - 16 * feb_h * opex]
    )


def test_book_value_falls_straight_line_month_by_month() -> None:
    """$160,000 over a one-year (8,766 h) book life from 744 h before the start: January
    (744 h) and the 216 h of February each lose their share; nothing is bought or written off."""
    ledger = planner.simulate(one_cohort()).ledger
    capex, life, acquired = 160_000.0, HOURS_PER_YEAR, -JAN_H
    end_h = np.array([JAN_H, 40 * 24.0])
    assert list(ledger["depreciation_usd"]) == pytest.approx(
        [capex * JAN_H / life, capex * 216 / life]
    )
    assert list(ledger["book_value_usd"]) == pytest.approx(
        list(capex * (1 - (end_h - acquired) / life))
    )
    assert list(ledger["capex_spent_usd"]) == [0.0, 0.0]
    assert list(ledger["written_off_usd"]) == [0.0, 0.0]


def test_a_cohort_bought_within_the_horizon_spends_its_capex_in_that_month() -> None:
    d = base_dict(horizon_days=40)
    d["fleet"][0].update(acquired="2024-02-01", unit_capex_usd=10_000.0)
    d["market"]["book_life_years"] = 1.0
    ledger = planner.simulate(planner.Scenario.model_validate(d)).ledger
    assert list(ledger["capex_spent_usd"]) == [0.0, 160_000.0]
    assert list(ledger["book_value_usd"]) == pytest.approx(
        [0.0, 160_000.0 * (1 - 216 / HOURS_PER_YEAR)]
    )
    assert list(ledger["gpus_in_service"]) == pytest.approx([0.0, 16.0])


def test_book_value_left_at_obsolescence_is_written_off_and_stranded() -> None:
    """A service life of 0.1 year ends 876.6 h after acquisition, 132.6 h into January: the
    book value then, 90% of capex over a one-year book life, is written off and stranded."""
    res = planner.simulate(one_cohort(service_life_years=0.1))
    cohort, ledger = res.cohorts.iloc[0], res.ledger
    obsolete_h = -JAN_H + 0.1 * HOURS_PER_YEAR
    assert cohort["obsolete_at_h"] == pytest.approx(obsolete_h)
    stranded = 160_000.0 * 0.9
    assert cohort["book_value_at_obsolescence_usd"] == pytest.approx(stranded)
    assert cohort["stranded_book_value_usd"] == pytest.approx(stranded)
    assert cohort["book_value_at_horizon_usd"] == 0.0
    assert list(ledger["depreciation_usd"]) == pytest.approx(
        [160_000.0 * obsolete_h / HOURS_PER_YEAR, 0.0]
    )
    assert list(ledger["written_off_usd"]) == pytest.approx([stranded, 0.0])
    assert list(ledger["book_value_usd"]) == [0.0, 0.0]
    # It retired at obsolescence: in service only until then, and potential only before it.
    assert list(ledger["in_service_gpu_h"]) == pytest.approx([16 * obsolete_h, 0.0])
    assert list(ledger["potential_revenue_usd"]) == pytest.approx([32 * obsolete_h, 0.0])
    assert res.summary()["stranded_book_value_usd"] == pytest.approx(stranded)


@pytest.mark.parametrize(
    ("unit_capex_usd", "stranded_usd"),
    [
        (10.0, 0.0),  # capex $160 < revenue $320: earned back, nothing stranded
        (100.0, 1_600.0 - 320.0),  # capex not earned back is less than the book value left
        (10_000.0, 160_000.0 * (1 - (40 * 24.0 + JAN_H) / HOURS_PER_YEAR)),  # all book value
    ],
)
def test_a_cohort_in_service_at_the_horizon_strands_the_book_value_not_yet_earned_back(
    unit_capex_usd: float, stranded_usd: float
) -> None:
    """Stranded = min(book value at the horizon, capex - revenue to date), at least 0. The job
    earns $320; the book value at the horizon is 80.56% of capex."""
    d = one_cohort().model_dump(by_alias=True)
    d["fleet"][0]["unit_capex_usd"] = unit_capex_usd
    res = planner.simulate(
        planner.Scenario.model_validate(d), jobs=batch([(JAN_H - 10.0, 8, 8 * 20.0)])
    )
    cohort = res.cohorts.iloc[0]
    assert not cohort["obsolete_within_horizon"]
    assert cohort["revenue_usd"] == pytest.approx(320.0)
    assert cohort["book_value_at_horizon_usd"] == pytest.approx(
        cohort["capex_usd"] * (1 - (40 * 24.0 + JAN_H) / HOURS_PER_YEAR)
    )
    assert cohort["stranded_book_value_usd"] == pytest.approx(stranded_usd)


def test_revenue_after_obsolescence_is_what_a_floor_priced_cohort_earns_after_it() -> None:
    """Kept at a $0.50 floor once obsolete (at 132.6 h), a 16-GPU job from 0 to 240 h earns
    $2 before and $0.50 after; margin = revenue - opex."""
    sc = one_cohort(service_life_years=0.1, at_obsolescence="floor", floor_usd_per_gpu_h=0.5)
    res = planner.simulate(sc, jobs=batch([(0.0, 16, 16 * 240.0)]))
    cohort = res.cohorts.iloc[0]
    obsolete_h = -JAN_H + 0.1 * HOURS_PER_YEAR
    assert cohort["revenue_before_obsolescence_usd"] == pytest.approx(16 * 2.0 * obsolete_h)
    assert cohort["revenue_after_obsolescence_usd"] == pytest.approx(16 * 0.5 * (240 - obsolete_h))
    assert cohort["margin_usd"] == pytest.approx(cohort["revenue_usd"] - cohort["opex_usd"])


# -- identities --------------------------------------------------------------------------------


def assert_ledger_adds_up(res: planner.RunResult) -> None:
    """Ledger sums = cohort totals; the book value rolls forward; credits add up per deal."""
    ledger, cohorts, tenants = res.ledger, res.cohorts, res.tenants
    months = ledger["month"].drop_duplicates()
    assert len(ledger) == len(months) * len(cohorts)
    assert months.is_monotonic_increasing
    summed = ledger.groupby("cohort", sort=False)[list(SUMMED)].sum()
    for column in SUMMED:
        np.testing.assert_allclose(
            summed.loc[cohorts["cohort"], column], cohorts[column], rtol=1e-9, atol=1e-6
        )
    np.testing.assert_allclose(
        ledger["revenue_usd"].sum(),
        res.jobs["cash_usd"].sum() + res.jobs["credit_usd"].sum(),
        rtol=1e-9,
        atol=1e-6,
    )
    for name, rows in ledger.groupby("cohort", sort=False):
        book = rows["book_value_usd"].to_numpy()
        change = rows["capex_spent_usd"] - rows["depreciation_usd"] - rows["written_off_usd"]
        np.testing.assert_allclose(book[1:], book[:-1] + change.to_numpy()[1:], atol=1e-6)
        cohort = cohorts.set_index("cohort").loc[name]
        assert book[-1] == pytest.approx(cohort["book_value_at_horizon_usd"], abs=1e-6)
        assert (rows["depreciation_usd"] >= -1e-9).all()
        assert rows["cumulative_revenue_usd"].iloc[-1] == pytest.approx(
            cohort["revenue_usd"], rel=1e-9, abs=1e-6
        )
        if 0.0 <= cohort["obsolete_at_h"] < res.scenario.horizon_h:
            assert rows["written_off_usd"].sum() == pytest.approx(
                cohort["stranded_book_value_usd"], abs=1e-6
            )
    assert_credit_ledger_adds_up(res.credit_ledger, tenants)


def assert_credit_ledger_adds_up(credit_ledger: pd.DataFrame, tenants: pd.DataFrame) -> None:
    deals = tenants[tenants["tenant_class"] == "credit"].set_index("tenant")
    assert set(credit_ledger["tenant"]) == set(deals.index)
    summed = credit_ledger.groupby("tenant")[
        ["revenue_usd", "cash_usd", "credits_burned_usd", "credits_granted_usd"]
    ].sum()
    pairs = [
        ("revenue_usd", "revenue_usd"),
        ("cash_usd", "cash_usd"),
        ("credits_burned_usd", "credits_burned_usd"),
        ("credits_granted_usd", "credits_granted_usd"),
    ]
    for mine, theirs in pairs:
        np.testing.assert_allclose(
            summed.loc[deals.index, mine], deals[theirs], rtol=1e-9, atol=1e-6
        )
    assert (credit_ledger["credits_burned_usd"] >= 0).all()
    assert (credit_ledger["credit_gpu_h"] >= 0).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_ledger_sums_equal_the_cohort_totals_on_random_scenarios(world: Any) -> None:
    """Random fleets, bans, retirements, floors and credit deals, started three days before a
    month edge so that jobs straddle it."""
    sc, jobs = world
    sc = sc.with_overrides({"start": "2023-12-29", "horizon_days": 11})
    assert_ledger_adds_up(planner.simulate(sc, jobs=jobs))


def test_ledger_sums_equal_the_cohort_totals_on_mmc() -> None:
    """45 days of the M/M/c scenario: all of January and half of February 2025."""
    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 45})
    res = planner.simulate(sc, seed=1)
    assert list(res.ledger["month"]) == [date(2025, 1, 1), date(2025, 2, 1)]
    assert_ledger_adds_up(res)


def test_a_run_starting_mid_month_has_a_partial_first_month() -> None:
    d = base_dict(start="2024-01-20", horizon_days=20)
    ledger = planner.simulate(planner.Scenario.model_validate(d)).ledger
    assert list(ledger["month"]) == [date(2024, 1, 1), date(2024, 2, 1)]
    assert list(ledger["to_h"] - ledger["from_h"]) == [12 * 24.0, 8 * 24.0]
