"""Credit feasibility: a grant larger than the list value of everything its tenant may use."""

from __future__ import annotations

import pytest

import planner
from planner.feasibility import credit_ceilings, infeasible_credit_warnings
from tests.conftest import base_dict


def grant(amount: float, controls: list[dict] | None = None, **tenant: object) -> planner.Scenario:
    """16 H800 at a flat $2 in each of r1 and r2: ten days of one pool are worth
    16 x 240 x 2 = $7,680."""
    d = base_dict(horizon_days=30)
    d["regions"].append({"name": "r2", "pod_gpus": 16, "gpus_per_node": 8})
    d["fleet"].append({"model": "H800", "region": "r2", "gpus": 16, "acquired": "2023-06-01"})
    d["market"]["successor_launches"] = []
    d["tenants"] = [
        {
            "name": "moonshot",
            "class": "credit",
            "models": ["H800"],
            "credit": {"amount_usd": amount, "granted": "2024-01-05", "expires": "2024-01-15"},
        }
        | tenant
    ]
    d["export_controls"] = controls or []
    return planner.Scenario.model_validate(d)


POOL_USD = 16 * 240 * 2.0


def test_the_ceiling_is_every_usable_gpu_hour_at_list_price_while_the_grant_is_valid() -> None:
    (ceiling,) = credit_ceilings(grant(7_000.0))
    assert ceiling.ceiling_usd == pytest.approx(2 * POOL_USD)
    assert ceiling.feasible
    assert infeasible_credit_warnings(grant(7_000.0)) == []


def test_a_grant_above_its_ceiling_is_named_with_its_amounts() -> None:
    (warning,) = infeasible_credit_warnings(grant(20_000.0))
    assert "'moonshot'" in warning and "$20,000" in warning and "$15,360" in warning


def test_models_and_regions_the_tenant_may_not_use_add_nothing() -> None:
    assert credit_ceilings(grant(1.0, models=["A800"]))[0].ceiling_usd == 0.0
    assert credit_ceilings(grant(1.0, regions=["r1"]))[0].ceiling_usd == pytest.approx(POOL_USD)


def test_a_region_barred_by_export_controls_counts_until_the_bar() -> None:
    """Barred from r2 halfway through the grant: r1 whole, r2 for five days of ten."""
    bar = {"effective": "2024-01-10", "restrict": [{"tenants": ["moonshot"], "regions": ["r2"]}]}
    assert credit_ceilings(grant(1.0, controls=[bar]))[0].ceiling_usd == pytest.approx(
        POOL_USD * 1.5
    )


def test_a_cohort_sold_while_the_grant_is_valid_counts_until_the_sale() -> None:
    """r2's cohort is sold halfway through the grant: r1 whole, r2 for five days of ten."""
    sc = grant(1.0).with_overrides(
        {"finance.sell": [{"cohort": "H800-r2-1", "date": "2024-01-10"}]}
    )
    assert credit_ceilings(sc)[0].ceiling_usd == pytest.approx(POOL_USD * 1.5)


def test_alibaba_2024_every_grant_can_be_burned() -> None:
    """Moonshot may use A800 as well as H800, for three years: no grant exceeds its ceiling."""
    sc = planner.load_scenario("alibaba-2024")
    ceilings = {c.tenant: c for c in credit_ceilings(sc)}
    assert ceilings["moonshot"].granted_usd == 380e6
    assert all(c.feasible for c in ceilings.values())
    assert infeasible_credit_warnings(sc) == []


def test_alibaba_2024_moonshot_on_its_old_terms_could_not_burn_its_grant() -> None:
    """On H800 only (8,192 GPUs in Wulanchabu) for two years: $380 M of credits against about
    $311 M of list value, the reason the scenario gives Moonshot A800 and a third year."""
    sc = planner.load_scenario("alibaba-2024").with_overrides(
        {"tenants.moonshot.models": ["H800"], "tenants.moonshot.credit.expires": "2026-02-01"}
    )
    moonshot = next(c for c in credit_ceilings(sc) if c.tenant == "moonshot")
    assert moonshot.ceiling_usd == pytest.approx(311e6, rel=0.01)
    assert not moonshot.feasible
