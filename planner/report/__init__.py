"""HTML reports: the figures a capacity-planning review needs, from a run's tables or from an
experiment's results, in one self-contained page with the figures as PNG files beside it.

Three layers, kept apart:

- figure data, pure functions from result tables to small DataFrames (no matplotlib), one
  module per concept: ``fleet`` (GPUs in service and fleet events), ``utilisation``, ``waits``,
  ``queue``, ``credits``, ``prices``, ``value`` (cohort waterfall), ``failures``, ``response``
  (sweep curves), ``search`` (a planning query's path), ``sensitivity`` (tornado bars);
- drawing, ``draw_run`` and ``draw_experiments`` over ``plotting``: matplotlib is imported
  inside the functions, on the Agg canvas, never when :mod:`planner` is imported;
- assembly: ``run_section`` and ``experiment_sections`` write the captions and pick the tables,
  ``html`` lays out the page, ``build`` reads a directory (through ``inputs``) and writes.
"""

from planner.report.build import FIGURES_DIR, REPORT_FILE, sections, write_report
from planner.report.inputs import ReportError, RunData, detect, run_data

__all__ = [
    "FIGURES_DIR",
    "REPORT_FILE",
    "ReportError",
    "RunData",
    "detect",
    "run_data",
    "sections",
    "write_report",
]
