"""Bad input a user may write: each gets exit status 2 and one message naming the file, the
field path and the reason, said once and in the user's terms (ISO dates, the real cause), never
a traceback and never a run that quietly does nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from planner.cli import app

runner = CliRunner()

SCENARIO = """\
name: tiny
start: 2024-01-01
horizon_days: 10
regions: [{name: r1, pod_gpus: 64, gpus_per_node: 8}]
fleet: [{model: H800, region: r1, gpus: 64, acquired: 2023-06-01}]
tenants:
  - name: acme
    class: paying
    models: [H800]
    workload:
      arrivals: {kind: poisson, per_day: 40}
      gpus: {kind: choice, values: [1, 8, 16]}
      work_gpu_h: {kind: exponential, mean: 10}
"""

TRACE_TENANT = """\
  - name: replayed
    class: internal
    models: [H800]
    workload:
      arrivals: {kind: trace, path: jobs.csv, format: FORMAT}
"""


def scenario_file(tmp_path: Path, old: str = "", new: str = "", extra: str = "") -> Path:
    """The tiny scenario with ``old`` replaced by ``new`` and ``extra`` appended."""
    assert old in SCENARIO
    file = tmp_path / "tiny.yaml"
    file.write_text(SCENARIO.replace(old, new) + extra)
    return file


def refused(result: Result, *fragments: str) -> list[str]:
    """Assert exit 2, no traceback and every fragment in the message; return its problems."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("  - ")]


def validate(file: Path) -> Result:
    return runner.invoke(app, ["validate", str(file)])


def run(file: Path) -> Result:
    return runner.invoke(app, ["run", str(file), "--quiet"])


# -- tracebacks that are now errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "reason"),
    [(".inf", "finite number"), (".nan", "finite number"), ("1e30", "jobs over the horizon")],
)
@pytest.mark.parametrize("command", [validate, run])
def test_an_arrival_rate_too_large_to_draw_is_refused(
    tmp_path: Path, rate: str, reason: str, command: object
) -> None:
    file = scenario_file(tmp_path, "per_day: 40", f"per_day: {rate}")
    assert callable(command)
    refused(command(file), str(file), "tenants.acme.workload.arrivals.per_day", reason)


def test_an_impossible_date_names_the_file_and_the_field(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, "start: 2024-01-01", "start: 2025-13-45")
    refused(validate(file), str(file), "start:", "month value is outside", "2025-13-45")


def test_a_fleet_entry_in_an_unknown_region_is_one_clear_problem(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, "region: r1, gpus: 64", "region: nowhere, gpus: 64")
    problems = refused(run(file), str(file), "fleet.0.region", "unknown region 'nowhere'")
    assert len(problems) == 1


def test_an_unknown_fleet_model_is_the_only_problem_reported(tmp_path: Path) -> None:
    """Not also 'no GPUs of H800 are in the fleet', which is only a consequence of it."""
    file = scenario_file(tmp_path, "model: H800, region", "model: H999, region")
    problems = refused(validate(file), "fleet.0.model", "unknown GPU model 'H999'")
    assert len(problems) == 1


# -- traces ------------------------------------------------------------------------------------


def write_trace(tmp_path: Path, content: bytes) -> Path:
    trace = tmp_path / "jobs.csv"
    trace.write_bytes(content)
    return trace


def test_a_trace_that_is_not_utf8_is_named_by_the_scenario_that_replays_it(
    tmp_path: Path,
) -> None:
    write_trace(tmp_path, b"submit_s,duration_s,gpus\n0,10,\xff\n")
    file = scenario_file(tmp_path, extra=TRACE_TENANT.replace("FORMAT", "generic"))
    for command in (validate, run):
        refused(command(file), str(file), "tenants.replayed.workload.arrivals.path", "not UTF-8")


def test_a_trace_missing_a_column_says_so_in_the_scenario(tmp_path: Path) -> None:
    write_trace(tmp_path, b"arrival time (sec),duration (sec)\n0,10\n5,20\n")
    file = scenario_file(tmp_path, extra=TRACE_TENANT.replace("FORMAT", "philly"))
    message = refused(validate(file), str(file), "no column 'size'")
    assert len(message) == 1 and "is not a number" not in message[0]


def test_trace_import_of_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    trace = write_trace(tmp_path, b"submit_s,duration_s,gpus\n0,10,\xff\n")
    result = runner.invoke(app, ["trace", "import", str(trace), "--format", "generic",
                                 "--out", str(tmp_path / "out.csv")])  # fmt: skip
    refused(result, str(trace), "not UTF-8")
    assert not (tmp_path / "out.csv").exists()


def test_trace_import_in_the_wrong_format_names_the_columns_it_lacks(tmp_path: Path) -> None:
    trace = write_trace(tmp_path, b"submit_s,duration_s,gpus\n0,10,1\n5,20,8\n")
    result = runner.invoke(app, ["trace", "import", str(trace), "--format", "philly",
                                 "--out", str(tmp_path / "out.csv")])  # fmt: skip
    refused(result, str(trace), "no column 'arrival time (sec)'", "is the format right?")


# -- accepted silently before ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ("active_from: 2024-02-01", "active_from"),
        ("active_from: 2023-01-01\n      active_until: 2023-12-01", "active_until"),
    ],
)
def test_a_workload_active_only_outside_the_horizon_is_refused(
    tmp_path: Path, window: str, field: str
) -> None:
    """As a fleet cohort acquired after the horizon is: the run would have no job of it."""
    file = scenario_file(tmp_path, "workload:\n", f"workload:\n      {window}\n")
    refused(run(file), str(file), f"tenants.acme.workload.{field}", "would submit no job")


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, "per_day: 40}", "per_day: 40, per_day: 4}")
    refused(validate(file), str(file), "key 'per_day' is given twice", "line 11")


def test_a_key_repeated_on_its_own_line_is_refused(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, "horizon_days: 10\n", "horizon_days: 10\nhorizon_days: 20\n")
    refused(validate(file), "line 4", "key 'horizon_days' is given twice (first at line 3)")


def test_keys_merged_from_an_anchor_may_still_be_overridden(tmp_path: Path) -> None:
    """YAML merge keys are meant to be overridden: that is not a repeated key."""
    old = "work_gpu_h: {kind: exponential, mean: 10}"
    file = scenario_file(tmp_path, old, "work_gpu_h: {<<: {kind: exponential, mean: 5}, mean: 10}")
    assert validate(file).exit_code == 0


# -- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("regions: [{name: r1, pod_gpus: 64, gpus_per_node: 8}]",
         "regions: [{name: r1, pod_gpus: 64, gpus_per_node: 8}, {name: r1}]", "regions.r1.name"),
        ("tenants:\n", "tenants:\n  - {name: acme, class: paying, models: [H800]}\n",
         "tenants.acme.name"),
    ],
)  # fmt: skip
def test_a_duplicate_name_is_reported_once(tmp_path: Path, old: str, new: str, path: str) -> None:
    problems = refused(validate(scenario_file(tmp_path, old, new)), path, "used 2 times")
    assert len(problems) == 1


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [("models: [H800]", "models: [H800, H800]", "tenants.acme.models"),
     ("models: [H800]", "models: [H800]\n    regions: [r1, r1]", "tenants.acme.regions")],
)  # fmt: skip
def test_a_model_or_region_a_tenant_lists_twice_is_refused(
    tmp_path: Path, old: str, new: str, path: str
) -> None:
    """Listed twice, its pools would count twice where a tenant's usable GPUs are summed."""
    problems = refused(validate(scenario_file(tmp_path, old, new)), path, "more than once")
    assert len(problems) == 1


def test_dates_out_of_order_are_shown_as_dates(tmp_path: Path) -> None:
    window = "workload:\n      active_from: 2024-01-05\n      active_until: 2024-01-03\n"
    problems = refused(validate(scenario_file(tmp_path, "workload:\n", window)))
    assert problems == [
        "  - tenants.acme.workload: active_from (2024-01-05) must be before active_until "
        "(2024-01-03)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "wording"),
    [
        ("gpus: 64, acquired", "gpus: 1, acquired", "1 GPU is not a whole number"),
        ("values: [1, 8, 16]}", "values: [1, 8, 16], weights: [1]}", "has 1 entry but"),
    ],
)  # fmt: skip
def test_counts_of_one_are_singular(tmp_path: Path, old: str, new: str, wording: str) -> None:
    refused(validate(scenario_file(tmp_path, old, new)), wording)


# -- numbers too large to simulate -------------------------------------------------------------


def test_a_fleet_too_large_to_model_is_refused(tmp_path: Path) -> None:
    """2**64 GPUs is a whole number of nodes, but building them would exhaust memory."""
    file = scenario_file(tmp_path, "gpus: 64, acquired", f"gpus: {2**64}, acquired")
    refused(validate(file), str(file), "fleet.0.gpus", "more than the 10,000,000 a run can model")


def test_a_price_elasticity_beyond_any_measured_is_refused(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, "per_day: 40}", "per_day: 40}\n      price_elasticity: 1e30")
    refused(validate(file), str(file), "price_elasticity", "less than or equal to 10")


def test_demand_that_prices_blow_up_is_refused_when_drawn(tmp_path: Path) -> None:
    """Elastic demand follows the simulated prices, so a collapse (a 99.9% cut) that would make
    1e32 jobs is found as the jobs are drawn, and still reported as bad input."""
    cut = "tenants:\n"
    market = "market: {price_cuts: [{date: 2024-01-03, cut: 0.999}]}\ntenants:\n"
    file = scenario_file(tmp_path, cut, market)
    file.write_text(
        file.read_text().replace("per_day: 40}", "per_day: 40}\n      price_elasticity: 10")
    )
    refused(run(file), str(file), "tenants.acme.workload.price_elasticity", "jobs, more than the")


def test_a_failure_rate_that_would_never_let_a_run_end_is_refused(tmp_path: Path) -> None:
    """1e30 failures per 1,000 node-days is an endless stream of failure events."""
    failures = "failures: {node_per_1000_node_days: 1e30}\ntenants:\n"
    file = scenario_file(tmp_path, "tenants:\n", failures)
    refused(validate(file), str(file), "failures.node_per_1000_node_days", "or equal to 1000")
