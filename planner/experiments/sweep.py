"""Parameter sweeps: one scenario evaluated at many points of its parameter space, many times.

A sweep may run for hours on a cluster, so it has to survive being stopped. Each finished
(point, replication) becomes its own one-row Parquet file the moment it completes, written by the
parent process under a temporary name and renamed into place, so a file that looks finished is
finished. A re-run into the same directory runs only what has no file yet. The manifest
(``sweep.json``: scenario, points, replications, seed) makes that safe: a directory holding
another sweep's rows is refused rather than mixed with this one's.

Evaluations run serially, on local processes or on a Dask cluster. Each is a plain
:class:`~planner.experiments.evaluate.Evaluation`, so it gives the same row wherever it runs, and
replication ``r`` of every point draws the same random numbers, so differences between points
are not buried in sampling noise.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.experiments.evaluate import Evaluation, Row, evaluate, scenario_data
from planner.experiments.pool import local_pool
from planner.scenario.schema import Scenario
from planner.writers import read_table, write_json, write_table

if TYPE_CHECKING:
    import distributed

__all__ = ["expand", "read_sweep", "sweep"]

MANIFEST_FILE = "sweep.json"
ROWS_DIR = "rows"

Key = tuple[int, int]
"""(point index, replication index)."""


def expand(
    grid: Mapping[str, Sequence[Any]] | None = None,
    points: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The points of a sweep, each a mapping of dotted override path to value.

    ``grid`` gives the values of each path and yields their cartesian product, paths in the order
    given with the last varying fastest; ``points`` lists the points explicitly. Give exactly one.
    """
    if grid is not None and points is None:
        for path, values in grid.items():
            if isinstance(values, str):
                raise ValueError(f"grid values of '{path}' must be a sequence, not {values!r}")
        paths = list(grid)
        combos = itertools.product(*(grid[path] for path in paths))
        return [{p: _plain(v) for p, v in zip(paths, combo, strict=True)} for combo in combos]
    if points is not None and grid is None:
        return [{str(p): _plain(v) for p, v in point.items()} for point in points]
    raise ValueError("give exactly one of grid (values per override path) or points (a list)")


def sweep(
    scenario: Scenario,
    out: Path,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    points: Sequence[Mapping[str, Any]] | None = None,
    reps: int = 1,
    seed: int = 0,
    executor: str | distributed.Client = "processes",
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Evaluate ``scenario`` at every point (see :func:`expand`) ``reps`` times into ``out``.

    Every point is validated before anything runs; a bad one raises :class:`ScenarioError`
    naming it. Replication ``r`` of every point runs with ``seed`` and index ``r``: common random
    numbers. Each finished (point, replication) is written to
    ``out/rows/point-PPPPP-rep-RRRR.parquet`` as one row: ``point``, ``rep``, ``seed``, one
    ``param.<path>`` column per override, then the summary metrics (the summary's own ``seed``
    is the same number).

    Run again into the same ``out`` with the same scenario, points, ``reps`` and ``seed``, it
    runs only the evaluations without a file; with anything else it raises ``ValueError``.

    ``executor`` is ``"serial"`` (in this process), ``"processes"`` (``workers`` local
    processes, default one per CPU), a ``distributed.Client``, or a Dask scheduler's address such
    as ``"tcp://host:8786"`` (a client is opened and closed here; the workers need ``planner``
    installed). ``on_start(done, total)`` is called once, before anything runs, with the
    evaluations found already finished in ``out`` (a resumed sweep) and the total;
    ``progress(done, total)`` is called after each evaluation finishes, ``done`` counting those
    found finished too. An interrupt stops local workers at once; every row written before it
    is kept. Returns :func:`read_sweep` of ``out``.
    """
    if reps < 1:
        raise ValueError(f"reps must be at least 1, not {reps}")
    sweep_points = expand(grid, points)
    for index, point in enumerate(sweep_points):
        _validate(scenario, index, point)
    _check_executor(executor)

    out = Path(out)
    data = scenario_data(scenario)
    _claim(out, {"scenario": data, "points": sweep_points, "reps": reps, "seed": seed})
    rows = out / ROWS_DIR
    rows.mkdir(exist_ok=True)
    for stale in rows.glob(".*.tmp"):
        stale.unlink()

    todo = {
        (i, r): Evaluation(data, point, seed, r)
        for i, point in enumerate(sweep_points)
        for r in range(reps)
        if not (rows / _row_name(i, r)).exists()
    }
    total = len(sweep_points) * reps
    done = total - len(todo)
    if on_start is not None:
        on_start(done, total)

    def record(key: Key, metrics: Row) -> None:
        nonlocal done
        _write_row(rows, key, sweep_points[key[0]], seed, metrics)
        done += 1
        if progress is not None:
            progress(done, total)

    if todo:
        _run(todo, executor, workers, record)
    return read_sweep(out)


def read_sweep(out: Path) -> pd.DataFrame:
    """Every row written under ``out/rows/``, sorted by ``point`` then ``rep``."""
    files = sorted((Path(out) / ROWS_DIR).glob("point-*-rep-*.parquet"))
    if not files:
        return pd.DataFrame({"point": [], "rep": [], "seed": []}, dtype="int64")
    frame = pd.concat([read_table(file) for file in files], ignore_index=True)
    return frame.sort_values(["point", "rep"], kind="stable").reset_index(drop=True)


def _run(
    todo: dict[Key, Evaluation],
    executor: str | distributed.Client,
    workers: int | None,
    record: Callable[[Key, Row], None],
) -> None:
    if executor == "serial":
        for key, job in todo.items():
            record(key, evaluate(job))
    elif executor == "processes":
        count = min(workers or os.cpu_count() or 1, len(todo))
        with local_pool(count) as pool:
            futures = {pool.submit(evaluate, job): key for key, job in todo.items()}
            for future in as_completed(futures):
                record(futures.pop(future), future.result())
    else:
        _run_dask(todo, executor, record)


def _run_dask(
    todo: dict[Key, Evaluation],
    executor: str | distributed.Client,
    record: Callable[[Key, Row], None],
) -> None:
    import distributed

    # distributed leaves these functions unannotated.
    client = (
        distributed.Client(executor)  # type: ignore[no-untyped-call]
        if isinstance(executor, str)
        else executor
    )
    try:
        futures = {client.submit(evaluate, job, pure=False): key for key, job in todo.items()}
        try:
            for future in distributed.as_completed(futures):  # type: ignore[no-untyped-call]
                record(futures.pop(future), future.result())
        finally:
            client.cancel(list(futures))  # type: ignore[no-untyped-call]
    finally:
        if client is not executor:
            client.close()  # type: ignore[no-untyped-call]


def _check_executor(executor: str | distributed.Client) -> None:
    """Refuse an unknown executor, or Dask without ``distributed``, before anything is written."""
    if not isinstance(executor, str) or executor in ("serial", "processes"):
        return
    if "://" not in executor:
        raise ValueError(
            "executor must be 'serial', 'processes', a distributed.Client or a Dask scheduler "
            f"address such as 'tcp://host:8786', not {executor!r}"
        )
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "a sweep on a Dask cluster needs the distributed package: pip install 'planner[dask]'"
        ) from exc


def _validate(scenario: Scenario, index: int, point: Mapping[str, Any]) -> None:
    try:
        scenario.with_overrides(dict(point))
    except ScenarioError as exc:
        where = ", ".join(f"{path}={value}" for path, value in point.items())
        raise ScenarioError(f"sweep point {index} ({where})", exc.problems) from None


def _claim(out: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest into ``out``, or check the one there describes this same sweep."""
    path = out / MANIFEST_FILE
    wanted = json.loads(json.dumps(manifest))
    if path.exists():
        held = json.loads(path.read_text(encoding="utf-8"))
        if held != wanted:
            differ = ", ".join(k for k in wanted if held.get(k) != wanted[k]) or "manifest"
            raise ValueError(
                f"{out} holds another sweep (its {differ} differ from this one's); "
                "re-run only the same sweep into it, or give another directory"
            )
        return
    if any((out / ROWS_DIR).glob("*.parquet")):
        raise ValueError(f"{out} holds sweep rows but no {MANIFEST_FILE}; give another directory")
    write_json(manifest, path)


def _row_name(point: int, rep: int) -> str:
    return f"point-{point:05d}-rep-{rep:04d}.parquet"


def _write_row(rows: Path, key: Key, point: Mapping[str, Any], seed: int, metrics: Row) -> None:
    """One evaluation's row, renamed into place only once fully written."""
    index, rep = key
    lead: Row = {"point": index, "rep": rep, "seed": seed}
    lead.update({f"param.{path}": value for path, value in point.items()})
    row = lead | {name: value for name, value in metrics.items() if name not in lead}
    dest = rows / _row_name(index, rep)
    temp = rows / f".{dest.name}.{os.getpid()}.tmp"
    try:
        write_table(pd.DataFrame([row]), temp)
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    """NumPy scalars (from ``np.arange`` grids, say) as Python ones, so the manifest is JSON."""
    return value.item() if isinstance(value, np.generic) else value
