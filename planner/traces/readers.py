"""Readers for the four public traces (see ``shared/data/traces/*/README.md``), each to the
generic form, and a dispatcher by format name.

- ``philly``: Microsoft Philly 2017 as flattened by RFold (``philly_trace.csv``).
- ``itp``: Microsoft ITP 2021, ten ``clusterNN.csv`` files; the cluster becomes the tenant.
- ``crux``: Alibaba Lingjun 2023 (Crux) as flattened by RFold (``crux.csv``).
- ``openb``: Alibaba openb 2023 pod list; GPU pods that were scheduled become jobs (duration =
  deletion - scheduling), their GPU-type constraint becomes ``gpu_model`` and their recorded
  creation-to-scheduling wait is kept as ``recorded_wait_s``.
- ``generic``: the generic CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from planner.errors import Problem
from planner.traces.generic import (
    Trace,
    TraceError,
    checked,
    read_csv,
    read_generic,
    renamed,
    require,
)
from planner.wording import counted


def read_trace(path: Path, fmt: str, *, skip_bad: bool = False) -> Trace:
    """Read the trace at ``path`` (a file, or the trace's directory) in format ``fmt``."""
    if fmt not in FORMATS:
        known = ", ".join(FORMATS)
        raise TraceError(str(path), [Problem("format", f"unknown trace format '{fmt}'; {known}")])
    path = Path(path)
    if not path.exists():
        raise TraceError(str(path), [Problem("path", "no such file or directory")])
    return FORMATS[fmt](path, skip_bad)


def _one_file(path: Path, name: str) -> Path:
    if path.is_dir():
        path = path / name
    if not path.is_file():
        raise TraceError(str(path), [Problem("path", f"expected the file {name}")])
    return path


def _rfold(path: Path, skip_bad: bool, name: str, file_name: str) -> Trace:
    """RFold's flattened form: ``arrival time (sec)``, ``size``, ``duration (sec)``."""
    file = _one_file(path, file_name)
    own = {"submit_s": "arrival time (sec)", "duration_s": "duration (sec)", "gpus": "size"}
    frame = renamed(read_csv(file), file, own, name)
    jobs, skipped = checked(frame, file, skip_bad=skip_bad)
    return Trace(name, jobs, (str(file),), skipped)


def read_philly(path: Path, skip_bad: bool = False) -> Trace:
    return _rfold(path, skip_bad, "philly-2017", "philly_trace.csv")


def read_crux(path: Path, skip_bad: bool = False) -> Trace:
    return _rfold(path, skip_bad, "crux-2023", "crux.csv")


def read_itp(path: Path, skip_bad: bool = False) -> Trace:
    """Every ``cluster*.csv`` in the directory (or the one file given); tenant = cluster."""
    files = sorted(path.glob("cluster*.csv")) if path.is_dir() else [path]
    if not files:
        raise TraceError(str(path), [Problem("path", "no cluster*.csv files here")])
    parts, skipped = [], 0
    for file in files:
        own = {"submit_s": "submission_time", "duration_s": "duration", "gpus": "num_gpu"}
        frame = renamed(read_csv(file), file, own, "ITP")
        frame["tenant"] = file.stem
        jobs, bad = checked(frame, file, skip_bad=skip_bad)
        parts.append(jobs)
        skipped += bad
    jobs = pd.concat(parts, ignore_index=True).sort_values("submit_s", kind="stable")
    return Trace("msft-itp-2021", jobs.reset_index(drop=True), tuple(map(str, files)), skipped)


def read_openb(path: Path, skip_bad: bool = False) -> Trace:
    """GPU pods that were scheduled; the GPU-type constraint list if the file has one."""
    file = _one_file(path, "openb_pod_list_gpuspec33.csv")
    raw = read_csv(file)
    require(raw, file, ("creation_time", "scheduled_time", "deletion_time", "num_gpu"), "openb")
    gpus = pd.to_numeric(raw["num_gpu"], errors="coerce")
    created = pd.to_numeric(raw["creation_time"], errors="coerce")
    scheduled = pd.to_numeric(raw["scheduled_time"], errors="coerce")
    deleted = pd.to_numeric(raw["deletion_time"], errors="coerce")
    is_gpu = gpus > 0
    ran = is_gpu & scheduled.notna()
    frame = pd.DataFrame(
        {
            "submit_s": raw["creation_time"],
            "duration_s": deleted - scheduled,
            "gpus": raw["num_gpu"],
            "gpu_model": raw.get("gpu_spec"),
            "recorded_wait_s": scheduled - created,
        }
    )
    # Line numbers stay those of the file: the kept rows are checked with their own.
    kept = frame[ran.to_numpy()]
    jobs, skipped = checked(kept, file, first_line=2, skip_bad=skip_bad)
    notes = (
        f"{counted(int((~is_gpu).sum()), 'CPU-only pod')} left out",
        f"{counted(int((is_gpu & scheduled.isna()).sum()), 'GPU pod')} never scheduled left out",
    )
    return Trace("alibaba-openb-2023", jobs, (str(file),), skipped, notes)


FORMATS: dict[str, Callable[[Path, bool], Trace]] = {
    "philly": read_philly,
    "itp": read_itp,
    "crux": read_crux,
    "openb": read_openb,
    "generic": lambda path, skip_bad: read_generic(path, skip_bad=skip_bad),
}
