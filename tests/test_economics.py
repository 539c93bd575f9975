"""Revenue, credits and cohort value, checked against hand computations."""

from __future__ import annotations

import math

import pytest

import planner
from planner.model.market import PriceCurve
from planner.scenario.schema import HOURS_PER_YEAR
from tests.conftest import base_dict, batch, scenario


def credit_tenant(
    amount: float, granted: str = "2024-01-01", expires: str = "2024-01-09", after: str = "cash"
) -> dict:
    return {
        "name": "moonshot",
        "class": "credit",
        "models": ["H800"],
        "credit": {"amount_usd": amount, "granted": granted, "expires": expires, "after": after},
    }


def test_price_curve_integral_matches_the_closed_form() -> None:
    curve = PriceCurve.from_annual_decline(2.0, 0.0, 0.35)
    k = -math.log(0.65) / HOURS_PER_YEAR
    assert curve.price(HOURS_PER_YEAR) == pytest.approx(2.0 * 0.65)
    assert curve.integral(100.0, 600.0) == pytest.approx(
        2.0 / k * (math.exp(-100 * k) - math.exp(-600 * k))
    )


def test_job_revenue_integrates_a_declining_price() -> None:
    """An 8-GPU job from hour 0 to 1,000 at $2 falling 35% a year earns 8 x the integral."""
    sc = scenario(
        market={"prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.35}}}, horizon_days=60
    )
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 8000.0)]))
    expected = 8 * PriceCurve.from_annual_decline(2.0, 0.0, 0.35).integral(0.0, 1000.0)
    assert res.jobs.loc[0, "revenue_usd"] == pytest.approx(expected)
    assert res.jobs.loc[0, "revenue_usd"] < 8 * 1000 * 2.0


def test_credits_run_out_and_the_rest_is_paid_in_cash() -> None:
    """$200 of credits at $2/GPU-h cover 100 GPU-hours: of two 80-GPU-hour jobs the second pays
    $40 in credits and $120 in cash."""
    sc = scenario(tenants=[credit_tenant(200.0, expires="2024-03-01")])
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0), (0.0, 8, 80.0)]))
    jobs = res.jobs
    assert list(jobs["credit_usd"]) == pytest.approx([160.0, 40.0])
    assert list(jobs["cash_usd"]) == pytest.approx([0.0, 120.0])
    assert list(jobs["paid_with"]) == ["credit", "mixed"]
    tenant = res.tenants.iloc[0]
    assert tenant["credits_burned_usd"] == pytest.approx(200.0)
    assert tenant["credits_left_usd"] == pytest.approx(0.0)
    assert tenant["credit_state"] == "spent"


def test_unspent_credits_are_forfeited_at_expiry() -> None:
    """Granted = burned + left + forfeited. A job running across the expiry pays credits only for
    the hours before it."""
    sc = scenario(tenants=[credit_tenant(10_000.0, expires="2024-01-02")])
    res = planner.simulate(sc, jobs=batch([(12.0, 8, 8 * 24.0)]))  # hours 12 to 36
    job = res.jobs.iloc[0]
    assert job["credit_usd"] == pytest.approx(8 * 12 * 2.0)
    assert job["cash_usd"] == pytest.approx(8 * 12 * 2.0)
    t = res.tenants.iloc[0]
    assert t["credits_forfeited_usd"] == pytest.approx(10_000.0 - 192.0)
    assert t["credits_granted_usd"] == pytest.approx(
        t["credits_burned_usd"] + t["credits_left_usd"] + t["credits_forfeited_usd"]
    )


def test_jobs_before_the_grant_pay_cash() -> None:
    sc = scenario(tenants=[credit_tenant(10_000.0, granted="2024-01-02")])
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 8.0), (30.0, 8, 8.0)]))
    assert list(res.jobs["paid_with"]) == ["cash", "credit"]


def test_tenant_that_leaves_submits_nothing_once_credits_are_spent() -> None:
    sc = scenario(tenants=[credit_tenant(16.0, after="leave")])
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 8.0), (5.0, 8, 8.0), (6.0, 8, 8.0)]))
    assert len(res.jobs) == 1
    assert res.tenants.loc[0, "jobs_skipped"] == 2
    assert res.summary()["jobs_skipped"] == 2


def test_internal_tenants_pay_nothing() -> None:
    sc = scenario(tenants=[{"name": "qwen", "class": "internal", "models": ["H800"]}])
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0)]))
    assert res.jobs.loc[0, "revenue_usd"] == 0.0
    assert res.jobs.loc[0, "paid_with"] == "internal"
    assert res.cohorts.loc[0, "busy_gpu_h"] == pytest.approx(80.0)


def test_cohort_becomes_obsolete_when_price_falls_below_opex() -> None:
    """$1.00 falling 50% a year crosses a $0.25 opex after exactly two years."""
    d = base_dict(horizon_days=1000)
    d["market"] = {
        "prices": {
            "H800": {"usd_per_gpu_h": 1.0, "annual_decline": 0.5, "opex_usd_per_gpu_h": 0.25}
        },
        "successor_launches": [],
    }
    d["fleet"][0]["acquired"] = "2024-01-01"
    d["fleet"][0]["unit_capex_usd"] = 1000.0
    res = planner.simulate(
        planner.Scenario.model_validate(d), jobs=batch([(0.0, 16, 16 * 24_000.0)])
    )
    cohort = res.cohorts.iloc[0]
    assert cohort["obsolete_at_h"] == pytest.approx(2 * HOURS_PER_YEAR)
    # Busy the whole horizon: revenue before obsolescence = potential, so capture is 1.
    curve = PriceCurve.from_annual_decline(1.0, 0.0, 0.5)
    before = 16 * curve.integral(0.0, 2 * HOURS_PER_YEAR)
    assert cohort["revenue_before_obsolescence_usd"] == pytest.approx(before)
    assert cohort["capture"] == pytest.approx(1.0)
    assert cohort["payback"] == pytest.approx(before / 16_000.0)
    assert cohort["book_value_at_obsolescence_usd"] == pytest.approx(16_000.0 * (1 - 2 / 6))
    assert res.summary()["obsolete_on.H800-r1-0"] == "2025-12-31"


def test_cohort_reaches_end_of_life_when_price_stays_above_opex() -> None:
    d = base_dict(horizon_days=30)
    d["market"] = {
        "prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0}},
        "service_life_years": 4,
    }
    d["fleet"][0]["acquired"] = "2022-01-01"
    res = planner.simulate(planner.Scenario.model_validate(d))
    cohort = res.cohorts.iloc[0]
    assert cohort["obsolete_at_h"] == pytest.approx(cohort["acquired_h"] + 4 * HOURS_PER_YEAR)
    assert cohort["book_value_at_obsolescence_usd"] == pytest.approx(
        cohort["capex_usd"] * (1 - 4 / 6)
    )


def test_idle_cohort_captures_nothing_and_keeps_its_idle_value() -> None:
    res = planner.simulate(scenario())
    cohort = res.cohorts.iloc[0]
    assert cohort["revenue_usd"] == 0.0
    assert cohort["capture"] == 0.0
    assert cohort["idle_value_usd"] == pytest.approx(16 * 240 * 2.0)


def test_default_opex_is_power_plus_fixed_costs() -> None:
    """700 W x 1.5 server factor x 1.3 PUE at $0.08/kWh + $0.15 fixed = $0.2592 per GPU-hour."""
    res = planner.simulate(scenario())
    assert res.cohorts.loc[0, "opex_usd_per_gpu_h"] == pytest.approx(0.7 * 1.5 * 1.3 * 0.08 + 0.15)
