"""What a report is made from: a run's tables, a sweep's rows, a planning query's evaluations or
a sensitivity table, read from memory or from the directory the command line wrote them to.

Reading is the only I/O here; a missing or unreadable file is a :class:`ReportError` naming
the file and the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from planner.errors import Problem, ScenarioError
from planner.experiments.plan import Answer
from planner.experiments.sweep import MANIFEST_FILE, read_sweep
from planner.results import RunResult
from planner.scenario.loading import validate
from planner.scenario.schema import Scenario
from planner.writers import RUN_FILE, SCENARIO_FILE, SUMMARY_FILE, read_table, summary_dict

__all__ = [
    "ANSWER_FILE",
    "EVALUATIONS_FILE",
    "KINDS",
    "SENSITIVITY_FILE",
    "TORNADO_FILE",
    "PlanData",
    "ReportError",
    "RunData",
    "SweepData",
    "TornadoData",
    "detect",
    "plan_data",
    "read_exit",
    "read_plan",
    "read_run",
    "read_sweep_dir",
    "read_tornado",
    "run_data",
]

EVALUATIONS_FILE = "evaluations.csv"
ANSWER_FILE = "answer.json"
TORNADO_FILE = "tornado.csv"
SENSITIVITY_FILE = "sensitivity.json"

# The file that marks each kind of result directory, in the order a report shows them.
KINDS: dict[str, str] = {
    "run": SUMMARY_FILE,
    "sweep": MANIFEST_FILE,
    "plan": EVALUATIONS_FILE,
    "exit": "exit_curve.csv",
    "sensitivity": TORNADO_FILE,
}
WRITTEN_BY = {
    "run": "planner run --out",
    "sweep": "planner sweep --out",
    "plan": "planner plan ... --out",
    "exit": "planner plan exit --out",
    "sensitivity": "planner sensitivity --out",
}

# Only the columns the figures use, so a 640,000-job table reads in a fraction of a second.
JOB_COLUMNS = (
    "job_id",
    "tenant_class",
    "gpus",
    "gpu_model",
    "region",
    "submit_h",
    "start_h",
    "wait_h",
    "revenue_usd",
    "credit_usd",
)
RUN_COLUMNS = ("job_id", "cohort", "revenue_usd")
RUN_TABLES = (
    "timeseries",
    "pool_timeseries",
    "cohorts",
    "tenants",
    "orders",
    "credit_events",
    "credit_ledger",
    "failures",
    "cash_flows",
)

T = TypeVar("T")


class ReportError(ScenarioError):
    """A result directory a report cannot be made from, with the file and the reason."""

    subject = "the results"


@dataclass(frozen=True)
class RunData:
    """One run's scenario, headline metrics and the tables its figures are drawn from."""

    scenario: Scenario
    seed: int
    summary: Mapping[str, Any]
    jobs: pd.DataFrame
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    pool_timeseries: pd.DataFrame
    cohorts: pd.DataFrame
    tenants: pd.DataFrame
    orders: pd.DataFrame
    credit_events: pd.DataFrame
    credit_ledger: pd.DataFrame
    failures: pd.DataFrame
    cash_flows: pd.DataFrame


@dataclass(frozen=True)
class SweepData:
    """A sweep's rows (one per point and replication) and its manifest."""

    rows: pd.DataFrame
    scenario_name: str
    reps: int
    seed: int
    slo_h: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanData:
    """A planning query's evaluations in the order made, and what it asked when that is known."""

    evaluations: pd.DataFrame
    question: str | None = None
    metric: str | None = None
    target: float | None = None
    confidence: float | None = None
    answer: float | None = None
    bracket: tuple[float, float] | None = None
    reps: int | None = None
    variable: str = ""
    unit: str = ""
    today: float | None = None
    unit_cost_usd: float | None = None


@dataclass(frozen=True)
class TornadoData:
    """A one-at-a-time sensitivity table, and its metric when that is known."""

    table: pd.DataFrame
    metric: str | None = None
    reps: int | None = None


def run_data(res: RunResult) -> RunData:
    """The report's view of a run held in memory."""
    return RunData(
        scenario=res.scenario,
        seed=res.seed,
        summary=summary_dict(res.summary()),
        jobs=res.jobs.loc[:, list(JOB_COLUMNS)],
        runs=res.runs.loc[:, list(RUN_COLUMNS)],
        **{name: res.table(name) for name in RUN_TABLES},
    )


def plan_data(answer: Answer) -> PlanData:
    """The report's view of a planning query's answer held in memory."""
    return PlanData(
        answer.table(),
        question=answer.question,
        metric=answer.metric,
        target=_number(answer.target),
        confidence=answer.confidence,
        answer=_number(answer.answer),
        bracket=answer.bracket,
        reps=answer.reps,
        variable=answer.variable,
        unit=answer.unit,
        today=_number(answer.today),
        unit_cost_usd=_number(answer.unit_cost_usd),
    )


def detect(directory: Path) -> list[str]:
    """The kinds of results in ``directory`` (``run``, ``sweep``, ``plan``, ``sensitivity``).

    Raises :class:`ReportError` when it is not a directory or holds none of them.
    """
    if not directory.is_dir():
        reason = "no such directory" if not directory.exists() else "not a directory"
        raise ReportError(str(directory), [Problem("", reason)])
    found = [kind for kind, marker in KINDS.items() if (directory / marker).is_file()]
    if not found:
        expected = "; ".join(f"{marker} ({WRITTEN_BY[kind]})" for kind, marker in KINDS.items())
        raise ReportError(
            str(directory),
            [Problem("", f"no results to report: expected one of {expected}")],
        )
    return found


def read_run(directory: Path) -> RunData:
    """A run written by :func:`planner.writers.write_run`."""
    scenario_file = directory / SCENARIO_FILE
    data = _read(scenario_file, lambda p: json.loads(p.read_text(encoding="utf-8")))
    scenario = validate(data, str(scenario_file))
    summary = _read(directory / SUMMARY_FILE, lambda p: json.loads(p.read_text(encoding="utf-8")))
    if not isinstance(summary, dict):
        raise ReportError(str(directory / SUMMARY_FILE), [Problem("", "not a JSON object")])
    run_file = directory / RUN_FILE
    seed = summary.get("seed")
    if run_file.is_file():
        seed = _read(run_file, lambda p: json.loads(p.read_text(encoding="utf-8"))).get("seed")
    jobs = _read(
        directory / "jobs.parquet",
        lambda p: pd.read_parquet(p, columns=list(JOB_COLUMNS)),
    )
    runs = _read(
        directory / "runs.parquet",
        lambda p: pd.read_parquet(p, columns=list(RUN_COLUMNS)),
    )
    tables = {name: _read(directory / f"{name}.parquet", read_table) for name in RUN_TABLES}
    return RunData(
        scenario=scenario,
        seed=int(seed) if isinstance(seed, int | float) else 0,
        summary=summary,
        jobs=jobs,
        runs=runs,
        **tables,
    )


def read_sweep_dir(directory: Path) -> SweepData:
    """A sweep written by :func:`planner.sweep`: its manifest and every finished row."""
    manifest = _read(directory / MANIFEST_FILE, lambda p: json.loads(p.read_text(encoding="utf-8")))
    rows = _read(directory, read_sweep)
    if not len(rows):
        raise ReportError(
            str(directory / "rows"), [Problem("", "no finished (point, replication) rows yet")]
        )
    scenario = manifest.get("scenario", {}) if isinstance(manifest, dict) else {}
    scenario = scenario if isinstance(scenario, dict) else {}
    return SweepData(
        rows=rows,
        scenario_name=str(scenario.get("name", "")),
        reps=int(manifest.get("reps", 0)) if isinstance(manifest, dict) else 0,
        seed=int(manifest.get("seed", 0)) if isinstance(manifest, dict) else 0,
        slo_h=_slo_levels(scenario),
    )


def _slo_levels(scenario: Mapping[str, Any]) -> dict[str, float]:
    """The p95 wait SLO per tenant class of a scenario as the sweep's manifest holds it."""
    slo = scenario.get("slo")
    levels = slo.get("wait_p95_h") if isinstance(slo, dict) else None
    if not isinstance(levels, dict):
        return {}
    return {str(k): float(v) for k, v in levels.items() if _number(v) is not None}


def read_plan(directory: Path) -> PlanData:
    """A planning query's ``evaluations.csv``, with ``answer.json`` beside it if present."""
    path = directory / EVALUATIONS_FILE
    evaluations = _read(path, pd.read_csv)
    missing = {"step", "x", "metric_mean", "metric_low", "metric_high", "meets"}
    missing -= set(evaluations.columns)
    if missing:
        raise ReportError(str(path), [Problem("", f"missing columns {sorted(missing)}")])
    answer_file = directory / ANSWER_FILE
    if not answer_file.is_file():
        return PlanData(evaluations)
    meta = _read(answer_file, lambda p: json.loads(p.read_text(encoding="utf-8")))
    bracket = meta.get("bracket")
    return PlanData(
        evaluations,
        question=meta.get("question"),
        metric=meta.get("metric"),
        target=_number(meta.get("target")),
        confidence=_number(meta.get("confidence")),
        answer=_number(meta.get("answer")),
        bracket=(float(bracket[0]), float(bracket[1])) if bracket else None,
        reps=meta.get("reps"),
        variable=str(meta.get("variable") or ""),
        unit=str(meta.get("unit") or ""),
        today=_number(meta.get("today")),
        unit_cost_usd=_number(meta.get("unit_cost_usd")),
    )


def read_exit(directory: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An exit query's ``exit_curve.csv`` and ``exit.json`` (``planner plan exit --out``)."""
    path = directory / KINDS["exit"]
    curve = _read(path, lambda p: pd.read_csv(p, parse_dates=["exit_date"]))
    missing = {"exit_date", "exit", "npv_usd"} - set(curve.columns)
    if missing or not len(curve):
        reason = f"missing columns {sorted(missing)}" if missing else "no rows"
        raise ReportError(str(path), [Problem("", reason)])
    answer = _read(directory / "exit.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    return curve, answer if isinstance(answer, dict) else {}


def read_tornado(directory: Path) -> TornadoData:
    """A sensitivity's ``tornado.csv``, with ``sensitivity.json`` beside it if present."""
    path = directory / TORNADO_FILE
    table = _read(path, pd.read_csv)
    missing = {"parameter", "at_low", "at_high", "base", "swing"} - set(table.columns)
    if missing:
        raise ReportError(str(path), [Problem("", f"missing columns {sorted(missing)}")])
    meta_file = directory / SENSITIVITY_FILE
    if not meta_file.is_file():
        return TornadoData(table)
    meta = _read(meta_file, lambda p: json.loads(p.read_text(encoding="utf-8")))
    return TornadoData(table, metric=meta.get("metric"), reps=meta.get("reps"))


def _read(path: Path, read: Callable[[Path], T]) -> T:
    """``read(path)``, with a missing or unreadable file reported as a :class:`ReportError`."""
    if not path.exists():
        raise ReportError(str(path), [Problem("", "missing")])
    try:
        return read(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportError(str(path), [Problem("", f"cannot read it: {reason}")]) from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
