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


def grey_dict(orders: list[dict], **market: object) -> dict[str, object]:
    """H800s banned from day 1, with a grey market for them open from day 2."""
    d = base_dict(horizon_days=150)
    d["orders"] = orders
    d["export_controls"] = [
        {"name": "ban", "effective": "2024-01-02", "ban": ["H800"]},
        {
            "name": "grey",
            "effective": "2024-01-03",
            "grey_market": {
                "models": ["H800"],
                "premium": 0.5,
                "extra_lead_days": 20,
                "cap_gpus_per_quarter": 16,
                **market,
            },
        },
    ]
    return d


def grey(orders: list[dict], **market: object) -> planner.Scenario:
    return planner.Scenario.model_validate(grey_dict(orders, **market))


def h800_order(channel: str, gpus: int = 16, ordered: str = "2024-01-05") -> dict:
    return {
        "model": "H800",
        "region": "r1",
        "gpus": gpus,
        "ordered": ordered,
        "lead_days": 10,
        "unit_capex_usd": 40000,
        "channel": channel,
    }


def test_a_grey_order_gets_through_a_ban_late_and_dear() -> None:
    res = planner.simulate(grey([h800_order("official"), h800_order("grey")]))
    official, grey_order = res.orders.iloc[0], res.orders.iloc[1]
    assert official["status"] == "cancelled"
    assert (grey_order["status"], grey_order["at_h"]) == ("delivered", (4 + 10 + 20) * 24.0)
    cohort = res.cohorts.set_index("cohort").loc[grey_order["order"]]
    assert cohort["capex_usd"] == 16 * 40000 * 1.5


def test_grey_volume_beyond_the_quarterly_cap_is_refused() -> None:
    orders = [
        h800_order("grey"),
        h800_order("grey", ordered="2024-02-01"),
        h800_order("grey", ordered="2024-04-02"),
    ]
    statuses = list(planner.simulate(grey(orders)).orders["status"])
    assert statuses == ["delivered", "capped", "delivered"]


def test_a_grey_order_needs_an_open_grey_market() -> None:
    d = grey_dict([h800_order("grey", ordered="2024-01-02")])
    with pytest.raises(planner.ScenarioError, match="no grey market"):
        planner.scenario.validate(d)


def test_a_region_refuses_deliveries_past_its_gpu_or_power_cap() -> None:
    """r1 holds 24 GPUs: the 16-GPU fleet plus one 8-GPU order fit; a second does not. A power
    cap of 0.02 MW (about 14 H800s at 1.4 kW each, PUE and servers included) refuses both."""
    d = base_dict(horizon_days=30)
    d["orders"] = [
        {"model": "H800", "region": "r1", "gpus": 8, "ordered": "2024-01-01", "lead_days": d_}
        for d_ in (2, 4)
    ]
    d["regions"][0]["max_gpus"] = 24
    statuses = list(planner.simulate(planner.Scenario.model_validate(d)).orders["status"])
    assert statuses == ["delivered", "over_cap"]
    del d["regions"][0]["max_gpus"]
    d["regions"][0]["max_power_mw"] = 0.03  # the fleet alone draws 16 x 1.365 kW = 0.022 MW
    statuses = list(planner.simulate(planner.Scenario.model_validate(d)).orders["status"])
    assert statuses == ["over_cap", "over_cap"]


def test_the_h20_presets_replay_the_2025_licence_episode() -> None:
    """An H20 order due on 30 Apr 2025 is frozen from 9 Apr, released on 15 Jul when sales
    resume, then waits 30 days for its licence (or is one of the one-in-ten refused)."""
    d = base_dict(horizon_days=365)
    d["start"] = "2025-01-01"
    d["fleet"][0]["acquired"] = "2024-06-01"
    d["orders"] = [
        {"model": "H20", "region": "r1", "gpus": 16, "ordered": "2025-03-01", "lead_days": 60}
    ]
    d["export_controls"] = ["h20-2025-04", "h20-2025-07"]
    sc = planner.Scenario.model_validate(d)
    lift_h = sc.hours_since_start(sc.export_controls[1].effective)
    outcomes = [planner.simulate(sc, seed=s).orders.iloc[0] for s in range(20)]
    delivered = [o for o in outcomes if o["status"] == "delivered"]
    assert {o["status"] for o in outcomes} <= {"delivered", "denied"}
    assert all(o["at_h"] == lift_h + 30 * 24 for o in delivered)
    assert all(
        o["frozen_h"] == sc.hours_since_start(sc.export_controls[0].effective) for o in delivered
    )
    assert len(delivered) >= 14  # 10% denial: 14 or more of 20 delivered with probability > 99%
