"""Writing results to disk: the only module that writes run output.

A run directory holds one Parquet file per table (``jobs.parquet``, ``cohorts.parquet``, ...),
``scenario.json`` (the validated scenario), ``summary.json`` (the headline metrics) and ``run.json``
(provenance). Files are first written to a temporary directory beside the destination and only
moved into place once every one of them is complete, so a failed write loses nothing already there.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import planner

if TYPE_CHECKING:
    from planner.results import RunResult

SCENARIO_FILE = "scenario.json"
SUMMARY_FILE = "summary.json"
RUN_FILE = "run.json"


def write_run(res: RunResult, out_dir: str | Path) -> list[Path]:
    """Write every table and the run's scenario, summary and provenance into ``out_dir``.

    ``out_dir`` is created if needed; files of the same names already in it are replaced, other
    files are left alone. If anything fails before the files are moved into place, ``out_dir`` is
    untouched. Returns the paths written, tables first.
    """
    out = Path(out_dir)
    with _staging(out) as stage:
        names = [f"{name}.parquet" for name in res.table_names()]
        for name, file in zip(res.table_names(), names, strict=True):
            write_table(res.table(name), stage / file)
        _dump_json(res.scenario.model_dump(mode="json", by_alias=True), stage / SCENARIO_FILE)
        _dump_json(summary_dict(res.summary()), stage / SUMMARY_FILE)
        _dump_json(provenance(res), stage / RUN_FILE)
        names += [SCENARIO_FILE, SUMMARY_FILE, RUN_FILE]
        return _publish(stage, out, names)


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON to ``path``, replacing it only once the text is complete."""
    target = Path(path)
    with _staging(target) as stage:
        _dump_json(obj, stage / target.name)
        (written,) = _publish(stage, target.parent, [target.name])
        return written


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write one table as Parquet, without its (range) index.

    Object columns keep ``None`` as null, and pandas' metadata is stored so the table reads back
    with the same dtypes.
    """
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_table`, with object columns restored as object.

    ``pandas.read_parquet`` gives back every table the API returns unchanged, but reads any Arrow
    string column as pandas' ``str`` dtype (None becomes NaN). This reader turns the columns that
    were ``object`` when written back into ``object`` columns holding ``None``.
    """
    table = pq.read_table(path)
    frame: pd.DataFrame = table.to_pandas()
    columns = (table.schema.pandas_metadata or {}).get("columns", [])
    for meta in columns:
        name = meta.get("field_name", meta.get("name"))
        if name not in frame:
            continue
        if meta.get("pandas_type") == "categorical":
            # Arrow keeps the labels but not their dtype; planner's labels are always strings.
            labels = frame[name].astype("category").cat.categories.astype("str")
            frame[name] = pd.Categorical(frame[name], categories=labels)
        elif meta.get("numpy_type") == "object" and frame[name].dtype != object:
            values = frame[name].astype(object)
            frame[name] = values.where(values.notna(), None)
    return frame


def summary_dict(summary: pd.Series) -> dict[str, Any]:
    """The summary as a JSON-ready mapping: NaN and infinities become ``None``."""
    return {str(key): _plain(value) for key, value in summary.items()}


def provenance(res: RunResult) -> dict[str, Any]:
    """Where a run came from: scenario name, seed, planner version, wall time, when written."""
    return {
        "scenario": res.scenario.name,
        "seed": res.seed,
        "planner_version": planner.__version__,
        "wall_s": res.wall_s,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": list(res.table_names()),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def _dump_json(obj: Any, path: Path) -> None:
    text = json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


@contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A temporary directory beside ``target``, removed afterwards whatever happens."""
    parent = target.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, out: Path, names: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        dest = out / name
        os.replace(stage / name, dest)
        written.append(dest)
    return written
