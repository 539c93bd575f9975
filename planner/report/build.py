"""Putting a report together: read what a directory holds, build each section, and write
``report.html`` with the figures as PNG files beside it under ``figures/``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import planner
from planner.report.experiment_sections import plan_section, sweep_section, tornado_section
from planner.report.figure import Section
from planner.report.html import figure_file, page
from planner.report.inputs import (
    RunData,
    detect,
    read_exit,
    read_plan,
    read_run,
    read_sweep_dir,
    read_tornado,
)
from planner.report.run_section import run_section

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"


def sections(
    directory: Path,
    kinds: Sequence[str] | None = None,
    *,
    run: RunData | None = None,
    slo_h: float | None = None,
    baseline: int = 0,
) -> list[Section]:
    """A section for each kind of result in ``directory`` (all it holds unless ``kinds`` says);
    a run held in memory (``run``) is used instead of reading the run's files; a sweep's points
    are compared with point ``baseline``."""
    if kinds is None:
        kinds = ["run"] if run is not None else detect(directory)
    built = []
    for kind in kinds:
        if kind == "run":
            built.append(run_section(run if run is not None else read_run(directory), slo_h))
        elif kind == "sweep":
            built.append(sweep_section(read_sweep_dir(directory), baseline=baseline, slo_h=slo_h))
        elif kind == "plan":
            built.append(plan_section(read_plan(directory)))
        elif kind == "exit":
            from planner.report.exit import exit_section

            built.append(exit_section(*read_exit(directory)))
        elif kind == "sensitivity":
            built.append(tornado_section(read_tornado(directory)))
        else:
            raise ValueError(f"unknown kind of result {kind!r}")
    return built


def write_report(
    directory: Path,
    kinds: Sequence[str] | None = None,
    *,
    run: RunData | None = None,
    slo_h: float | None = None,
    baseline: int = 0,
) -> Path:
    """Write ``directory/report.html`` and ``directory/figures/*.png``; return the page's path.

    Every figure is built before anything is written, so a directory a report cannot be made
    from is left as it was.
    """
    directory = Path(directory)
    built = sections(directory, kinds, run=run, slo_h=slo_h, baseline=baseline)
    title = "planner report: " + ", ".join(s.title for s in built)
    meta = (
        f"planner {planner.__version__}; written "
        f"{datetime.now(UTC).isoformat(timespec='seconds')} from {directory}"
    )
    html = page(title, meta, built)
    figures = directory / FIGURES_DIR
    figures.mkdir(parents=True, exist_ok=True)
    for section in built:
        written = {figure_file(section, figure) for figure in section.figures}
        for figure in section.figures:
            _replace(figures / figure_file(section, figure), figure.png)
        # A figure an earlier report of this section drew and this one does not is stale.
        for old in figures.glob(f"{section.name}-*.png"):
            if old.name not in written:
                old.unlink()
    target = directory / REPORT_FILE
    _replace(target, html.encode("utf-8"))
    return target


def _replace(path: Path, content: bytes) -> None:
    """Write by way of a temporary file beside ``path``, so a failure keeps the old file."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(content)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
