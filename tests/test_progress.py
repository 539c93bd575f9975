"""Progress of long commands reaches the user without a terminal too (planner.progress): plain
lines on stderr at an interval, saying what is done, of how much, the time elapsed and the time
left; and a planning search tells each candidate as it is decided."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.progress import DEFAULT_INTERVAL_S, INTERVAL_ENV, Progress, duration, interval_s

# what: N of [at most ]M unit · T elapsed · [at most ]about T left
LINE = re.compile(
    r"^(?P<what>.+): (?P<done>[\d,]+) of (?:at most )?(?P<total>[\d,]+) (?P<unit>\w+)"
    r" · (?P<elapsed>[\d.]+ s|\d+ min \d\d s) elapsed"
    r"(?: · (?:at most )?about (?P<left>[\d.]+ s|\d+ min \d\d s|\d+ h \d\d min) left)?$"
)
CANDIDATE = re.compile(
    r"^candidate (?P<n>\d+) at (?P<x>[\d,]+): wait_mean_h\.all (?P<mean>\S+) "
    r"\[(?P<low>\S+), (?P<high>\S+)\], (?P<verdict>meets|misses) \([\d.]+ s\)$"
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain(monkeypatch: pytest.MonkeyPatch, seconds: str | None) -> tuple[io.StringIO, Clock]:
    """A non-terminal stream and a hand-moved clock, with the interval set to ``seconds``."""
    if seconds is None:
        monkeypatch.delenv(INTERVAL_ENV, raising=False)
    else:
        monkeypatch.setenv(INTERVAL_ENV, seconds)
    return io.StringIO(), Clock()


def test_without_a_terminal_a_line_every_interval_with_done_total_elapsed_and_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream, clock = plain(monkeypatch, None)
    with Progress("sweep out", "rows", stream=stream, clock=clock) as bar:
        clock.now += 4.0
        bar(1, 8)  # before the first interval: nothing
        assert stream.getvalue() == ""
        clock.now += DEFAULT_INTERVAL_S - 4.0
        bar(2, 8)  # 10 s for 2 rows: 6 left at 5 s each
        clock.now += 1.0
        bar(3, 8)  # within the interval of the last line: nothing
    assert stream.getvalue().splitlines() == [
        "sweep out: 2 of 8 rows · 10 s elapsed · about 30 s left"
    ]


def test_a_resumed_count_sets_no_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows found done are not counted as work done at the start: the time left comes from
    the rows run since."""
    stream, clock = plain(monkeypatch, "0")
    with Progress("sweep", "rows", stream=stream, clock=clock) as bar:
        bar.resume_from(6, 10)
        clock.now += 20.0
        bar(7, 10)
    assert stream.getvalue().splitlines() == [
        "sweep: 7 of 10 rows · 20 s elapsed · about 1 min 00 s left"
    ]


def test_a_fraction_is_shown_as_a_percentage(monkeypatch: pytest.MonkeyPatch) -> None:
    stream, clock = plain(monkeypatch, "0")
    with Progress("simulating mmc", unit=None, stream=stream, clock=clock) as bar:
        clock.now += 5.0
        bar.fraction(0.25)
    assert stream.getvalue().splitlines() == [
        "simulating mmc: 25% · 5.0 s elapsed · about 15 s left"
    ]


def test_an_upper_bound_says_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    stream, clock = plain(monkeypatch, "0")
    with Progress("plan", at_most=True, stream=stream, clock=clock) as bar:
        clock.now += 3.0
        bar(3, 24)
    assert stream.getvalue().splitlines() == [
        "plan: 3 of at most 24 runs · 3.0 s elapsed · at most about 21 s left"
    ]


def test_notes_are_printed_at_once_and_nothing_when_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream, clock = plain(monkeypatch, None)
    with Progress("plan", stream=stream, clock=clock) as bar:
        bar.note("candidate 1 at 24: meets")
    assert stream.getvalue() == "candidate 1 at 24: meets\n"
    quiet = io.StringIO()
    with Progress("plan", enabled=False, stream=quiet, clock=clock) as bar:
        bar.note("candidate 1")
        clock.now += 100.0
        bar(1, 2)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(("raw", "seconds"), [("2.5", 2.5), ("0", 0.0), ("x", 10.0), ("-1", 10.0)])
def test_the_interval_comes_from_the_environment(
    raw: str, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INTERVAL_ENV, raw)
    assert interval_s() == seconds


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.42, "0.4 s"),
        (12.4, "12 s"),
        (59.6, "1 min 00 s"),
        (245.0, "4 min 05 s"),
        (3720.0, "1 h 02 min"),
    ],
)
def test_durations_read_as_a_person_says_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_planning_query_without_a_terminal_says_its_progress_and_each_candidate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stderr captured (not a terminal): progress lines with done, total, elapsed and time left,
    and one line per candidate with its value, the metric's mean and interval, and whether it
    meets the target; they agree with the evaluations the query returns."""
    monkeypatch.setenv(INTERVAL_ENV, "0")
    result = CliRunner().invoke(
        app,
        [
            "plan", "gpus", "mmc", "--cohort", "0", "--target", "0.3", "--metric",
            "wait_mean_h.all", "--low-gpus", "13", "--high-gpus", "24", "--reps", "3",
            "--set", "horizon_days=5",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    progress = [m for m in map(LINE.match, lines) if m]
    candidates = [m for m in map(CANDIDATE.match, lines) if m]
    assert len(progress) + len(candidates) == len(lines), result.stderr
    # Every run is counted, of an upper bound that holds, with a time left.
    assert [int(m["done"]) for m in progress] == list(range(1, len(progress) + 1))
    assert len(progress) == 3 * len(candidates)
    assert all(int(m["total"]) >= len(progress) for m in progress)
    assert all(m["what"] == "plan gpus for cohort 0" and m["unit"] == "runs" for m in progress)
    assert all(m["left"] is not None for m in progress)
    # A candidate's line comes after its three runs, and matches the evaluations table.
    assert [int(m["n"]) for m in candidates] == list(range(1, len(candidates) + 1))
    first = lines.index(candidates[0].group(0))
    assert [LINE.match(line) is not None for line in lines[:first]] == [True, True, True]
    table = [
        line.split() for line in result.stdout.splitlines() if re.match(r"^\s+\d+\s+\d+", line)
    ]
    assert [(row[1], row[5]) for row in table] == [
        (m["x"], "yes" if m["verdict"] == "meets" else "no") for m in candidates
    ]
    assert [row[2] for row in table] == [m["mean"] for m in candidates]


@pytest.mark.parametrize(
    ("args", "what", "unit", "total"),
    [
        (["run", "mmc", "--reps", "3"], "mmc: 3 replications", "replications", 3),
        (
            ["sensitivity", "mmc", "--range", "fleet.0.gpus=15,18", "--reps", "2"],
            "sensitivity of wait_p95_h.paying",
            "runs",
            6,
        ),
        (
            ["compare", "mmc", "--each", "scheduler.kind=fifo,backfill,priority"],
            "compare scheduler.kind",
            "runs",
            3,
        ),
    ],
    ids=["run --reps", "sensitivity", "compare"],
)
def test_every_long_command_prints_progress_lines_without_a_terminal(
    args: list[str], what: str, unit: str, total: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "0")
    result = CliRunner().invoke(app, [*args, "--set", "horizon_days=3"])
    assert result.exit_code == 0, result.output
    # Besides progress, stderr may carry notes (such as a run falling back to the reference
    # engine), each on a line of its own.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    shown = [LINE.match(line) for line in lines]
    assert shown and all(shown), result.stderr
    assert {(m["what"], m["unit"], int(m["total"])) for m in shown if m} == {(what, unit, total)}


def test_a_sweep_prints_progress_lines_and_says_what_it_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resumed sweep says how many rows it found done and how many it will run."""
    monkeypatch.setenv(INTERVAL_ENV, "0")
    out = tmp_path / "sweep"
    args = ["sweep", "mmc", "--grid", "fleet.0.gpus=15,16", "--reps", "2", "--workers", "1"]
    args += ["--set", "horizon_days=3", "--out", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert [m["done"] for m in map(LINE.match, first.stderr.splitlines()) if m] == list("1234")
    for row in sorted((out / "rows").iterdir())[:3]:
        row.unlink()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    lines = again.stderr.splitlines()
    assert lines[0] == f"resuming: 1 of 4 rows found done in {out / 'rows'}; running 3"
    assert [m["done"] for m in map(LINE.match, lines[1:]) if m] == list("234")
