"""The ``planner`` command line: verbs, outputs, exit statuses and error messages (design §4)."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

import planner
import planner.model.fast
from planner.cli import app, parse_sets
from planner.results import RunResult
from planner.writers import read_table

TINY_YAML = """\
name: tiny
description: |
  A ten-day toy cloud.
  Used by the command-line tests.
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
  - name: moonshot
    class: credit
    models: [H800]
    credit: {amount_usd: 1000, granted: 2024-01-02, expires: 2024-01-08}
    workload:
      arrivals: {kind: poisson, per_day: 10}
      gpus: {kind: constant, value: 8}
      work_gpu_h: {kind: lognormal, median: 20, sigma: 1}
"""
TINY: dict[str, Any] = yaml.safe_load(TINY_YAML)
RUN_FILES = {f"{name}.parquet" for name in RunResult.table_names()} | {
    "scenario.json",
    "summary.json",
    "run.json",
}
VERBS = (
    "run",
    "compare",
    "sweep",
    "plan",
    "sensitivity",
    "report",
    "validate",
    "schema",
    "scenarios",
    "compile",
)


def invoke(*args: str | Path) -> Result:
    """Run ``planner ARGS`` in-process, keeping stdout and stderr apart."""
    return CliRunner().invoke(app, [str(a) for a in args])


def write(folder: Path, data: dict[str, Any], name: str = "tiny.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def edited(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of the tiny scenario with ``change`` applied to it."""
    data = copy.deepcopy(TINY)
    change(data)
    return data


def summary_of(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return result


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in ``folder`` with its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


# -- the verbs ---------------------------------------------------------------------------------


def test_help_lists_every_verb() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for verb in VERBS:
        assert verb in result.stdout


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str) -> None:
    result = invoke(verb, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.stdout and verb in result.stdout


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"planner {planner.__version__}"


# -- planner run -------------------------------------------------------------------------------


def test_run_prints_utilisation_and_p95_wait_per_class(tiny: Path) -> None:
    """The headline shows the API's utilisation; the wait table has a p95 per tenant class."""
    result = invoke("run", tiny)
    assert result.exit_code == 0, result.output
    summary = planner.simulate(planner.load_scenario(tiny), seed=0).summary()
    lines = result.stdout.splitlines()
    utilisation = next(line for line in lines if line.split()[:1] == ["utilisation"])
    assert utilisation.split()[-1] == f"{summary['utilisation']:.1%}"
    assert "p95" in result.stdout
    for tenant_class in ("paying", "credit"):
        row = next(line.split() for line in lines if line.split()[:1] == [tenant_class])
        assert row[3] == f"{summary[f'wait_p95_h.{tenant_class}']:,.2f}"


def test_run_prints_the_wait_offered_and_the_jobs_turned_away(tmp_path: Path) -> None:
    """Twice the paying demand, with a tenant that balks at an hour's expected wait and leaves
    after 40 such waits. Beside each class's p95 wait, the p95 counting jobs turned away as
    never starting and how many were turned away; per tenant, what it submitted and what it did
    not, by reason, as the summary and tenants tables give them."""

    def impatient(data: dict[str, Any]) -> None:
        data["tenants"][0]["workload"]["arrivals"]["per_day"] = 80
        data["tenants"][0]["patience"] = {"balk_wait_h": 1.0, "churn_wait_h": 1.0,
                                          "churn_after": 40}  # fmt: skip

    path = write(tmp_path, edited(impatient))
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    res = planner.simulate(planner.load_scenario(path), seed=0)
    summary, acme = res.summary(), res.tenants.iloc[0]
    assert acme["jobs_balked"] > 0 and acme["jobs_lost_to_churn"] > 0
    for tenant_class in ("paying", "credit"):
        row = row_of(result.stdout, "wait per tenant class", tenant_class)
        offered = summary[f"wait_p95_h_offered.{tenant_class}"]
        assert row[3] == f"{summary[f'wait_p95_h.{tenant_class}']:,.2f}"
        assert row[5] == ("∞" if math.isinf(offered) else f"{offered:,.2f}")
        assert row[6] == f"{summary[f'jobs_turned_away.{tenant_class}']:,}"
    assert row_of(result.stdout, "wait per tenant class", "paying")[6] == (
        f"{acme['jobs_balked'] + acme['jobs_lost_to_churn']:,}"
    )
    row = row_of(result.stdout, "jobs not submitted, per tenant", "acme")
    assert row[1:] == [
        "paying",
        f"{acme['jobs_submitted']:,}",
        f"{acme['jobs_balked']:,}",
        f"{acme['jobs_lost_to_churn']:,}",
        f"{acme['jobs_skipped'] - acme['jobs_balked'] - acme['jobs_lost_to_churn']:,}",
    ]


def test_run_prints_credit_deals_and_cohorts(tiny: Path) -> None:
    result = invoke("run", tiny)
    assert "credit deals" in result.stdout and "moonshot" in result.stdout
    assert "forfeited" in result.stdout
    assert "H800-r1-0" in result.stdout and "payback" in result.stdout


def row_of(stdout: str, title: str, first: str) -> list[str]:
    """The cells of the row starting with ``first`` in the table titled ``title``."""
    lines = stdout[stdout.index(f"\n{title}") :].splitlines()
    return next(line.split() for line in lines if line.split()[:1] == [first])


def test_run_prints_a_value_row_per_deal(tiny: Path) -> None:
    """Granted, burned, forfeited, left, escrow view, GPU-hours on credit, the effective price
    per GPU-hour paid in equity, and the account's state, as the API gives them."""
    result = invoke("run", tiny)
    assert result.exit_code == 0, result.output
    deal = planner.simulate(planner.load_scenario(tiny), seed=0).tenants.iloc[1]
    row = row_of(result.stdout, "credit deals", "moonshot")
    assert row[1] == f"${deal['credits_granted_usd']:,.0f}"
    assert row[5] == f"${deal['escrow_revenue_usd']:,.0f}"
    assert row[7] == f"${deal['effective_usd_per_gpu_h']:,.2f}"
    assert row[8] == deal["credit_state"]


def test_run_prints_a_value_row_per_cohort(tiny: Path) -> None:
    """Capex, revenue before obsolescence, payback, capture, idle value, obsolescence date and
    stranded book value."""
    result = invoke("run", tiny)
    res = planner.simulate(planner.load_scenario(tiny), seed=0)
    cohort, summary = res.cohorts.iloc[0], res.summary()
    row = row_of(result.stdout, "cohort value", "H800-r1-0")
    assert row[3] == f"{cohort['payback']:.1%}"
    assert row[4] == f"{cohort['capture']:.1%}"
    assert row[6] == summary["obsolete_on.H800-r1-0"]
    assert row[7] == f"${cohort['stranded_book_value_usd'] / 1e6:,.2f}M"
    assert "stranded book value" in result.stdout and "escrow view" in result.stdout


def test_set_changes_the_result(tiny: Path, tmp_path: Path) -> None:
    """``--set fleet.0.gpus=128`` doubles the GPU-hours in service; VALUE is typed by YAML."""
    assert invoke("run", tiny, "--out", tmp_path / "a").exit_code == 0
    result = invoke("run", tiny, "--set", "fleet.0.gpus=128", "--out", tmp_path / "b")
    assert result.exit_code == 0, result.output
    base, bigger = summary_of(tmp_path / "a"), summary_of(tmp_path / "b")
    assert bigger["gpu_h_in_service"] == 2 * base["gpu_h_in_service"]
    scenario = json.loads((tmp_path / "b" / "scenario.json").read_text())
    assert scenario["fleet"][0]["gpus"] == 128


def test_set_addresses_list_items_by_name(tiny: Path, tmp_path: Path) -> None:
    result = invoke(
        "run", tiny, "--set", "tenants.moonshot.credit.amount_usd=5e8", "--out", tmp_path / "o"
    )
    assert result.exit_code == 0, result.output
    assert summary_of(tmp_path / "o")["credits_granted_usd.moonshot"] == 5e8


def test_set_values_are_parsed_as_yaml() -> None:
    assert parse_sets(["a=8", "b=true", "c=[1, 2]", "d=H800", "e=1.5", "f=x=y"]) == {
        "a": 8,
        "b": True,
        "c": [1, 2],
        "d": "H800",
        "e": 1.5,
        "f": "x=y",
    }


def test_seed_changes_the_result(tiny: Path, tmp_path: Path) -> None:
    assert invoke("run", tiny, "--seed", "1", "--out", tmp_path / "a").exit_code == 0
    assert invoke("run", tiny, "--seed", "2", "--out", tmp_path / "b").exit_code == 0
    a = pd.read_parquet(tmp_path / "a" / "jobs.parquet")
    b = pd.read_parquet(tmp_path / "b" / "jobs.parquet")
    assert not a.equals(b)


def test_same_seed_twice_gives_identical_tables(tiny: Path, tmp_path: Path) -> None:
    for out in ("a", "b"):
        assert invoke("run", tiny, "--seed", "3", "--out", tmp_path / out).exit_code == 0
    for name in RunResult.table_names():
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "a" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "b" / f"{name}.parquet"),
        )


def test_out_writes_every_table_and_the_json_files(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = invoke("run", tiny, "--seed", "5", "--out", out)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert str(out) in result.stdout.replace("\n", "")
    assert json.loads((out / "run.json").read_text())["seed"] == 5
    assert json.loads((out / "scenario.json").read_text())["name"] == "tiny"
    assert summary_of(out)["scenario"] == "tiny"


def test_out_jobs_table_reads_back_equal_with_queued_jobs(tmp_path: Path) -> None:
    """An overloaded fleet leaves jobs queued at the horizon; they are written with no start."""
    overloaded = write(tmp_path, edited(lambda d: d["fleet"][0].update(gpus=16)))
    out = tmp_path / "out"
    assert invoke("run", overloaded, "--out", out).exit_code == 0
    jobs = read_table(out / "jobs.parquet")
    expected = planner.simulate(planner.load_scenario(overloaded), seed=0).jobs
    pd.testing.assert_frame_equal(jobs, expected)
    queued = jobs[jobs["state"] == "queued"]
    assert len(queued) > 0
    assert queued["start_h"].isna().all()


def test_a_short_run_prints_no_progress_at_the_default_interval(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a terminal, progress lines come every PLANNER_PROGRESS_S (10 s by default):
    a run that ends sooner prints none."""
    monkeypatch.delenv("PLANNER_PROGRESS_S", raising=False)
    result = invoke("run", tiny)
    assert result.exit_code == 0
    assert result.stderr == ""


def test_quiet_prints_nothing(tiny: Path, tmp_path: Path) -> None:
    result = invoke("run", tiny, "--quiet", "--out", tmp_path / "o")
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "o" / "jobs.parquet").is_file()


def test_a_genuine_bug_is_not_swallowed(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only bad input becomes a clean exit 2; any other exception propagates."""

    def broken(*args: Any, **kwargs: Any) -> RunResult:
        raise RuntimeError("bug in the engine")

    monkeypatch.setattr(planner, "simulate", broken)
    result = invoke("run", tiny)
    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code == 1


# -- bad input ---------------------------------------------------------------------------------


def _missing(tmp_path: Path) -> list[str | Path]:
    return [tmp_path / "absent.yaml"]


def _bad_yaml(tmp_path: Path) -> list[str | Path]:
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\nstart: 2024-01-01\n  horizon_days: 10\n")
    return [path]


def _unknown_field(tmp_path: Path) -> list[str | Path]:
    return [write(tmp_path, edited(lambda d: d.update(horizon_dayz=d.pop("horizon_days"))))]


def _wrong_type(tmp_path: Path) -> list[str | Path]:
    return [write(tmp_path, edited(lambda d: d.update(horizon_days="abc")))]


def _job_larger_than_any_pod(tmp_path: Path) -> list[str | Path]:
    def change(d: dict[str, Any]) -> None:
        d["regions"][0]["pod_gpus"] = 1024
        d["fleet"][0]["gpus"] = 1024
        d["tenants"][0]["workload"]["gpus"]["values"] = [8, 4096]

    return [write(tmp_path, edited(change))]


def _unknown_gpu_model(tmp_path: Path) -> list[str | Path]:
    return [write(tmp_path, edited(lambda d: d["fleet"][0].update(model="H900")))]


def _date_outside_horizon(tmp_path: Path) -> list[str | Path]:
    campaign = {"name": "big", "submit": "2024-02-01", "gpus": 8, "days": 1}
    return [write(tmp_path, edited(lambda d: d["tenants"][0].update(campaigns=[campaign])))]


def _bad_set_path(tmp_path: Path) -> list[str | Path]:
    return [write(tmp_path, TINY), "--set", "fleet.3.gpus=8"]


BAD_INPUTS = {
    "missing file": (_missing, "absent.yaml", ["no such file"]),
    "bad YAML": (_bad_yaml, "tiny.yaml", ["bad YAML", "line 3"]),
    "unknown field": (_unknown_field, "tiny.yaml", ["horizon_dayz", "unknown field"]),
    "wrong type": (_wrong_type, "tiny.yaml", ["horizon_days", "valid integer", "'abc'"]),
    "job larger than any pod": (
        _job_larger_than_any_pod,
        "tiny.yaml",
        ["tenants.acme.workload.gpus", "4,096 GPUs can never fit", "1,024 GPUs"],
    ),
    "unknown GPU model": (
        _unknown_gpu_model,
        "tiny.yaml",
        ["fleet.0.model", "unknown GPU model 'H900'"],
    ),
    "date outside the horizon": (
        _date_outside_horizon,
        "tiny.yaml",
        ["tenants.acme.campaigns.big.submit", "2024-02-01 is outside the horizon"],
    ),
    "bad --set path": (_bad_set_path, "tiny.yaml", ["--set", "fleet.3.gpus", "out of range"]),
}


@pytest.mark.parametrize("verb", ["run", "validate"])
@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_exits_2_naming_file_field_and_reason(
    case: str, verb: str, tmp_path: Path
) -> None:
    """Bad input: exit status 2, one paragraph on stderr with file, field path and reason."""
    make, file_name, fragments = BAD_INPUTS[case]
    result = invoke(verb, *make(tmp_path))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert file_name in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_set_without_equals_is_a_usage_error_naming_it(tiny: Path) -> None:
    result = invoke("run", tiny, "--set", "fleet.0.gpus")
    assert result.exit_code == 2
    assert "'fleet.0.gpus' is not PATH=VALUE" in result.stderr


def test_bad_input_in_a_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    """The installed entry point behaves the same outside the test runner."""
    root = Path(planner.__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    bad = write(tmp_path, edited(lambda d: d.update(horizon_dayz=1)))
    proc = subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", "run", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "tiny.yaml" in proc.stderr and "horizon_dayz: unknown field" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_failed_run_loses_nothing_already_written(tiny: Path, tmp_path: Path) -> None:
    """A second run into the same --out that fails validation leaves every file as it was."""
    out = tmp_path / "out"
    assert invoke("run", tiny, "--out", out).exit_code == 0
    before = snapshot(out)
    bad = write(tmp_path, edited(lambda d: d.update(horizon_days="abc")), name="bad.yaml")
    result = invoke("run", bad, "--out", out)
    assert result.exit_code == 2
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "out", "tiny.yaml"]


def test_out_must_not_be_a_file(tiny: Path, tmp_path: Path) -> None:
    existing = tmp_path / "taken"
    existing.write_text("keep me")
    result = invoke("run", tiny, "--out", existing)
    assert result.exit_code == 2
    assert existing.read_text() == "keep me"


# -- planner validate, schema, scenarios -------------------------------------------------------


def test_validate_describes_a_good_file_and_says_valid(tiny: Path) -> None:
    result = invoke("validate", tiny)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "tiny: 2024-01-01 to 2024-01-11 (10 days)" in out
    assert "A ten-day toy cloud." in out
    for word in ("r1", "H800", "acme", "paying", "moonshot", "credit", "GPUs per model: H800 64"):
        assert word in out
    assert out.rstrip().endswith("valid")


def test_validate_applies_set(tiny: Path) -> None:
    result = invoke("validate", tiny, "--set", "fleet.0.gpus=128")
    assert result.exit_code == 0
    assert "H800 128" in result.stdout


def test_validate_shows_orders_and_export_controls(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["orders"] = [{"model": "H800", "region": "r1", "gpus": 64, "ordered": "2024-01-02"}]
        d["export_controls"] = [{"effective": "2024-01-05", "ban": ["H800", "A800"]}]

    result = invoke("validate", write(tmp_path, edited(change)))
    assert result.exit_code == 0, result.output
    assert "2024-04-01" in result.stdout  # due: ordered + 90 days
    assert "H800, A800" in result.stdout and "cancel" in result.stdout


def test_schema_is_json_schema_with_tenants() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "tenants" in schema["properties"]
    assert schema == planner.Scenario.model_json_schema(by_alias=True)


def test_schema_out_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "scenario.schema.json"
    result = invoke("schema", "--out", out)
    assert result.exit_code == 0
    assert "tenants" in json.loads(out.read_text())["properties"]


def test_scenarios_lists_builtins_with_their_first_description_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each built-in scenario is listed by name with its description's first line."""
    folder = tmp_path / "builtin"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY_YAML)
    (folder / "broken.yaml").write_text("name: broken\n")
    monkeypatch.setattr("planner.scenario.builtin.scenarios_dir", lambda: folder)
    monkeypatch.chdir(tmp_path)
    result = invoke("scenarios")
    assert result.exit_code == 0, result.output
    assert "tiny" in result.stdout and "A ten-day toy cloud." in result.stdout
    assert "Used by the command-line tests" not in result.stdout
    assert "broken" in result.stdout and "invalid" in result.stdout


def test_builtin_scenarios_run_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "builtin"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY_YAML)
    monkeypatch.setattr("planner.scenario.builtin.scenarios_dir", lambda: folder)
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", "tiny")
    assert result.exit_code == 0, result.output


# -- planner compare ---------------------------------------------------------------------------


def test_compare_runs_each_policy_on_the_same_seed_side_by_side(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke(
        "compare", tiny, "--each", "scheduler.kind=fifo,backfill", "--seed", 3, "--out", out
    )
    assert result.exit_code == 0, result.stderr
    assert "fifo" in result.stdout and "backfill" in result.stdout
    table = pd.read_csv(out / "compare.csv", index_col="metric")
    assert list(table.columns) == ["fifo", "backfill"]
    assert table.loc["scheduler"].tolist() == ["fifo", "backfill"]
    assert table.loc["seed"].tolist() == ["3", "3"]
    # The same seed: both runs see the same submitted jobs.
    assert table.loc["jobs_submitted", "fifo"] == table.loc["jobs_submitted", "backfill"]


def test_compare_reports_a_bad_value_before_running_anything(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", tiny, "--each", "scheduler.kind=fifo,lottery", "--out", out)
    assert result.exit_code == 2
    assert "--each scheduler.kind=lottery" in result.stderr and "scheduler" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


# -- experiments --------------------------------------------------------------------------------


def test_run_with_reps_prints_intervals_and_writes_every_replication(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reps"
    result = invoke("run", tiny, "--reps", 3, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "3 replications" in result.stdout and "95% CI" in result.stdout
    runs = pd.read_parquet(out / "replications.parquet")
    assert runs["rep"].tolist() == [0, 1, 2]
    table = pd.read_csv(out / "intervals.csv", index_col="metric")
    assert table.loc["utilisation", "n"] == 3


def test_plan_gpus_prints_the_answer_and_each_evaluation(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = invoke(
        "plan", "gpus", "mmc", "--cohort", "0", "--target", "0.3", "--metric",
        "wait_mean_h.all", "--low-gpus", "13", "--high-gpus", "24", "--reps", "3",
        "--set", "horizon_days=5", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "fewest GPUs in cohort 0:" in result.stdout and "evaluations" in result.stdout
    table = pd.read_csv(out / "evaluations.csv")
    assert table["x"].tolist()[:2] == [24, 13]


def test_plan_with_an_unknown_tenant_exits_2_without_a_traceback() -> None:
    result = invoke("plan", "grant", "mmc", "--tenant", "nobody", "--target-h", "1")
    assert result.exit_code == 2
    assert "unknown tenant 'nobody'" in result.stderr and "Traceback" not in result.stderr


def test_sensitivity_ranks_parameters(tmp_path: Path) -> None:
    result = invoke(
        "sensitivity", "mmc", "--range", "fleet.0.gpus=15,18", "--range",
        "tenants.t.workload.arrivals.per_day=290,300", "--metric", "wait_mean_h.all",
        "--reps", "2", "--set", "horizon_days=5", "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(tmp_path / "tornado.csv")
    assert table["parameter"].tolist()[0] == "fleet.0.gpus"


def test_a_range_without_two_values_is_a_usage_error() -> None:
    result = invoke("sensitivity", "mmc", "--range", "fleet.0.gpus=15")
    assert result.exit_code == 2 and "PATH=LOW,HIGH" in result.stderr


def test_sweep_writes_a_row_per_point_and_replication_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ("sweep", "mmc", "--grid", "fleet.0.gpus=15,16", "--reps", "2", "--workers", "2")
    args += ("--set", "horizon_days=3", "--out", str(out))
    first = invoke(*args)
    assert first.exit_code == 0, first.stderr
    assert "4 rows" in first.stdout
    files = {p.name: p.stat().st_mtime_ns for p in (out / "rows").iterdir()}
    assert len(files) == 4
    again = invoke(*args)
    assert again.exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "rows").iterdir()} == files


def test_sweep_refuses_another_sweeps_directory(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    base = ("sweep", "mmc", "--set", "horizon_days=3", "--out", str(out), "--workers", "1")
    assert invoke(*base, "--grid", "fleet.0.gpus=15").exit_code == 0
    result = invoke(*base, "--grid", "fleet.0.gpus=16")
    assert result.exit_code == 2 and "holds another sweep" in result.stderr


def test_sweep_with_a_bad_point_names_it_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = invoke("sweep", "mmc", "--grid", "scheduler.kind=fifo,lottery", "--out", out)
    assert result.exit_code == 2
    assert "sweep point 1 (scheduler.kind=lottery)" in result.stderr
    assert not (out / "rows").exists()


def test_validate_and_run_warn_of_a_credit_grant_larger_than_all_it_could_buy() -> None:
    """alibaba-2024's grants can all be burned; a $1bn Moonshot grant could not, even with
    every H800 and A800 GPU-hour it may use over its three years."""
    calibrated = CliRunner().invoke(app, ["validate", "alibaba-2024"])
    assert calibrated.exit_code == 0 and "warning:" not in calibrated.stderr
    validated = CliRunner().invoke(
        app, ["validate", "alibaba-2024", "--set", "tenants.moonshot.credit.amount_usd=1e9"]
    )
    assert validated.exit_code == 0
    (warning,) = [line for line in validated.stderr.splitlines() if line.startswith("warning:")]
    assert "moonshot" in warning and "1,000,000,000" in warning


def test_engine_option_runs_either_engine_to_the_same_result(tmp_path: Path) -> None:
    summaries = {}
    for engine in ("reference", "fast"):
        out = tmp_path / engine
        done = invoke("run", "mmc", "--set", "horizon_days=20", "--engine", engine, "--out", out)
        assert done.exit_code == 0, done.output
        summaries[engine] = summary_of(out)
    assert summaries["fast"] == summaries["reference"]


# The fast engine runs every scenario today, so a limit is stood in for.
@pytest.fixture
def a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        planner.model.fast, "unsupported_field", lambda sc: "scheduler.example=true"
    )


def test_engine_fast_on_a_scenario_it_lacks_a_feature_for_is_bad_input(a_limit: None) -> None:
    done = invoke("run", "policy-compare", "--engine", "fast", "--set", "horizon_days=5")
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "policy-compare" in done.stderr and "scheduler.example=true" in done.stderr


@pytest.mark.filterwarnings("default::planner.model.fast.EngineFallback")
def test_engine_auto_notes_the_field_that_sends_a_run_to_the_reference_engine(
    a_limit: None,
) -> None:
    done = invoke("run", "policy-compare", "--set", "horizon_days=5", "--quiet")
    assert done.exit_code == 0
    assert done.stderr.startswith("note: the fast engine does not support")
    assert "scheduler.example=true" in done.stderr and "Warning" not in done.stderr


@pytest.mark.filterwarnings("default::planner.model.fast.KernelCompiling")
def test_a_first_fast_run_on_a_machine_says_it_compiles_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Compiling takes minutes once per machine: the user is told, not left waiting."""
    import planner.model.fast.driver  # noqa: F401 (its kernel is bound to the real cache now)
    from planner.model.fast import jit

    monkeypatch.setattr(jit, "cache_dir", lambda: tmp_path)  # a machine with nothing cached
    done = invoke("run", "mmc", "--engine", "fast", "--set", "horizon_days=5", "--quiet")
    assert done.exit_code == 0
    assert done.stderr.startswith("note: compiling the fast engine for this machine, once")
    assert str(tmp_path) in done.stderr and "Warning" not in done.stderr


@pytest.mark.filterwarnings("default::planner.model.fast.KernelCompiling")
def test_a_fast_run_with_the_kernel_cached_says_nothing_of_compiling() -> None:
    from planner.model.fast import jit

    invoke("run", "mmc", "--engine", "fast", "--set", "horizon_days=5", "--quiet")
    assert jit.is_cached()  # that run compiled the kernel, or found it compiled
    done = invoke("run", "mmc", "--engine", "fast", "--set", "horizon_days=5", "--quiet")
    assert done.exit_code == 0 and "compiling" not in done.stderr


def test_compile_runs_the_event_loop_of_every_built_in_scenario_the_fast_engine_supports() -> None:
    """What it compiles is what those runs call: between them, every kernel function."""
    from planner.model.fast import jit, unsupported_field
    from planner.scenario import builtin_names, load_scenario

    done = invoke("compile")
    assert done.exit_code == 0
    listed = [line.strip() for line in done.stderr.splitlines()[1:]]
    supported = [n for n in builtin_names() if unsupported_field(load_scenario(n)) is None]
    assert listed == supported and len(supported) == len(builtin_names())
    assert f"({len(supported)} scenarios); cache: {jit.cache_dir()}" in done.stdout
    assert jit.is_cached()
    again = invoke("compile")
    assert again.exit_code == 0 and "was compiled already" in again.stdout
