"""Credit-for-equity deals: sizing, both accounting views, forfeits and the price paid in equity.

A deal grants credits (``amount_usd``, or ``investment_usd`` x ``credit_share``) drawn at list
price while valid. The burn view recognises credits as they are used; the escrow view recognises
the whole grant when it is granted.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from planner.errors import ScenarioError
from planner.scenario import builtin_names, validate
from planner.writers import write_run
from tests.accounting import assert_tables_match_the_runs, reference
from tests.conftest import base_dict, batch
from tests.test_ledger import assert_credit_ledger_adds_up

OPEX = 0.7 * 1.5 * 1.3 * 0.08 + 0.15  # the default H800 operating cost per GPU-hour


def deal(**credit: Any) -> dict[str, Any]:
    """The tiny scenario (16 H800 at a flat $2) with one credit tenant holding ``credit``."""
    d = base_dict()
    d["tenants"] = [
        {
            "name": "moonshot",
            "class": "credit",
            "models": ["H800"],
            "credit": {"granted": "2024-01-01", "expires": "2024-03-01", **credit},
        }
    ]
    return d


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        validate(data)
    return [str(p) for p in info.value.problems]


# -- sizing ------------------------------------------------------------------------------------


def test_a_grant_sized_by_investment_is_investment_times_credit_share() -> None:
    """Moonshot: about $800 M, just under half (47.5%) as credits: $380 M granted."""
    sc = validate(deal(investment_usd=800e6, credit_share=0.475))
    assert sc.tenants[0].credit is not None
    assert sc.tenants[0].credit.amount_usd == pytest.approx(380e6)
    tenant = planner.simulate(sc).tenants.iloc[0]
    assert tenant["investment_usd"] == 800e6
    assert tenant["credit_share"] == 0.475
    assert tenant["credits_granted_usd"] == pytest.approx(380e6)


def test_a_grant_sized_by_amount_has_no_investment_or_share() -> None:
    tenant = planner.simulate(validate(deal(amount_usd=1000.0))).tenants.iloc[0]
    assert tenant["credits_granted_usd"] == 1000.0
    assert math.isnan(tenant["investment_usd"]) and math.isnan(tenant["credit_share"])


@pytest.mark.parametrize(
    ("credit", "reason"),
    [
        (
            {"amount_usd": 380e6, "investment_usd": 800e6, "credit_share": 0.475},
            "give either 'amount_usd' or 'investment_usd' with 'credit_share', not both",
        ),
        ({"amount_usd": 380e6, "credit_share": 0.475}, "not both"),
        ({}, "give 'amount_usd', or 'investment_usd' and 'credit_share'"),
        ({"investment_usd": 800e6}, "'investment_usd' needs 'credit_share'"),
        ({"credit_share": 0.5}, "'credit_share' needs 'investment_usd'"),
    ],
)
def test_a_grant_is_sized_exactly_one_way(credit: dict[str, Any], reason: str) -> None:
    (found,) = problems(deal(**credit))
    assert found.startswith("tenants.moonshot.credit: ") and reason in found


def test_investment_and_share_are_checked_field_by_field() -> None:
    found = problems(deal(investment_usd=-1.0, credit_share=1.5))
    assert [p.split(":")[0] for p in found] == [
        "tenants.moonshot.credit.investment_usd",
        "tenants.moonshot.credit.credit_share",
    ]


def test_a_grant_sized_by_investment_survives_a_dump_and_overrides(tmp_path: Path) -> None:
    """The derived amount is not written out, so scenario.json loads back equal, and an
    override of the share resizes the grant."""
    sc = validate(deal(investment_usd=1000.0, credit_share=0.4))
    write_run(planner.simulate(sc), tmp_path)
    dumped = json.loads((tmp_path / "scenario.json").read_text())
    assert "amount_usd" not in dumped["tenants"][0]["credit"]
    assert planner.Scenario.model_validate(dumped) == sc
    resized = sc.with_overrides({"tenants.moonshot.credit.credit_share": 0.25})
    assert resized.tenants[0].credit is not None
    assert resized.tenants[0].credit.amount_usd == pytest.approx(250.0)


def test_json_schema_does_not_require_amount_usd() -> None:
    grant = planner.Scenario.model_json_schema(by_alias=True)["$defs"]["CreditGrant"]
    assert "amount_usd" not in grant["required"]
    assert {"investment_usd", "credit_share"} <= set(grant["properties"])


# -- what the credits bought -------------------------------------------------------------------


def test_credits_run_out_and_the_rest_is_paid_in_cash() -> None:
    """$200 of credits at $2/GPU-h: of two 80-GPU-hour jobs the first pays $160 in credits, the
    second $40 in credits and $120 in cash (``after: cash``). The GPU-hours paid with credits are
    80 + 80 x 40/160 = 100, so the start-up paid $200 / 100 = $2 per GPU-hour in equity."""
    sc = validate(deal(amount_usd=200.0, after="cash"))
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0), (0.0, 8, 80.0)]))
    t = res.tenants.iloc[0]
    assert t["credit_state"] == "spent"
    assert t["credits_burned_usd"] == pytest.approx(200.0)
    assert t["credits_left_usd"] == pytest.approx(0.0)
    assert t["credits_forfeited_usd"] == 0.0
    assert t["cash_usd"] == pytest.approx(120.0)
    assert t["credit_gpu_h"] == pytest.approx(100.0)
    assert t["compute_list_value_usd"] == pytest.approx(200.0)
    assert t["compute_cost_usd"] == pytest.approx(100.0 * OPEX)
    assert t["effective_usd_per_gpu_h"] == pytest.approx(2.0)


def test_unspent_credits_are_forfeited_and_raise_the_price_paid_in_equity() -> None:
    """$10,000 valid for one day; an 8-GPU job from hour 12 to 36 pays 12 hours ($192) in credits
    and the rest in cash. $9,808 is forfeited, and the start-up paid $10,000 for 96 GPU-hours:
    $104.17 each."""
    sc = validate(deal(amount_usd=10_000.0, expires="2024-01-02"))
    res = planner.simulate(sc, jobs=batch([(12.0, 8, 8 * 24.0)]))
    t = res.tenants.iloc[0]
    assert t["credits_burned_usd"] == pytest.approx(192.0)
    assert t["credits_forfeited_usd"] == pytest.approx(10_000.0 - 192.0)
    assert t["credits_left_usd"] == 0.0
    assert t["credit_state"] == "expired"
    assert t["credit_gpu_h"] == pytest.approx(96.0)
    assert t["effective_usd_per_gpu_h"] == pytest.approx(10_000.0 / 96.0)
    summary = res.summary()
    assert summary["credits_forfeited_usd.moonshot"] == pytest.approx(9_808.0)
    assert summary["effective_usd_per_gpu_h.moonshot"] == pytest.approx(10_000.0 / 96.0)


def test_credits_granted_but_never_used_cost_an_infinite_price_per_gpu_hour() -> None:
    res = planner.simulate(validate(deal(amount_usd=500.0)))
    t = res.tenants.iloc[0]
    assert t["credit_gpu_h"] == 0.0
    assert t["effective_usd_per_gpu_h"] == math.inf


def test_escrow_view_counts_the_whole_grant_when_granted() -> None:
    """Burn view: revenue = cash + credits burned. Escrow view: cash + the whole grant."""
    sc = validate(deal(amount_usd=200.0))
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0), (0.0, 8, 80.0)]))
    t, summary = res.tenants.iloc[0], res.summary()
    assert t["escrow_revenue_usd"] == 200.0
    assert summary["escrow_revenue_usd.moonshot"] == 200.0
    assert summary["revenue_usd"] == pytest.approx(320.0)
    assert summary["revenue_escrow_view_usd"] == pytest.approx(120.0 + 200.0)


def test_escrow_view_can_exceed_the_burn_view_by_the_credits_not_burned() -> None:
    sc = validate(deal(amount_usd=10_000.0, expires="2024-01-02"))
    summary = planner.simulate(sc, jobs=batch([(12.0, 8, 8 * 24.0)])).summary()
    unburned = summary["credits_forfeited_usd.moonshot"] + summary["credits_left_usd.moonshot"]
    assert summary["revenue_escrow_view_usd"] - summary["revenue_usd"] == pytest.approx(unburned)


def test_credit_ledger_burns_credits_in_the_month_the_gpu_hours_were_used() -> None:
    """A job from 10 h before the end of January to 10 h after, all on credits at $2: $160 is
    burned in each month (though drawn only when the job ends); the grant is recognised in
    January in the escrow view."""
    d = deal(amount_usd=1_000.0)
    d["horizon_days"] = 40
    jan_h = 31 * 24.0
    res = planner.simulate(validate(d), jobs=batch([(jan_h - 10.0, 8, 8 * 20.0)]))
    ledger = res.credit_ledger
    assert list(ledger["month"]) == [date(2024, 1, 1), date(2024, 2, 1)]
    assert list(ledger["credits_burned_usd"]) == pytest.approx([160.0, 160.0])
    assert list(ledger["credit_gpu_h"]) == pytest.approx([80.0, 80.0])
    assert list(ledger["credits_granted_usd"]) == [1_000.0, 0.0]
    assert list(ledger["cash_usd"]) == pytest.approx([0.0, 0.0])
    assert list(ledger["revenue_escrow_view_usd"]) == pytest.approx([1_000.0, 0.0])


def test_summary_carries_every_deal_and_fleet_value_key() -> None:
    summary = planner.simulate(validate(deal(amount_usd=200.0))).summary()
    for key in (
        "credits_burned_usd.moonshot",
        "credits_forfeited_usd.moonshot",
        "escrow_revenue_usd.moonshot",
        "effective_usd_per_gpu_h.moonshot",
        "revenue_escrow_view_usd",
        "stranded_book_value_usd",
        "idle_value_usd",
        "potential_revenue_usd",
        "capture",
        "opex_usd",
        "margin_usd",
    ):
        assert key in summary.index, key


# -- identities on the built-in scenarios ------------------------------------------------------


@pytest.mark.parametrize("name", builtin_names())
def test_credits_and_cash_match_the_bill_rebuilt_from_the_runs_on_every_builtin_scenario(
    name: str,
) -> None:
    """Granted = burned + left + forfeited; credits never negative; revenue, credits burned and
    cash per tenant, and revenue and busy GPU-hours per job and cohort, equal those rebuilt
    from the runs table and the price curves (tests/accounting.py); the monthly ledgers add up
    to the same revenue and to the deal totals."""
    res = planner.simulate(planner.load_scenario(name), seed=0)
    jobs, tenants = res.jobs, res.tenants
    assert (jobs["credit_usd"] >= 0).all() and (tenants["credits_left_usd"] >= 0).all()
    np.testing.assert_allclose(
        tenants["credits_granted_usd"],
        tenants["credits_burned_usd"]
        + tenants["credits_left_usd"]
        + tenants["credits_forfeited_usd"],
        rtol=1e-9,
    )
    assert_tables_match_the_runs(res)
    revenue = reference(res).runs["value_usd"].sum()
    np.testing.assert_allclose(res.ledger["revenue_usd"].sum(), revenue, rtol=1e-9)
    assert_credit_ledger_adds_up(res.credit_ledger, tenants)
    deals = tenants[tenants["tenant_class"] == "credit"]
    assert (deals["credit_gpu_h"] <= deals["gpu_h"] * (1 + 1e-9)).all()
