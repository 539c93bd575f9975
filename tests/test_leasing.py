"""Wholesale leasing: lessees take a share of idle GPU-hours at a floor price."""

from __future__ import annotations

import pytest

import planner
from tests.conftest import base_dict, batch


def with_lessees(*leases: dict) -> planner.Scenario:
    d = base_dict()
    d["tenants"] += [
        {"name": f"lessee{i}", "class": "wholesale", "models": ["H800"], "lease": lease}
        for i, lease in enumerate(leases)
    ]
    return planner.Scenario.model_validate(d)


def test_a_lessee_pays_for_its_share_of_idle_gpu_hours() -> None:
    """16 GPUs for 240 h, one 8-GPU job busy for 10 h: 3,760 idle GPU-hours. Half leased at
    $0.60: 1,880 GPU-hours, $1,128. Job revenue is unchanged; payback counts both."""
    res = planner.simulate(
        with_lessees({"usd_per_gpu_h": 0.6, "share": 0.5}), jobs=batch([(0.0, 8, 80.0)])
    )
    cohort = res.cohorts.iloc[0]
    assert cohort["leased_gpu_h"] == pytest.approx(1880.0)
    assert cohort["lease_revenue_usd"] == pytest.approx(1128.0)
    assert cohort["revenue_usd"] == pytest.approx(80 * 2.0)
    assert cohort["payback"] == pytest.approx((160.0 + 1128.0) / cohort["capex_usd"])
    lessee = res.tenants.set_index("tenant").loc["lessee0"]
    assert (lessee["lease_revenue_usd"], lessee["jobs_submitted"]) == pytest.approx((1128.0, 0))
    assert res.summary()["revenue_lease_usd"] == pytest.approx(1128.0)
    assert res.ledger["lease_revenue_usd"].sum() == pytest.approx(1128.0)


def test_lessees_never_take_more_than_all_the_idle_time() -> None:
    """Two lessees asking 70% each: the first gets 70%, the second the remaining 30%."""
    res = planner.simulate(
        with_lessees({"usd_per_gpu_h": 0.5, "share": 0.7}, {"usd_per_gpu_h": 0.4, "share": 0.7})
    )
    leased = res.tenants.set_index("tenant")["leased_gpu_h"]
    idle = 16 * 240.0
    assert (leased["lessee0"], leased["lessee1"]) == pytest.approx((0.7 * idle, 0.3 * idle))


def test_a_wholesale_tenant_needs_a_lease_and_submits_no_jobs() -> None:
    d = base_dict()
    d["tenants"].append({"name": "x", "class": "wholesale", "models": ["H800"]})
    with pytest.raises(planner.ScenarioError, match="lease"):
        planner.scenario.validate(d)
