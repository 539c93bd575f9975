"""What the command line prints when nobody is at a terminal, and the small things a user meets
first: a wrong seed, a misspelt scenario name, the built-in list and the help."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.cli.output import integer, pct, usd
from planner.cli.scenarios import opening
from planner.scenario import load_scenario
from tests.processes import PLANNER, planner_env


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``planner run price-war`` (a year of it) with stdout a pipe and no COLUMNS set: what it
    printed, and the --out directory holding what it computed."""
    out = tmp_path_factory.mktemp("run") / "price-war"
    env = planner_env(drop=("COLUMNS", "LINES"))
    done = subprocess.run(
        [*PLANNER, "run", "price-war", "--set", "horizon_days=365", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, out


HEADERS = {
    "cohorts": ["cohort", "GPUs", "utilisation", "revenue", "opex", "margin", "book value at end"],
    "cohort value": ["capex", "before obs.", "payback", "capture", "idle value", "obsolete on",
                     "stranded"],
    "credit deals": ["granted", "burned", "forfeited", "left", "escrow", "GPU-h", "$/GPU-h"],
}  # fmt: skip


def cells(stdout: str, title: str, first: str) -> list[str]:
    """The cells of the row starting with ``first`` in the table titled ``title``."""
    lines = stdout[stdout.index(f"\n{title}") :].splitlines()
    return next(line.split() for line in lines if line.split()[:1] == [first])


def test_piped_output_cuts_no_number_and_no_header(piped: tuple[str, Path]) -> None:
    stdout, _ = piped
    assert "…" not in stdout
    heading = stdout.splitlines()[0]
    assert heading.startswith("price-war · seed 0 · 2024-01-01 to 2024-12-31 (365 days)")
    assert heading.split(" · ")[-1].startswith("simulated in ") and heading.endswith(" s")
    lines = [line.rstrip() for line in stdout.splitlines()]
    for title, headers in HEADERS.items():
        header = lines[lines.index(title) + 1]  # the title, then one line of whole headers
        assert [h for h in headers if h not in header] == [], title


def test_piped_output_prints_every_number_whole(piped: tuple[str, Path]) -> None:
    """Each figure in the headline and cohort tables is the summary's, whole."""
    stdout, out = piped
    summary = json.loads((out / "summary.json").read_text())
    headline = {
        "utilisation": pct(summary["utilisation"]),
        "submitted": integer(summary["jobs_submitted"]),
        "opex": usd(summary["opex_usd"]),
        "capex": usd(summary["capex_usd"]),
    }
    lines = stdout.splitlines()
    for label, value in headline.items():
        row = next(line.split() for line in lines if label in line.split()[:2])
        assert row[-1] == value, label
    cohorts = pd.read_parquet(out / "cohorts.parquet")
    assert len(cohorts) >= 2
    for c in cohorts.itertuples():
        assert cells(stdout, "cohort value", str(c.cohort)) == [
            str(c.cohort), usd(c.capex_usd), usd(c.revenue_before_obsolescence_usd),
            pct(c.payback), pct(c.capture), usd(c.idle_value_usd),
            summary[f"obsolete_on.{c.cohort}"], usd(c.stranded_book_value_usd),
        ]  # fmt: skip
        assert cells(stdout, "cohorts", str(c.cohort)) == [
            str(c.cohort), integer(c.gpus), pct(c.utilisation), usd(c.revenue_usd),
            usd(c.opex_usd), usd(c.margin_usd), usd(c.book_value_at_horizon_usd),
        ]  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["run", "mmc"],
        ["compare", "mmc", "--each", "scheduler.kind=fifo,backfill"],
        ["sweep", "mmc", "--grid", "fleet.0.gpus=15", "--out", "OUT"],
        ["plan", "gpus", "mmc", "--cohort", "0", "--target", "1"],
        ["sensitivity", "mmc", "--range", "fleet.0.gpus=15,18"],
    ],
    ids=lambda args: args[0],
)
def test_a_negative_seed_is_a_usage_error(args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, [str(out) if a == "OUT" else a for a in args] + ["--seed", "-1"]
    )
    assert result.exit_code == 2
    assert "--seed" in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def test_an_impossible_date_given_with_set_is_bad_input_naming_its_field() -> None:
    result = CliRunner().invoke(app, ["validate", "mmc", "--set", "start=2025-13-45"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "start" in result.stderr and "2025-13-45" in result.stderr


def test_trace_import_to_a_folder_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    source = tmp_path / "jobs.csv"
    source.write_text("submit_s,duration_s,gpus\n0,3600,8\n", encoding="utf-8")
    out = tmp_path / "missing" / "out.csv"
    result = CliRunner().invoke(
        app, ["trace", "import", str(source), "--format", "generic", "--out", str(out)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(out) in result.stderr


def test_replication_intervals_say_how_they_were_formed() -> None:
    result = CliRunner().invoke(app, ["run", "mmc", "--reps", "3", "--set", "horizon_days=20"])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert next(line for line in lines if line.startswith("utilisation")).endswith("logit")
    assert next(line for line in lines if line.startswith("mean wait, all")).endswith("log")


def test_a_misspelt_builtin_name_points_at_the_closest_one() -> None:
    result = CliRunner().invoke(app, ["run", "alibaba2024"])
    assert result.exit_code == 2
    assert "did you mean alibaba-2024?" in result.stderr
    assert "`planner scenarios`" in result.stderr and "Traceback" not in result.output


def test_a_name_like_no_builtin_suggests_none() -> None:
    result = CliRunner().invoke(app, ["validate", "nothing-like-it"])
    assert result.exit_code == 2
    assert "no such file" in result.stderr and "did you mean" not in result.stderr


def test_the_builtin_list_shows_whole_sentences() -> None:
    """policy-compare's description opens with a sentence over two lines: it is shown whole."""
    result = CliRunner().invoke(app, ["scenarios"])
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())
    assert (
        "policy-compare Which scheduling policy keeps paying customers inside their SLO while "
        "honouring the capacity a credit deal promises? price-war"
    ) in words


def test_a_description_opens_with_its_first_line_carried_to_the_end_of_its_sentence() -> None:
    assert opening("One line.\nMore detail.") == "One line."
    assert opening("Two sentences. On one line?\nMore.") == "Two sentences. On one line?"
    assert opening("A sentence that\nbreaks. Then more\ntext.") == "A sentence that breaks."
    assert opening("No end\n\nAfter a blank line.") == "No end"
    assert opening("") == ""
    described = load_scenario("policy-compare").description
    assert opening(described).endswith("the capacity a credit deal promises?")


def test_run_help_says_where_the_slo_comes_from() -> None:
    result = CliRunner().invoke(app, ["run", "--help"])
    words = " ".join(result.stdout.split())
    assert "scenarios state none" not in words
    assert "default: the p95 SLOs the scenario states in slo.wait_p95_h, if any" in words
