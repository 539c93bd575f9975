"""State directives: a dated share of a pool held for named tenants, carried out as reservations.

A directive holds ``share`` of the GPUs of one model in one region installed by its date, split
evenly among its tenants in whole nodes, from its date to its ``until`` (or the horizon's end),
as one reservation per tenant that the quota scheduler enforces.
"""

from __future__ import annotations

import copy
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.model.fast import unsupported_field
from planner.presets import DIRECTIVES
from planner.report.directives import directives_table
from tests.test_engine_equivalence import assert_same_run

runner = CliRunner()
NODE_GPUS = 8


def world(**changes: Any) -> dict[str, Any]:
    """One Beijing region of 8-GPU nodes: 64 H800 installed before 2024-02-01 (a cohort of 48
    from 2023 and one of 16 from January 2024), 32 more H800 from 2024-02-20, and 32 A800. Two
    AI firms and an enterprise customer, each a light stream of one-node jobs, under quota."""

    def stream(per_day: float) -> dict[str, Any]:
        return {
            "arrivals": {"kind": "poisson", "per_day": per_day},
            "gpus": {"kind": "choice", "values": [1, 8]},
            "work_gpu_h": {"kind": "exponential", "mean": 40.0},
        }

    d: dict[str, Any] = {
        "name": "directive-world",
        "start": "2024-01-01",
        "horizon_days": 90,
        "regions": [{"name": "cn-beijing", "pod_gpus": 64, "gpus_per_node": NODE_GPUS}],
        "fleet": [
            {"model": "H800", "region": "cn-beijing", "gpus": 48, "acquired": "2023-06-01"},
            {"model": "H800", "region": "cn-beijing", "gpus": 16, "acquired": "2024-01-15"},
            {"model": "H800", "region": "cn-beijing", "gpus": 32, "acquired": "2024-02-20"},
            {"model": "A800", "region": "cn-beijing", "gpus": 32, "acquired": "2023-01-01"},
        ],
        "tenants": [
            {"name": "ai-a", "class": "paying", "models": ["H800"], "workload": stream(3)},
            {"name": "ai-b", "class": "paying", "models": ["H800"], "workload": stream(3)},
            {
                "name": "enterprise",
                "class": "paying",
                "models": ["H800", "A800"],
                "workload": stream(10),
            },
        ],
        "scheduler": {"kind": "quota", "lend": True, "reclaim": False},
        "directives": [
            {
                "name": "beijing",
                "date": "2024-02-01",
                "region": "cn-beijing",
                "model": "H800",
                "share": 0.5,
                "tenants": ["ai-a", "ai-b"],
                "source": "test",
            }
        ],
    }
    d.update(copy.deepcopy(changes))
    return d


def directive(**changes: Any) -> dict[str, Any]:
    """The world's directive with ``changes``."""
    return {**world()["directives"][0], **changes}


def installed_h800(d: dict[str, Any], day: str) -> int:
    """H800 GPUs of the world's fleet acquired on or before ``day`` (ISO dates sort as text)."""
    return sum(c["gpus"] for c in d["fleet"] if c["model"] == "H800" and c["acquired"] <= day)


# -- expansion ------------------------------------------------------------------------------


@pytest.mark.parametrize("share", ["0.5", "0.3", "1.0"])
def test_each_tenant_holds_an_even_part_of_the_share_in_whole_nodes(share: str) -> None:
    """Of the 64 H800 installed by 2024-02-01 (not the 32 delivered later, nor the A800), the
    share is split between the two firms and rounded down to whole 8-GPU nodes: 0.5 -> 16 each,
    0.3 -> 9.6 -> 8 each, 1.0 -> 32 each."""
    d = world(directives=[directive(share=float(share))])
    sc = planner.Scenario.model_validate(d)
    pool = installed_h800(d, "2024-02-01")
    assert pool == 64
    each = Fraction(share) * pool / 2 // NODE_GPUS * NODE_GPUS
    a, b, enterprise = sc.reservations()
    assert a is not None and b is not None
    assert (a.gpus, b.gpus) == (each, each)
    assert (a.model, a.region, a.start, a.end) == ("H800", "cn-beijing", date(2024, 2, 1), None)
    assert enterprise is None
    # The tenants' own fields are left as written: the reservations are the directive's.
    assert all(t.reservation is None for t in sc.tenants)


def test_until_ends_the_reservations_and_a_later_pool_counts_its_deliveries() -> None:
    """A directive dated on the February delivery shares all 96 H800; 'until' is its end."""
    d = world(directives=[directive(date="2024-02-20", until="2024-03-20", share=0.25)])
    sc = planner.Scenario.model_validate(d)
    pool = installed_h800(d, "2024-02-20")
    assert pool == 96
    each = Fraction(1, 4) * pool / 2 // NODE_GPUS * NODE_GPUS  # 12 -> one node
    for held in sc.reservations()[:2]:
        assert held is not None
        assert (held.gpus, held.start, held.end) == (each, date(2024, 2, 20), date(2024, 3, 20))


def test_a_preset_gives_the_date_end_share_and_source_and_the_scenario_the_pool() -> None:
    preset = DIRECTIVES["beijing-agi-2023"]
    entry = {"preset": "beijing-agi-2023", "region": "cn-beijing", "model": "H800"}
    fleet = [{"model": "H800", "region": "cn-beijing", "gpus": 160, "acquired": "2023-04-01"}]
    d = world(start="2023-05-01", fleet=fleet, directives=[{**entry, "tenants": ["ai-a"]}])
    (given,) = planner.Scenario.model_validate(d).directives
    assert (given.name, given.share, given.source) == (
        preset["name"],
        preset["share"],
        preset["source"],
    )
    assert (given.date.isoformat(), str(given.until)) == (preset["date"], preset["until"])
    d["directives"][0]["share"] = 0.2
    overridden = d
    (changed,) = planner.Scenario.model_validate(overridden).directives
    assert changed.share == 0.2


def test_a_scenario_with_directives_survives_overrides_and_a_dump() -> None:
    """with_overrides dumps and validates again: the directive is not doubled into a second
    reservation the tenant would already hold."""
    sc = planner.Scenario.model_validate(world())
    again = sc.with_overrides({"horizon_days": 60})
    assert again.reservations() == sc.reservations()
    assert planner.Scenario.model_validate(sc.model_dump(by_alias=True)) == sc


# -- bad directives ---------------------------------------------------------------------------


def _write(tmp_path: Path, d: dict[str, Any]) -> Path:
    file = tmp_path / "directive.yaml"
    file.write_text(yaml.safe_dump(d))
    return file


TWO_DIRECTIVES = [directive(share=0.5), directive(name="second", share=0.75, tenants=["ai-b"])]
RESERVED = {"gpus": 8, "model": "H800", "region": "cn-beijing"}


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        (
            {"directives": [directive(tenants=["ai-a", "nobody"])]},
            "directives.beijing.tenants.1",
            "unknown tenant 'nobody'",
        ),
        (
            {"directives": [directive(region="cn-shanghai")]},
            "directives.beijing.region",
            "unknown region 'cn-shanghai'",
        ),
        (
            {"directives": [directive(model="H900")]},
            "directives.beijing.model",
            "unknown GPU model 'H900'",
        ),
        (
            {"directives": [directive(model="H20")]},
            "directives.beijing.model",
            "no H20 GPUs in 'cn-beijing' are in the fleet on 2024-02-01",
        ),
        (
            {"directives": [directive(date="2023-12-31")]},
            "directives.beijing.date",
            "outside the horizon 2024-01-01 to 2024-03-31",
        ),
        (
            {"directives": [directive(date="2024-03-31")]},
            "directives.beijing.date",
            "outside the horizon",
        ),
        (
            {"directives": [directive(until="2024-02-01")]},
            "directives.beijing.until",
            "2024-02-01 is not after the directive's date 2024-02-01",
        ),
        (
            {"directives": [directive(share=1.5)]},
            "directives.beijing.share",
            "less than or equal to 1",
        ),
        (
            {"directives": [directive(share=0.1)]},
            "directives.beijing.share",
            "less than one 8-GPU node for each of 2 tenants",
        ),
        (
            {"directives": TWO_DIRECTIVES},
            "directives.second.tenants.0",
            "tenant 'ai-b' already holds a reservation by directive 'beijing'",
        ),
        (
            {"directives": TWO_DIRECTIVES},
            "directives.second.share",
            "shares adding up to 1.25, more than the whole pool",
        ),
        (
            {"directives": [directive(model="A800")]},
            "directives.beijing.tenants.0",
            "tenant 'ai-a' may not use A800 in 'cn-beijing'",
        ),
        (
            {"scheduler": {"kind": "fifo"}},
            "directives",
            "only the 'quota' scheduler enforces; scheduler.kind is 'fifo'",
        ),
        (
            {"directives": [{**directive(), "preset": "beijing-1999"}]},
            "directives.beijing",
            "unknown directive preset 'beijing-1999'",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_directive_that_cannot_be_carried_out_exits_2_naming_its_field(
    tmp_path: Path, changes: dict[str, Any], path: str, reason: str
) -> None:
    refused(_write(tmp_path, world(**changes)), path, reason)


def test_a_tenant_holding_its_own_reservation_cannot_be_named(tmp_path: Path) -> None:
    d = world(directives=[directive(tenants=["enterprise"])])
    d["tenants"][2]["reservation"] = RESERVED
    refused(
        _write(tmp_path, d),
        "directives.beijing.tenants.0",
        "tenant 'enterprise' already holds a reservation (tenants.enterprise.reservation)",
    )


def refused(file: Path, path: str, reason: str) -> None:
    """Both validate and run exit 2 with one message naming the file, the path and the reason,
    and no traceback."""
    for command in (["validate", str(file)], ["run", str(file), "--quiet"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.stderr
        assert str(file) in result.stderr
        assert f"  - {path}: " in result.stderr, result.stderr
        assert reason in result.stderr, result.stderr


def test_a_directive_beside_a_reservation_must_fit_the_pool_with_it() -> None:
    """64 H800 by the directive's date, 96 with the February delivery: a directive holding 2 x 32
    and a reservation of 40 make 104, more than the fleet ever holds."""
    d = world(directives=[directive(share=1.0)])
    d["tenants"][2]["reservation"] = {**RESERVED, "gpus": 40}
    with pytest.raises(planner.ScenarioError, match=r"directives\.beijing\.share: .* 104 GPUs"):
        planner.scenario.validate(d)


# -- what validate and the report show -------------------------------------------------------------


def test_validate_prints_the_reservations_each_directive_holds(tmp_path: Path) -> None:
    file = _write(tmp_path, world())
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    # directive, from, until, "H800 in cn-beijing", share, tenant, GPUs held, of pool
    rows = [line for line in lines if line[:1] == ["beijing"] and len(line) == 10]
    pool = installed_h800(world(), "2024-02-01")
    each = Fraction(1, 2) * pool / 2
    assert [row[7:] for row in rows] == [
        ["ai-a", str(each), str(pool)],
        ["ai-b", str(each), str(pool)],
    ]
    assert rows[0][1:3] == ["2024-02-01", "2024-03-31"]  # until the horizon's end
    assert "beijing: test" in result.stdout  # its source


def test_the_report_table_lists_each_directive_tenant_with_its_p95_wait() -> None:
    sc = planner.Scenario.model_validate(world())
    res = planner.simulate(sc, seed=1, engine="reference")
    table = directives_table(sc, res.tenants)
    assert table["tenant"].tolist() == ["ai-a", "ai-b"]
    assert table["reserved_gpus"].tolist() == [16, 16]
    p95 = res.tenants.set_index("tenant")["wait_p95_h"]
    assert table["tenant_wait_p95_h"].tolist() == [p95["ai-a"], p95["ai-b"]]


# -- what a directive does to a run --------------------------------------------------------------


def busy_world() -> dict[str, Any]:
    """The world with every job one 8-GPU node on the H800, and a heavy enterprise stream the
    firms' jobs queue behind, until a directive from the start holds the whole pool then (the
    48 H800 of 2023: 24 GPUs, three nodes, for each firm) for them."""
    d = world(directives=[directive(share=1.0, date="2024-01-01")], horizon_days=60)
    for tenant in d["tenants"]:
        tenant["workload"]["gpus"] = {"kind": "constant", "value": 8}
    d["tenants"][2]["models"] = ["H800"]
    d["tenants"][2]["workload"]["arrivals"]["per_day"] = 24
    return d


def test_the_named_tenants_wait_less_when_a_directive_holds_capacity_for_them() -> None:
    """Over three seeds, each named firm's p95 wait falls against the same scenario (same
    seeds, same jobs: common random numbers) without the directive."""
    held = planner.Scenario.model_validate(busy_world())
    free = held.with_overrides({"directives": []})
    for seed in range(3):
        waits = {}
        for label, sc in (("held", held), ("free", free)):
            jobs = planner.simulate(sc, seed=seed, engine="reference").jobs
            waits[label] = jobs.groupby("tenant")["wait_h"].quantile(0.95)
        for firm in ("ai-a", "ai-b"):
            assert waits["held"][firm] < waits["free"][firm], (seed, firm, waits)


def test_a_directive_runs_exactly_as_the_reservations_it_expands_into() -> None:
    """Writing the two reservations by hand gives the same jobs, to the last start time."""
    d = busy_world()
    by_hand = copy.deepcopy(d)
    by_hand["directives"] = []
    sc = planner.Scenario.model_validate(d)
    for tenant, held in zip(by_hand["tenants"], sc.reservations(), strict=True):
        if held is not None:
            tenant["reservation"] = held.model_dump(mode="json")
    run = planner.simulate(sc, seed=2, engine="reference").jobs
    written = planner.simulate(planner.Scenario.model_validate(by_hand), seed=2, engine="reference")
    pd.testing.assert_frame_equal(run, written.jobs, check_exact=True)


@pytest.mark.parametrize("lend", [False, True], ids=["holding", "lending"])
def test_both_engines_run_a_directive_identically(lend: bool) -> None:
    d = busy_world()
    d["scheduler"] = {"kind": "quota", "lend": lend, "reclaim": False}
    d["directives"][0]["date"] = "2024-01-20"  # in force from the middle of the run
    sc = planner.Scenario.model_validate(d)
    assert unsupported_field(sc) is None
    fast = assert_same_run(sc, seed=4)
    assert fast.jobs["tenant"].isin(["ai-a", "ai-b"]).any()


def test_the_builtin_directive_scenario_runs_identically_on_both_engines() -> None:
    sc = planner.load_scenario("beijing-directive")
    assert [h is not None for h in sc.reservations()] == [True, True, False]
    assert unsupported_field(sc) is None
    assert_same_run(sc, seed=1)
