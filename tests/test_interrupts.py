"""Interrupts, with real processes: Ctrl-C stops a command's workers at once and says what was
kept; a killed command's workers die with it (planner.experiments.pool).

Each test starts ``planner`` in its own session, as a terminal would, waits for its worker
processes, signals it, and waits a bounded time for the outcome. Any process left over is
killed at the end, so a failing test leaves nothing running.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import PLANNER, planner_env

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc"
)

PATIENCE_S = 60.0  # the longest any step may take on a slow, busy machine
GRID = "fleet.0.gpus=15,16,17,18,19,20,21,22"  # 8 points x 2 replications = 16 rows
SWEEP = ["sweep", "mmc", "--grid", GRID, "--reps", "2", "--workers", "2"]
# Rows of about a second each here, so the sweep is surely still running when the test, having
# seen its first row, interrupts it (60-day rows took a few hundredths of a second: on a busy
# machine the rest could all be done by then). The reference engine keeps them that long
# whatever the compiled kernel's speed: on the fast engine a 400-day row takes hundredths of a
# second once the kernel is loaded, and a sweep was seen to finish before the interrupt.
SWEEP += ["--set", "horizon_days=400", "--engine", "reference"]
# Replications of seconds each (on the reference engine, as above): still running when the
# test interrupts them.
LONG_REPLICATION = ["--set", "horizon_days=2000", "--engine", "reference"]


def _ctrl_c_as_at_a_terminal() -> None:
    """In the child, before it runs planner: SIGINT's default action. A shell starts a
    background job (a test suite run with ``&``) with SIGINT ignored, every process it starts
    inherits that, and Python leaves an ignored SIGINT ignored; a command typed at a terminal
    has the default, as here."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def planner_process(*args: str) -> subprocess.Popen[str]:
    """``planner ARGS`` in a session of its own (its process group is the terminal's)."""
    return subprocess.Popen(
        [*PLANNER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=planner_env(),
        start_new_session=True,
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"waited {PATIENCE_S:.0f} s for {what}")
        time.sleep(0.05)


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Pids the test started; any still running at the end is killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def started_workers(proc: subprocess.Popen[str], leftovers: list[int]) -> list[int]:
    """The command's two worker processes, once both are running."""
    workers: list[int] = []

    def two() -> bool:
        workers[:] = [pid for pid in children(proc.pid) if running(pid)]
        return len(workers) >= 2

    wait_for(two, "two worker processes")
    leftovers += [proc.pid, *workers]
    return workers


def rows(out: Path) -> list[Path]:
    return sorted((out / "rows").glob("*.parquet"))


def test_ctrl_c_stops_a_sweep_at_once_keeping_its_rows(
    tmp_path: Path, leftovers: list[int]
) -> None:
    """SIGINT to the command's process group (Ctrl-C): exit 130 within the bound, no worker
    left, and a message saying how many rows are kept where, which is what is on disk."""
    out = tmp_path / "sweep"
    proc = planner_process(*SWEEP, "--out", str(out))
    workers = started_workers(proc, leftovers)
    wait_for(lambda: (out / "rows").is_dir() and len(rows(out)) >= 1, "a first row")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 130, err
    said = re.fullmatch(
        r"interrupted: (\d+) of 16 rows kept in (.+); run the same command to resume\n", err
    )
    assert said is not None, err
    assert int(said[1]) == len(rows(out)) < 16
    assert Path(said[2]) == out / "rows"
    wait_for(lambda: not any(map(running, workers)), "the workers to end")


def test_ctrl_c_stops_replications_and_says_nothing_was_written(
    tmp_path: Path, leftovers: list[int]
) -> None:
    out = tmp_path / "reps"
    proc = planner_process(
        "run", "mmc", "--reps", "6", "--workers", "2", *LONG_REPLICATION, "--out",
        str(out), "--quiet",
    )  # fmt: skip
    workers = started_workers(proc, leftovers)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 130, err
    assert re.fullmatch(r"interrupted: \d of 6 replications had finished; nothing written\n", err)
    assert not out.exists()
    wait_for(lambda: not any(map(running, workers)), "the workers to end")


def test_a_killed_sweeps_workers_die_with_it_and_the_sweep_resumes(
    tmp_path: Path, leftovers: list[int]
) -> None:
    """SIGKILL leaves the parent no chance to stop its workers: they end by themselves. Run
    again, the sweep says how many rows it found and runs only the rest."""
    out = tmp_path / "sweep"
    proc = planner_process(*SWEEP, "--out", str(out))
    workers = started_workers(proc, leftovers)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=PATIENCE_S)
    wait_for(lambda: not any(map(running, workers)), "the orphaned workers to end")

    found = len(rows(out)) if (out / "rows").is_dir() else 0
    again = subprocess.run(
        [*PLANNER, *SWEEP, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S * 3,
        check=False,
        env=planner_env(),
    )
    assert again.returncode == 0, again.stderr
    if found:
        resumed = f"resuming: {found} of 16 rows found done in {out / 'rows'}; running {16 - found}"
        assert resumed in again.stderr
    assert len(rows(out)) == 16


def test_a_worker_whose_parent_dies_ends_without_the_kernels_help(
    tmp_path: Path, leftovers: list[int]
) -> None:
    """The portable fallback: a thread watching the parent's pid ends the process when the
    parent is gone (where PR_SET_PDEATHSIG is not available)."""
    grandchild = (
        "import os, sys, time; from planner.experiments.pool import watch_parent; "
        "watch_parent(os.getppid(), every_s=0.05); print(os.getpid(), flush=True); time.sleep(600)"
    )
    parent = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(600)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent], env=planner_env(), start_new_session=True,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    worker = int(proc.stdout.readline())
    leftovers += [proc.pid, worker]
    assert running(worker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=PATIENCE_S)
    wait_for(lambda: not running(worker), "the watched worker to end")
