"""Sweeps: points from a grid or a list, one row file per evaluation, any executor, resumable."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import planner
from planner.experiments.evaluate import Evaluation, Row
from planner.experiments.evaluate import evaluate as real_evaluate
from planner.experiments.sweep import expand, sweep

ARRIVALS = "tenants.t.workload.arrivals.per_day"
GRID: dict[str, list[Any]] = {"scheduler.kind": ["fifo", "backfill"], ARRIVALS: [200.0, 307.2]}


@pytest.fixture
def mmc() -> planner.Scenario:
    """The M/M/c scenario cut to two days: one evaluation takes a few hundredths of a second."""
    return planner.load_scenario("mmc").with_overrides({"horizon_days": 2})


def row_files(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "rows").iterdir())


def snapshot(out: Path) -> dict[str, tuple[int, int, bytes]]:
    """Each finished row file's inode, modification time and bytes: all unchanged if untouched."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in (out / "rows").glob("point-*.parquet")
    }


def count_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[Evaluation]:
    """Record every evaluation a serial sweep runs from now on."""
    ran: list[Evaluation] = []

    def counting(job: Evaluation) -> Row:
        ran.append(job)
        return real_evaluate(job)

    monkeypatch.setattr("planner.experiments.sweep.evaluate", counting)
    return ran


# --- points -----------------------------------------------------------------------------------


def test_a_grid_expands_to_its_cartesian_product_with_the_last_path_varying_fastest() -> None:
    points = expand(grid={"a": [1, 2, 3], "b": ["x", "y"]})
    assert points == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 3, "b": "x"},
        {"a": 3, "b": "y"},
    ]


def test_explicit_points_are_kept_as_given() -> None:
    given = [{"b": "y", "a": 3}, {"a": 1}, {"b": "y", "a": 3}]
    assert expand(points=given) == given


@pytest.mark.parametrize(
    "kwargs", [{}, {"grid": {"a": [1]}, "points": [{"a": 1}]}], ids=["neither", "both"]
)
def test_exactly_one_of_grid_and_points_must_be_given(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        expand(**kwargs)


# --- rows -------------------------------------------------------------------------------------


def test_rows_carry_the_point_its_params_the_replication_and_the_seed(
    mmc: planner.Scenario, tmp_path: Path
) -> None:
    rows = sweep(mmc, tmp_path, grid=GRID, reps=2, seed=7, executor="serial")

    assert list(rows.columns[:5]) == [
        "point",
        "rep",
        "seed",
        "param.scheduler.kind",
        f"param.{ARRIVALS}",
    ]
    assert rows["point"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert rows["rep"].tolist() == [0, 1] * 4
    assert (rows["seed"] == 7).all()
    assert rows["param.scheduler.kind"].tolist() == ["fifo"] * 4 + ["backfill"] * 4
    assert rows[f"param.{ARRIVALS}"].tolist() == [200.0, 200.0, 307.2, 307.2] * 2
    assert rows["scheduler"].tolist() == rows["param.scheduler.kind"].tolist()
    assert {"utilisation", "wait_mean_h.all", "jobs_submitted"} <= set(rows.columns)


def test_each_point_and_replication_is_its_own_file(mmc: planner.Scenario, tmp_path: Path) -> None:
    sweep(mmc, tmp_path, grid=GRID, reps=2, executor="serial")

    assert row_files(tmp_path) == [
        f"point-{p:05d}-rep-{r:04d}.parquet" for p in range(4) for r in range(2)
    ]
    one = pd.read_parquet(tmp_path / "rows" / "point-00003-rep-0001.parquet")
    assert one[["point", "rep"]].to_numpy().tolist() == [[3, 1]]


def test_the_same_replication_on_two_points_shares_the_seed_and_its_random_numbers(
    mmc: planner.Scenario, tmp_path: Path
) -> None:
    grid = {"scheduler.kind": ["fifo", "backfill"]}
    rows = sweep(mmc, tmp_path, grid=grid, reps=2, seed=3, executor="serial")

    fifo, backfill = (rows[rows["point"] == point].set_index("rep") for point in (0, 1))
    assert fifo["seed"].equals(backfill["seed"])
    # Both policies face the same arrivals in a replication; another replication draws others.
    assert fifo["jobs_submitted"].equals(backfill["jobs_submitted"])
    assert fifo.loc[0, "jobs_submitted"] != fifo.loc[1, "jobs_submitted"]


# --- executors --------------------------------------------------------------------------------


def test_serial_and_local_processes_give_identical_rows(
    mmc: planner.Scenario, tmp_path: Path
) -> None:
    serial = sweep(mmc, tmp_path / "serial", grid=GRID, reps=2, executor="serial")
    processes = sweep(
        mmc, tmp_path / "processes", grid=GRID, reps=2, executor="processes", workers=2
    )

    pd.testing.assert_frame_equal(serial, processes)


def test_a_dask_cluster_gives_the_same_rows_as_serial(
    mmc: planner.Scenario, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    serial = sweep(mmc, tmp_path / "serial", grid=GRID, reps=2, executor="serial")

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_client = sweep(mmc, tmp_path / "client", grid=GRID, reps=2, executor=client)
        at_address = sweep(
            mmc, tmp_path / "address", grid=GRID, reps=2, executor=cluster.scheduler_address
        )

    pd.testing.assert_frame_equal(serial, on_client)
    pd.testing.assert_frame_equal(serial, at_address)


def test_dask_without_distributed_installed_says_how_to_install_it(
    mmc: planner.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(RuntimeError, match=r"pip install 'planner\[dask\]'"):
        sweep(mmc, tmp_path / "out", grid=GRID, executor="tcp://127.0.0.1:8786")
    assert not (tmp_path / "out").exists()


# --- resuming ---------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def test_a_stopped_sweep_resumes_running_only_what_is_missing(
    mmc: planner.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        sweep(mmc, tmp_path, grid=GRID, reps=2, executor="serial", progress=stop_after_two)
    finished = snapshot(tmp_path)
    assert len(finished) == 2

    ran = count_evaluations(monkeypatch)
    calls: list[tuple[int, int]] = []
    rows = sweep(
        mmc,
        tmp_path,
        grid=GRID,
        reps=2,
        executor="serial",
        progress=lambda d, t: calls.append((d, t)),
    )

    assert len(ran) == 8 - 2
    assert calls == [(done, 8) for done in range(3, 9)]
    assert len(rows) == 8
    assert {name: snapshot(tmp_path)[name] for name in finished} == finished
    assert rows.equals(sweep(mmc, tmp_path, grid=GRID, reps=2, executor="serial"))
    assert len(ran) == 8 - 2  # a finished sweep re-run evaluates nothing


KILLED_POINTS = 60
KILLED_GRID = {ARRIVALS: [200.0 + 2.0 * i for i in range(KILLED_POINTS)]}
KILLED_SCRIPT = """
import json, sys
from pathlib import Path
import planner
from planner.experiments.sweep import sweep
mmc = planner.load_scenario("mmc").with_overrides({"horizon_days": 2})
sweep(mmc, Path(sys.argv[1]), grid=json.loads(sys.argv[2]), executor="serial")
"""


def test_a_killed_sweep_resumes_leaving_finished_files_untouched(
    mmc: planner.Scenario, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SCRIPT, str(out), json.dumps(KILLED_GRID)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30.0
    while not snapshot(out):
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "the sweep wrote no row within 30 s"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    if child.stderr:
        child.stderr.close()

    finished = snapshot(out)
    assert 1 <= len(finished) < KILLED_POINTS
    # What a kill in the middle of writing a row leaves behind.
    half_written = out / "rows" / f".point-{len(finished):05d}-rep-0000.parquet.99999.tmp"
    half_written.write_bytes(b"PAR1 half")

    rows = sweep(mmc, out, grid=KILLED_GRID, executor="serial")

    assert rows["point"].tolist() == list(range(KILLED_POINTS))
    assert row_files(out) == [f"point-{p:05d}-rep-0000.parquet" for p in range(KILLED_POINTS)]
    assert {name: snapshot(out)[name] for name in finished} == finished
    assert sorted(p.name for p in out.iterdir()) == ["rows", "sweep.json"]


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"scenario": planner.load_scenario("mmc").with_overrides({"horizon_days": 3})},
        {"grid": {"scheduler.kind": ["fifo", "priority"]}},
        {"reps": 2},
        {"seed": 1},
    ],
    ids=["scenario", "grid", "reps", "seed"],
)
def test_another_sweep_into_the_same_directory_is_refused(
    mmc: planner.Scenario, tmp_path: Path, change: dict[str, Any]
) -> None:
    original = {"scenario": mmc, "grid": {"scheduler.kind": ["fifo"]}, "reps": 1, "seed": 0}
    sweep(out=tmp_path, executor="serial", **original)
    before = snapshot(tmp_path)

    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        sweep(out=tmp_path, executor="serial", **(original | change))
    assert snapshot(tmp_path) == before


def test_a_bad_point_is_named_and_nothing_is_written(mmc: planner.Scenario, tmp_path: Path) -> None:
    points = [{"scheduler.kind": "fifo"}] * 3 + [{"scheduler.kind": "lottery"}]

    with pytest.raises(planner.ScenarioError) as caught:
        sweep(mmc, tmp_path / "out", points=points, executor="serial")

    assert caught.value.source == "sweep point 3 (scheduler.kind=lottery)"
    assert not (tmp_path / "out").exists()
