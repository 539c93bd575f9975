"""Cash flows, NPV, IRR and paybacks, checked against closed forms computed here.

The reference cohort: 16 H800 GPUs bought at the start for $40,000 each, one 8-GPU job busy from
hour 0 to the end of the horizon (utilisation exactly 1/2), a flat $10 list price and $0.30 opex
per GPU-hour. Its net cash flow is then an even ``A = 8 x 10 - 16 x 0.30`` dollars an hour, and
with continuous discounting at ``delta = ln(1 + r)`` a year every figure has a closed form:

    NPV = -C + A (1 - exp(-delta T)) / delta + R exp(-delta T)
    cash payback:        A t = C
    discounted payback:  A (1 - exp(-delta t)) / delta = C
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

import planner
from planner.analysis.finance import Flows, irr_annual
from planner.scenario.schema import HOURS_PER_YEAR
from tests.conftest import base_dict, batch

GPUS, BUSY_GPUS, UNIT_CAPEX, PRICE, OPEX = 16, 8, 40_000.0, 10.0, 0.30
CAPEX = GPUS * UNIT_CAPEX
A_USD_PER_H = BUSY_GPUS * PRICE - GPUS * OPEX
START = datetime(2024, 1, 1)
# A service life ending on a month's first day (2026-01-01), so the ledger's months need no
# cutting at the exit.
LIFE_H = 731 * 24.0


def reference(
    horizon_days: int = 1096,
    service_life_years: float = LIFE_H / HOURS_PER_YEAR,
    shares: list[float] | None = None,
    finance: dict[str, Any] | None = None,
    tenant_class: str = "paying",
) -> planner.RunResult:
    d = base_dict(horizon_days=horizon_days)
    d["fleet"][0].update(acquired="2024-01-01", unit_capex_usd=UNIT_CAPEX)
    d["market"] = {
        "prices": {
            "H800": {"usd_per_gpu_h": PRICE, "annual_decline": 0.0, "opex_usd_per_gpu_h": OPEX}
        },
        "successor_launches": [],
        "service_life_years": service_life_years,
        "resale": {"H800": {"share_by_year": shares or [1.0, 0.7, 0.5]}},
    }
    d["tenants"][0]["class"] = tenant_class
    d["finance"] = {"cost_of_capital": 0.12, **(finance or {})}
    sc = planner.Scenario.model_validate(d)
    return planner.simulate(sc, jobs=batch([(0.0, BUSY_GPUS, 1e9)]))


def closed_form_npv(rate: float, exit_h: float, resale: float) -> float:
    delta = math.log1p(rate) / HOURS_PER_YEAR
    if delta == 0.0:
        return -CAPEX + A_USD_PER_H * exit_h + resale
    return (
        -CAPEX
        + A_USD_PER_H * -math.expm1(-delta * exit_h) / delta
        + resale * math.exp(-delta * exit_h)
    )


def test_one_cohort_reproduces_the_closed_form_npv_irr_and_paybacks() -> None:
    """Exit at the end of a two-year service life, selling at its share at that age."""
    res = reference()
    cohort = res.cohorts.iloc[0]
    life_h = LIFE_H
    assert cohort["exit_reason"] == "end of service life"
    assert cohort["exit_at_h"] == pytest.approx(life_h)
    assert cohort["resale_usd"] == pytest.approx(0.5 * CAPEX, abs=0.005)
    assert cohort["terminal_value_usd"] == 0.0
    assert cohort["npv_usd"] == pytest.approx(closed_form_npv(0.12, life_h, 0.5 * CAPEX), abs=0.01)
    assert cohort["net_cash_flow_usd"] == pytest.approx(
        closed_form_npv(0.0, life_h, 0.5 * CAPEX), abs=0.01
    )
    irr = cohort["irr_annual"]
    assert closed_form_npv(irr, life_h, 0.5 * CAPEX) == pytest.approx(0.0, abs=0.01)
    assert closed_form_npv(irr - 1e-4, life_h, 0.5 * CAPEX) > 0
    assert closed_form_npv(irr + 1e-4, life_h, 0.5 * CAPEX) < 0
    cash_h = CAPEX / A_USD_PER_H
    delta = math.log1p(0.12) / HOURS_PER_YEAR
    discounted_h = -math.log(1.0 - delta * CAPEX / A_USD_PER_H) / delta
    assert discounted_h < life_h
    second = timedelta(seconds=1)
    assert abs(cohort["net_payback_date"] - (START + timedelta(hours=cash_h))) < second
    assert abs(cohort["discounted_payback_date"] - (START + timedelta(hours=discounted_h))) < second


def test_the_fleet_of_one_cohort_has_the_cohorts_figures() -> None:
    res = reference()
    summary, cohort = res.summary(), res.cohorts.iloc[0]
    assert summary["npv_usd"] == pytest.approx(cohort["npv_usd"])
    assert summary["irr_annual"] == pytest.approx(cohort["irr_annual"])
    assert summary["net_payback_date"] == cohort["net_payback_date"].date().isoformat()
    name = cohort["cohort"]
    assert summary[f"npv_usd.{name}"] == pytest.approx(cohort["npv_usd"])


def test_monthly_cash_flows_add_up_to_the_cohorts_net_cash_flow() -> None:
    res = reference()
    flows, cohort = res.cash_flows, res.cohorts.iloc[0]
    assert flows["net_cash_flow_usd"].sum() == pytest.approx(cohort["net_cash_flow_usd"])
    assert flows["capex_usd"].iloc[0] == CAPEX and flows["capex_usd"].iloc[1:].sum() == 0.0
    assert flows["resale_usd"].sum() == pytest.approx(cohort["resale_usd"])
    # Nothing is earned after the exit, though the job kept its GPUs to the horizon.
    after_exit = flows[flows["from_h"] >= cohort["exit_at_h"]]
    assert len(after_exit) > 0 and (after_exit["revenue_usd"] == 0).all()


def test_a_dated_sale_ends_the_cash_flows_and_realises_the_resale_value() -> None:
    """Sold after 366 days (age 1.002 years): resale interpolates log-linearly past 0.7."""
    res = reference(finance={"sell": [{"cohort": "H800-r1-0", "date": "2025-01-01"}]})
    cohort = res.cohorts.iloc[0]
    sold_h = 366 * 24.0
    share = 0.7 * (0.5 / 0.7) ** ((sold_h / HOURS_PER_YEAR) - 1.0)
    assert cohort["exit_reason"] == "sold"
    assert cohort["resale_usd"] == pytest.approx(share * CAPEX)
    assert cohort["npv_usd"] == pytest.approx(
        closed_form_npv(0.12, sold_h, share * CAPEX), abs=0.01
    )


def test_a_cohort_in_service_at_the_horizon_is_valued_at_its_terminal_value() -> None:
    """One year of a six-year life: terminal value counts in NPV, not in the paybacks."""
    res = reference(horizon_days=366, service_life_years=6.0)
    cohort = res.cohorts.iloc[0]
    horizon_h = 366 * 24.0
    share = 0.7 * (0.5 / 0.7) ** ((horizon_h / HOURS_PER_YEAR) - 1.0)
    assert cohort["resale_usd"] == 0.0 and cohort["exit_reason"] == ""
    assert cohort["terminal_value_usd"] == pytest.approx(share * CAPEX)
    assert cohort["npv_usd"] == pytest.approx(
        closed_form_npv(0.12, horizon_h, share * CAPEX), abs=0.01
    )
    # A year of $75.2/h is $660k: past the $640k capex, so a cash payback within the year ...
    assert pd.notna(cohort["net_payback_date"])
    # ... but not a discounted one, though NPV with the terminal value is positive.
    assert pd.isna(cohort["discounted_payback_date"]) and cohort["npv_usd"] > 0
    assert cohort["monetised_to"] == "horizon"
    assert cohort["remaining_service_life_years"] == pytest.approx(6.0 - horizon_h / HOURS_PER_YEAR)


def test_paybacks_not_within_the_horizon_are_missing() -> None:
    res = reference(horizon_days=200, service_life_years=6.0)
    cohort = res.cohorts.iloc[0]
    assert pd.isna(cohort["net_payback_date"]) and pd.isna(cohort["discounted_payback_date"])
    assert res.summary()["net_payback_date"] is None


def test_internal_use_is_valued_apart_and_counts_only_when_asked() -> None:
    """An internal tenant pays nothing; at 60% of list its 8 GPUs are worth $48 an hour."""
    transfer = {"internal_transfer": {"share_of_list": 0.6}}
    apart = reference(finance=transfer, tenant_class="internal").cohorts.iloc[0]
    counted = reference(
        finance={**transfer, "internal_in_payback": True}, tenant_class="internal"
    ).cohorts.iloc[0]
    life_h = LIFE_H
    assert apart["internal_value_usd"] == pytest.approx(0.6 * PRICE * BUSY_GPUS * life_h)
    assert counted["internal_value_usd"] == apart["internal_value_usd"]
    assert apart["revenue_usd"] == 0.0
    assert apart["net_cash_flow_usd"] == pytest.approx(
        -CAPEX - GPUS * OPEX * life_h + apart["resale_usd"]
    )
    assert counted["net_cash_flow_usd"] == pytest.approx(
        apart["net_cash_flow_usd"] + apart["internal_value_usd"]
    )
    assert pd.isna(apart["net_payback_date"]) and pd.notna(counted["net_payback_date"])


def test_internal_use_at_a_price_per_gpu_hour() -> None:
    res = reference(finance={"internal_transfer": {"usd_per_gpu_h": 1.5}}, tenant_class="internal")
    assert res.cohorts.loc[0, "internal_value_usd"] == pytest.approx(1.5 * BUSY_GPUS * LIFE_H)


def test_tax_takes_its_share_of_profit_after_depreciation_and_of_the_resale_gain() -> None:
    """Six-year book life: after about two years the book value is about 2/3 of capex, resale
    is 1/2, a loss on the sale that lowers the tax."""
    untaxed = reference().cohorts.iloc[0]
    taxed = reference(finance={"tax_rate": 0.25}).cohorts.iloc[0]
    life_h = LIFE_H
    depreciated = CAPEX * life_h / (6 * HOURS_PER_YEAR)
    profit = A_USD_PER_H * life_h - depreciated
    gain = 0.5 * CAPEX - (CAPEX - depreciated)
    assert taxed["tax_usd"] == pytest.approx(0.25 * (profit + gain))
    assert taxed["net_cash_flow_usd"] == pytest.approx(
        untaxed["net_cash_flow_usd"] - taxed["tax_usd"]
    )


def flows(times_years: list[float], usd: list[float]) -> Flows:
    t = np.array(times_years) * HOURS_PER_YEAR
    return Flows(t, t, np.array(usd), np.zeros(len(t), bool))


def test_irr_is_the_rate_that_zeroes_npv() -> None:
    """-100 now and +121 in two years: 10% a year."""
    irr, note = irr_annual(flows([0.0, 2.0], [-100.0, 121.0]))
    assert irr == pytest.approx(0.10, abs=1e-12) and note == ""


def test_irr_is_missing_with_a_reason_when_it_does_not_exist_or_is_not_unique() -> None:
    irr, note = irr_annual(flows([0.0, 1.0], [-100.0, -5.0]))
    assert math.isnan(irr) and "no inflow" in note
    irr, note = irr_annual(flows([0.0, 1.0], [100.0, 5.0]))
    assert math.isnan(irr) and "no outflow" in note
    # -1, +2.3, -1.32: NPV is zero at both 10% and 20%.
    irr, note = irr_annual(flows([0.0, 1.0, 2.0], [-1.0, 2.3, -1.32]))
    assert math.isnan(irr) and "several rates" in note


def two_cohorts_one_obsolete() -> planner.RunResult:
    """$2 falling 50% a year: a cohort with $1.50 opex is obsolete after 0.415 years, inside the
    300-day horizon; one with $0.10 opex only after 4.3 years, past it."""
    d = base_dict(horizon_days=300)
    d["regions"][0]["pod_gpus"] = 32
    d["fleet"] = [
        {"name": name, "model": "H800", "region": "r1", "gpus": 16, "acquired": "2024-01-01"}
        | {"opex_usd_per_gpu_h": opex}
        for name, opex in (("dear", 1.5), ("cheap", 0.1))
    ]
    d["market"] = {
        "prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.5}},
        "successor_launches": [],
    }
    sc = planner.Scenario.model_validate(d)
    return planner.simulate(sc, jobs=batch([(0.0, 16, 16 * 24 * 400.0)] * 2))


def test_before_obsolescence_counts_only_cohorts_obsolete_inside_the_horizon() -> None:
    res = two_cohorts_one_obsolete()
    summary, cohorts = res.summary(), res.cohorts.set_index("cohort")
    dear, cheap = cohorts.loc["dear"], cohorts.loc["cheap"]
    assert dear["monetised_to"] == "obsolescence" and cheap["monetised_to"] == "horizon"
    assert dear["revenue_before_obsolescence_usd"] > 0 and cheap["revenue_usd"] > 0

    def earned(c: pd.Series) -> float:
        return float(c["revenue_before_obsolescence_usd"] + c["lease_revenue_usd"])

    assert summary["cohorts_monetised_to_obsolescence"] == 1
    assert summary["capex_monetised_share_to_obsolescence"] == pytest.approx(
        earned(dear) / dear["capex_usd"]
    )
    assert summary["cohorts_monetised_to_horizon"] == 1
    assert summary["capex_monetised_share_to_horizon"] == pytest.approx(
        earned(cheap) / cheap["capex_usd"]
    )
    # The gross share over every cohort is kept as it was.
    assert summary["capex_monetised_share"] == pytest.approx(
        (earned(dear) + earned(cheap)) / (dear["capex_usd"] + cheap["capex_usd"])
    )
    years_left = math.log(2.0 / 0.1) / math.log(2.0) - 300 * 24 / HOURS_PER_YEAR
    assert cheap["remaining_service_life_years"] == pytest.approx(years_left)
    assert summary["remaining_service_life_years.cheap"] == pytest.approx(years_left)
    assert dear["remaining_service_life_years"] == 0.0


def test_with_no_cohort_obsolete_the_share_before_obsolescence_is_undefined() -> None:
    summary = reference(horizon_days=200, service_life_years=6.0).summary()
    assert summary["cohorts_monetised_to_obsolescence"] == 0
    assert math.isnan(summary["capex_monetised_share_to_obsolescence"])


def test_terminal_value_is_taxed_in_npv_but_not_in_cash() -> None:
    """Tax on a cohort still in service: on profit after depreciation in the flows, and on its
    terminal value over book value in NPV only."""
    untaxed = reference(horizon_days=366, service_life_years=6.0).cohorts.iloc[0]
    taxed = reference(
        horizon_days=366, service_life_years=6.0, finance={"tax_rate": 0.25}
    ).cohorts.iloc[0]
    horizon_h = 366 * 24.0
    depreciated = CAPEX * horizon_h / (6 * HOURS_PER_YEAR)
    assert taxed["tax_usd"] == pytest.approx(0.25 * (A_USD_PER_H * horizon_h - depreciated))
    assert taxed["terminal_value_usd"] == untaxed["terminal_value_usd"]
    delta = math.log1p(0.12) / HOURS_PER_YEAR
    terminal_tax = 0.25 * (untaxed["terminal_value_usd"] - (CAPEX - depreciated))
    operating_tax_pv = (
        0.25
        * (A_USD_PER_H - CAPEX / (6 * HOURS_PER_YEAR))
        * -math.expm1(-delta * horizon_h)
        / delta
    )
    assert taxed["npv_usd"] == pytest.approx(
        untaxed["npv_usd"] - operating_tax_pv - terminal_tax * math.exp(-delta * horizon_h),
        abs=0.01,
    )
