"""Price curves with steps: successor launches, provider cuts and scarcity premiums."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planner
from planner.model.market import Market, PriceCurve, PriceStep
from tests.conftest import base_dict, batch

DAY = 24.0


def flat_market(**extra: object) -> dict:
    """H800 at a flat $2.00 from the start, with no default launches unless given."""
    market: dict = {
        "prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0}},
        "successor_launches": [],
    }
    market.update(extra)
    return market


def test_a_job_across_a_price_step_pays_each_price_for_its_hours() -> None:
    """An 8-GPU job from hour 12 to hour 36 across a 25% cut at hour 24 (day 1):
    8 x (12 h x $2.00 + 12 h x $1.50) = $336."""
    d = base_dict(market=flat_market(price_cuts=[{"date": "2024-01-02", "cut": 0.25}]))
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch([(12.0, 8, 8 * 24.0)]))
    assert res.jobs.loc[0, "revenue_usd"] == pytest.approx(8 * (12 * 2.0 + 12 * 1.5))


def test_successor_launch_reprices_only_older_models() -> None:
    """By default a launch steps down every model launched before it, and no other."""
    d = base_dict(
        market=flat_market(successor_launches=[{"name": "B200", "date": "2024-01-05", "drop": 0.2}])
    )
    market = Market(planner.Scenario.model_validate(d))
    h800 = market.curve("H800")
    assert h800.price(3 * DAY) == pytest.approx(2.0)
    assert h800.price(5 * DAY) == pytest.approx(1.6)
    assert market.steps("B300") == ()


def test_price_given_as_of_a_date_includes_the_earlier_steps() -> None:
    """$2.00 as of day 5, after a 20% cut on day 2: the price before the cut was $2.50."""
    d = base_dict(
        market=flat_market(
            prices={"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0, "as_of": "2024-01-06"}},
            price_cuts=[{"date": "2024-01-03", "cut": 0.2}],
        )
    )
    curve = Market(planner.Scenario.model_validate(d)).curve("H800")
    assert curve.price(0.0) == pytest.approx(2.5)
    assert curve.price(6 * DAY) == pytest.approx(2.0)


def test_scarcity_premium_lasts_its_days_then_ends() -> None:
    d = base_dict(
        market=flat_market(),
        export_controls=[
            {
                "effective": "2024-01-03",
                "ban": ["H800"],
                "scarcity_premium": 0.17,
                "scarcity_days": 4,
            }
        ],
    )
    curve = Market(planner.Scenario.model_validate(d)).curve("H800")
    # In force from the ban's day (day 2) for four days, to day 6.
    assert [curve.price(t * DAY) for t in (1, 2, 5.9, 6, 9)] == pytest.approx(
        [2.0, 2.34, 2.34, 2.0, 2.0]
    )


def test_price_cut_preset_is_the_sourced_event() -> None:
    d = base_dict(market=flat_market(price_cuts=["alibaba-2024-02"]))
    (cut,) = planner.Scenario.model_validate(d).market.price_cuts
    assert (str(cut.date), cut.cut) == ("2024-02-29", 0.2)


def test_default_launches_are_the_four_successors() -> None:
    launches = planner.Scenario.model_validate(base_dict()).market.successor_launches
    assert [(s.name, str(s.date)) for s in launches] == [
        ("H200", "2024-04-01"),
        ("B200", "2024-10-01"),
        ("B300", "2025-07-01"),
        ("Rubin", "2026-07-01"),
    ]


def test_a_launch_can_speed_up_the_decline() -> None:
    """Flat at $2.00 until a launch on day 10 that drops it 10% and sets a 50%/yr decline."""
    d = base_dict(
        horizon_days=400,
        market=flat_market(
            successor_launches=[
                {"name": "B200", "date": "2024-01-11", "drop": 0.1, "annual_decline_after": 0.5}
            ]
        ),
    )
    curve = Market(planner.Scenario.model_validate(d)).curve("H800")
    assert curve.price(9 * DAY) == pytest.approx(2.0)
    assert curve.price(10 * DAY) == pytest.approx(1.8)
    assert curve.price(10 * DAY + 8766) == pytest.approx(0.9)


def test_an_earlier_launch_with_a_faster_decline_brings_obsolescence_forward() -> None:
    def obsolete_at(launch: str) -> float:
        d = base_dict(
            horizon_days=60,
            market=flat_market(
                successor_launches=[
                    {"name": "B200", "date": launch, "drop": 0.2, "annual_decline_after": 0.5}
                ]
            ),
        )
        return float(
            planner.simulate(planner.Scenario.model_validate(d)).cohorts.loc[0, "obsolete_at_h"]
        )

    assert obsolete_at("2024-01-20") < obsolete_at("2024-02-20")


def test_first_below_finds_a_crossing_caused_by_a_step() -> None:
    """$1.00 flat, opex $0.90: it is the 20% cut at hour 100 that makes the cohort obsolete."""
    curve = PriceCurve(1.0, 0.0, 0.0, (PriceStep(100.0, 0.8),))
    assert curve.first_below(0.9) == 100.0
    assert curve.first_below(0.5) == math.inf
    declining = PriceCurve.from_annual_decline(1.0, 0.0, 0.5, (PriceStep(100.0, 0.8),))
    # Between steps the price falls continuously: below 0.7 some time after the cut.
    t = declining.first_below(0.7)
    assert t > 100.0 and declining.price(t) == pytest.approx(0.7)


steps = st.lists(st.tuples(st.floats(-5000, 20000), st.floats(0.3, 1.8)), max_size=5).map(
    lambda xs: tuple(PriceStep(t, f) for t, f in xs)
)


@settings(max_examples=60, deadline=None)
@given(
    p0=st.floats(0.1, 10.0),
    t0=st.floats(-5000, 5000),
    decline=st.floats(0.0, 0.9),
    steps=steps,
    a=st.floats(-8000, 30000),
    length=st.floats(0.0, 10000),
)
def test_integral_agrees_with_quadrature_and_the_array_form(
    p0: float, t0: float, decline: float, steps: tuple[PriceStep, ...], a: float, length: float
) -> None:
    """The closed-form integral equals a fine midpoint sum of the price, across every step."""
    curve = PriceCurve.from_annual_decline(p0, t0, decline, steps)
    b = a + length
    cuts = sorted({a, b, *(s.t_h for s in steps if a < s.t_h < b)})
    numeric = 0.0
    for lo, hi in itertools.pairwise(cuts):
        mids = np.linspace(lo, hi, 201)[:-1] + (hi - lo) / 400
        numeric += sum(curve.price(m) for m in mids) * (hi - lo) / 200
    exact = curve.integral(a, b)
    assert exact == pytest.approx(numeric, rel=1e-4, abs=1e-9)
    array = curve.integral_array(np.array([a]), np.array([b]))[0]
    assert array == pytest.approx(exact, rel=1e-12, abs=1e-9)
    assert curve.price(t0) == pytest.approx(p0)


@settings(max_examples=60, deadline=None)
@given(
    decline=st.floats(0.0, 0.9),
    steps=steps,
    stretches=st.lists(st.tuples(st.floats(-8000, 30000), st.floats(-100, 10000)), max_size=30),
)
def test_the_array_form_integrates_each_stretch_on_its_own(
    decline: float, steps: tuple[PriceStep, ...], stretches: list[tuple[float, float]]
) -> None:
    """A batch of stretches gives, bit for bit, what each stretch gives alone (an empty or
    reversed one earns zero), so tables may integrate any subset of stretches and agree."""
    curve = PriceCurve.from_annual_decline(2.0, 0.0, decline, steps)
    a = np.array([lo for lo, _ in stretches])
    b = a + np.array([length for _, length in stretches])
    alone = [curve.integral_array(a[i : i + 1], b[i : i + 1])[0] for i in range(len(a))]
    assert curve.integral_array(a, b).tobytes() == np.array(alone, dtype=np.float64).tobytes()
    assert all(x == 0.0 for x in np.array(alone)[b <= a])


@settings(max_examples=20, deadline=None)
@given(
    launch_day=st.integers(10, 50),
    earlier_by=st.integers(1, 40),
    drop=st.floats(0.05, 0.5),
    seed=st.integers(0, 2**16),
)
def test_an_earlier_successor_launch_never_raises_payback(
    launch_day: int, earlier_by: int, drop: float, seed: int
) -> None:
    """Same seed and demand, launch moved earlier: every cohort's payback falls or stays.

    This holds when demand ignores price, no cohort retires inside the horizon and prices are
    anchored before both launch dates: then the jobs run exactly as before, each at a price
    no higher. (With elastic demand, cheaper GPU-hours can sell more of them.)
    """

    def run(day: int) -> np.ndarray:
        d = base_dict(horizon_days=60)
        d["fleet"].append({"model": "A800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"})
        d["market"] = {
            "prices": {"H800": {"usd_per_gpu_h": 2.0}, "A800": {"usd_per_gpu_h": 1.0}},
            "successor_launches": [
                {"name": "next", "date": str(np.datetime64("2024-01-01") + day), "drop": drop}
            ],
        }
        d["tenants"][0]["models"] = ["H800", "A800"]
        d["tenants"][0]["workload"] = {
            "arrivals": {"kind": "poisson", "per_day": 30},
            "gpus": {"kind": "choice", "values": [1, 8, 16]},
            "work_gpu_h": {"kind": "exponential", "mean": 20},
        }
        res = planner.simulate(planner.Scenario.model_validate(d), seed=seed)
        return res.cohorts["payback"].to_numpy()

    later, earlier = run(launch_day), run(max(1, launch_day - earlier_by))
    assert np.all(earlier <= later + 1e-12)


def test_a_dated_step_may_raise_the_price() -> None:
    """The 2025-26 H100 rent rebound, +40% (domain.md §4b), as a negative cut."""
    d = base_dict(
        market=flat_market(price_cuts=[{"name": "rebound", "date": "2024-01-03", "cut": -0.4}])
    )
    curve = Market(planner.Scenario.model_validate(d)).curve("H800")
    assert curve.price(1 * DAY) == pytest.approx(2.0)
    assert curve.price(3 * DAY) == pytest.approx(2.8)
    assert curve.integral(0.0, 4 * DAY) == pytest.approx(2 * DAY * 2.0 + 2 * DAY * 2.8)


def test_a_step_of_zero_is_refused() -> None:
    d = base_dict(market=flat_market(price_cuts=[{"date": "2024-01-03", "cut": 0.0}]))
    with pytest.raises(ValueError, match="leaves the price unchanged"):
        planner.Scenario.model_validate(d)
