"""Export controls beyond bans: licences that delay or deny orders, and regional restrictions."""

from __future__ import annotations

import math

import pytest

import planner
from tests.conftest import base_dict, batch


def licensed(deny: float, delay_days: float = 5) -> planner.Scenario:
    """An H20 order due on day 4; licences required for H20 from day 2."""
    d = base_dict(horizon_days=30)
    d["orders"] = [
        {"model": "H20", "region": "r1", "gpus": 16, "ordered": "2024-01-01", "lead_days": 4}
    ]
    d["export_controls"] = [
        {
            "name": "h20-licences",
            "effective": "2024-01-03",
            "licence": {
                "models": ["H20"],
                "delay_days": {"kind": "constant", "value": delay_days},
                "deny_probability": deny,
            },
        }
    ]
    return planner.Scenario.model_validate(d)


def test_a_licensed_order_is_delayed_by_the_licence() -> None:
    order = planner.simulate(licensed(deny=0.0)).orders.iloc[0]
    assert (order["status"], order["at_h"], order["control"]) == (
        "delivered",
        9 * 24.0,
        "h20-licences",
    )
    assert order["licence_delay_h"] == 5 * 24.0


def test_a_denied_licence_never_delivers() -> None:
    res = planner.simulate(licensed(deny=1.0))
    order = res.orders.iloc[0]
    assert (order["status"], order["at_h"]) == ("denied", 48.0)
    assert "H20" not in set(res.cohorts["gpu_model"])


def test_an_order_due_after_the_lift_needs_no_licence() -> None:
    d = licensed(deny=1.0).model_dump(mode="json", by_alias=True, exclude_unset=True)
    d["export_controls"].append({"effective": "2024-01-04", "lift": ["H20"]})
    order = planner.simulate(planner.Scenario.model_validate(d)).orders.iloc[0]
    assert (order["status"], order["at_h"]) == ("delivered", 96.0)
    assert math.isnan(order["licence_delay_h"])


def test_a_tenant_barred_from_a_region_starts_no_job_there_after_the_date() -> None:
    """Two regions; from day 2 the tenant may not use r1. A job running there finishes; later
    jobs go to r2 only, and one that could only fit in r1 waits."""
    d = base_dict(horizon_days=10)
    d["regions"].append({"name": "r2", "pod_gpus": 16, "gpus_per_node": 8})
    d["fleet"].append({"model": "H800", "region": "r2", "gpus": 8, "acquired": "2023-06-01"})
    d["export_controls"] = [
        {"effective": "2024-01-03", "restrict": [{"tenants": ["acme"], "regions": ["r1"]}]}
    ]
    sc = planner.Scenario.model_validate(d)
    jobs = batch([(0.0, 8, 8 * 60.0), (50.0, 8, 8.0), (50.0, 8, 8.0), (60.0, 16, 16.0)])
    res = planner.simulate(sc, jobs=jobs)
    runs = res.jobs.set_index("job_id")
    assert runs.loc[0, "region"] == "r1" and runs.loc[0, "end_h"] == 60.0
    assert runs.loc[1, "region"] == "r2" and runs.loc[1, "start_h"] == 50.0
    assert runs.loc[2, "region"] == "r2" and runs.loc[2, "start_h"] == 51.0
    assert runs.loc[3, "state"] == "queued"
    after = res.runs[res.runs["from_h"] >= 48.0]
    assert (after["region"] != "r1").all()


def test_restrictions_name_known_tenants_and_regions() -> None:
    d = base_dict()
    d["export_controls"] = [
        {"effective": "2024-01-03", "restrict": [{"tenants": ["nobody"], "regions": ["r9"]}]}
    ]
    with pytest.raises(planner.ScenarioError) as info:
        planner.scenario.validate(d)
    paths = sorted(p.path for p in info.value.problems)
    assert paths == [
        "export_controls.0.restrict.0.regions.0",
        "export_controls.0.restrict.0.tenants.0",
    ]
