"""The generic trace form every reader produces: a table of jobs, and its CSV file.

Rows are checked one by one: a malformed row is an error naming the file, the line and the
reason, unless the caller asks to skip such rows, in which case they are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import Problem, ScenarioError

GENERIC_COLUMNS = ("submit_s", "duration_s", "gpus", "tenant", "gpu_model")
REQUIRED = ("submit_s", "duration_s", "gpus")


class TraceError(ScenarioError):
    """A trace file with rows that cannot be read; each problem names its line."""

    subject = "the trace"


@dataclass(frozen=True)
class Trace:
    """Jobs of a trace in submission order (``jobs`` has the generic columns), where they came
    from, how many malformed rows were skipped, and notes on what the reader dropped or
    derived (``recorded_wait_s``, when the trace records queueing, is kept as an extra column)."""

    name: str
    jobs: pd.DataFrame
    source: tuple[str, ...]
    skipped_rows: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.jobs)


def checked(
    frame: pd.DataFrame, path: Path, *, first_line: int = 2, skip_bad: bool = False
) -> tuple[pd.DataFrame, int]:
    """Validate generic rows (as read, any dtype); return the good ones, typed, and how many
    were skipped. A row's file line is its index label plus ``first_line`` (the line of the
    row labelled 0), so a reader may pass a filtered frame and still name the right lines."""
    require(frame, path, REQUIRED, "the generic form")
    problems: list[tuple[int, str]] = []
    bad = np.zeros(len(frame), dtype=bool)
    typed = {}
    for column in REQUIRED:
        values = pd.to_numeric(frame[column], errors="coerce")
        typed[column] = values
        for i in np.flatnonzero(values.isna().to_numpy()):
            problems.append((int(i), f"{column} {frame[column].iloc[i]!r} is not a number"))
    submit, duration, gpus = typed["submit_s"], typed["duration_s"], typed["gpus"]
    checks = (
        (submit < 0, "submit_s is negative"),
        (duration < 0, "duration_s is negative"),
        (gpus < 1, "gpus is below 1"),
        (gpus.notna() & (gpus != np.floor(gpus)), "gpus is not a whole number"),
    )
    for mask, reason in checks:
        for i in np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool)):
            problems.append((int(i), reason))
    for row, _ in problems:
        bad[row] = True
    if problems and not skip_bad:
        problems.sort()
        labels = frame.index
        shown = [
            Problem(f"line {int(labels[i]) + first_line}", reason) for i, reason in problems[:20]
        ]
        if len(problems) > 20:
            shown.append(Problem("…", f"{len(problems) - 20} more problems"))
        raise TraceError(str(path), shown)
    good = frame.loc[~bad].copy()
    good["submit_s"] = submit[~bad].astype(float)
    good["duration_s"] = duration[~bad].astype(float)
    good["gpus"] = gpus[~bad].astype(np.int64)
    for column in ("tenant", "gpu_model"):
        if column in good:
            good[column] = good[column].astype("string")
    good = good.sort_values("submit_s", kind="stable").reset_index(drop=True)
    return good, int(bad.sum())


def read_csv(path: Path) -> pd.DataFrame:
    """A trace CSV as text columns; a file that is not UTF-8 text or not CSV is a
    :class:`TraceError`."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        raise TraceError(str(path), [Problem("", reason)]) from None
    except pd.errors.EmptyDataError:
        raise TraceError(str(path), [Problem("", "the file is empty")]) from None
    except (pd.errors.ParserError, OSError) as exc:
        raise TraceError(str(path), [Problem("", f"cannot read it as CSV: {exc}")]) from None


def require(raw: pd.DataFrame, path: Path, columns: Sequence[str], form: str) -> None:
    """Raise a :class:`TraceError` naming each of ``columns`` the header lacks: a file read in
    the wrong format is told so, not reported row by row as empty values."""
    missing = [column for column in columns if column not in raw]
    if missing:
        lacks = ", ".join(f"'{column}'" for column in missing)
        expected = ", ".join(f"'{column}'" for column in columns)
        reason = f"no column {lacks} ({form} has {expected}; is the format right?)"
        raise TraceError(str(path), [Problem("header", reason)])


def renamed(raw: pd.DataFrame, path: Path, columns: dict[str, str], form: str) -> pd.DataFrame:
    """The trace's own columns under their generic names (``columns``: generic -> own)."""
    require(raw, path, list(columns.values()), form)
    return pd.DataFrame({generic: raw[own] for generic, own in columns.items()})


def read_generic(path: Path, *, skip_bad: bool = False) -> Trace:
    """Read a trace in the generic CSV form."""
    path = Path(path)
    frame = read_csv(path)
    jobs, skipped = checked(frame, path, skip_bad=skip_bad)
    columns = [c for c in (*GENERIC_COLUMNS, "recorded_wait_s") if c in jobs]
    return Trace(path.stem, jobs[columns], (str(path),), skipped)


def write_generic(trace: Trace, path: Path) -> None:
    """Write ``trace`` in the generic CSV form, by way of a temporary file beside ``path``."""
    path = Path(path)
    columns = [c for c in (*GENERIC_COLUMNS, "recorded_wait_s") if c in trace.jobs]
    tmp = path.with_name(f".{path.name}.tmp")
    trace.jobs[columns].to_csv(tmp, index=False)
    tmp.replace(path)
