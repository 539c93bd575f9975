"""The exit query: the month to sell a cohort that maximises its NPV.

The scenario is simulated once (the cohort's own dated sale, if any, left out, so its whole
service life is open). Each candidate exit, from its acquisition (or the start) to the first of
each calendar month after it, keeps the cohort renting as it did in the run (its utilisation and
price path) up to the sale and then realises its resale value; the last candidate keeps it to
its own exit, or to the horizon at its terminal value. The answer is the candidate with the
largest NPV at the scenario's cost of capital (:func:`planner.analysis.finance.exit_curve`).

Selling one cohort earlier would send its jobs to the others; the curve holds the rest of the
fleet as simulated, the question a finance team asks of one cohort at a time.

With ``reps`` replications the curve is formed on each (common random numbers, as every
experiment), and each exit's NPV is their mean with a confidence interval; the best exit is the
one with the largest mean, and its gain over keeping the cohort gets an interval of its own
from the paired differences, which cancel most of the noise the two share.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.errors import Problem, ScenarioError
from planner.experiments.evaluate import scenario_data
from planner.experiments.pool import map_in_order
from planner.scenario.schema import Scenario
from planner.stats import Interval, bounded_ci

if TYPE_CHECKING:
    from planner.model.fast import Engine


@dataclass(frozen=True)
class ExitAnswer:
    """When to sell ``cohort``: the best exit, its NPV, and the NPV of every exit tried."""

    scenario: str
    cohort: str
    seed: int
    best_exit_date: date
    best_exit: str  # "sold", or "kept: ..." when keeping it to its own exit is best
    best_npv_usd: float
    kept_npv_usd: float  # keeping it to its own exit (or the horizon)
    # planner.analysis.finance.EXIT_CURVE_COLUMNS, NPVs the mean over replications, then
    # npv_low_usd, npv_high_usd (the interval; equal to the mean with one replication) and
    # best_share (the share of replications whose own best exit this is)
    curve: pd.DataFrame
    wall_s: float
    reps: int = 1
    gain: Interval | None = None  # best minus kept, paired by replication; None with one

    @property
    def gain_usd(self) -> float:
        """NPV gained by selling at the best month rather than keeping it (mean)."""
        return self.best_npv_usd - self.kept_npv_usd

    def as_dict(self) -> dict[str, object]:
        """The question and the answer (JSON-ready)."""
        return {
            "question": f"best month to sell cohort {self.cohort}",
            "scenario": self.scenario,
            "cohort": self.cohort,
            "seed": self.seed,
            "best_exit_date": self.best_exit_date.isoformat(),
            "best_exit": self.best_exit,
            "best_npv_usd": self.best_npv_usd,
            "kept_npv_usd": self.kept_npv_usd,
            "gain_usd": self.gain_usd,
            "reps": self.reps,
            "gain_low_usd": self.gain.low if self.gain else None,
            "gain_high_usd": self.gain.high if self.gain else None,
        }


def cohort_names(sc: Scenario) -> list[str]:
    """Names a cohort can have in a run: fleet cohorts, orders and their tranches."""
    names = list(sc.cohort_names())
    for order, name in zip(sc.orders, sc.order_names(), strict=True):
        tranches = [f"{name}-t{k + 1}" for k in range(order.tranches)]
        names += [name] if order.tranches == 1 else tranches
    return names


def best_exit(
    sc: Scenario,
    cohort: str,
    seed: int = 0,
    *,
    reps: int = 1,
    workers: int = 1,
    level: float = 0.95,
    engine: Engine | None = None,
    progress: Callable[[float], None] | None = None,
) -> ExitAnswer:
    """The month to sell ``cohort`` that maximises its NPV (see the module's docstring), over
    ``reps`` replications run on ``workers`` local processes.

    Raises :class:`ScenarioError` for a cohort the scenario does not have, or one that never
    enters service within the horizon.
    """
    known = cohort_names(sc)
    if cohort not in known:
        listed = ", ".join(known)
        raise ScenarioError(
            "plan exit", [Problem("cohort", f"unknown cohort '{cohort}'; cohorts: {listed}")]
        )
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    began = time.perf_counter()
    kept = [s for s in sc.finance.sell if s.cohort not in (cohort, _order_of(sc, cohort))]
    open_sc = sc.with_overrides({"finance.sell": [s.model_dump(mode="json") for s in kept]})
    if reps == 1:
        curves = [_curve(open_sc, cohort, seed, 0, engine, progress)]
    else:
        tasks = [(scenario_data(open_sc), cohort, seed, r, engine) for r in range(reps)]
        told = None if progress is None else lambda done, total: progress(done / total)
        curves = map_in_order(_curve_task, tasks, workers, told)
    curve, gain = _combine(curves, level)
    best = int(curve["npv_usd"].to_numpy().argmax())
    return ExitAnswer(
        scenario=sc.name,
        cohort=cohort,
        seed=seed,
        best_exit_date=curve["exit_date"].iloc[best].date(),
        best_exit=str(curve["exit"].iloc[best]),
        best_npv_usd=float(curve["npv_usd"].iloc[best]),
        kept_npv_usd=float(curve["npv_usd"].iloc[-1]),
        curve=curve,
        wall_s=time.perf_counter() - began,
        reps=reps,
        gain=gain,
    )


def _curve(
    sc: Scenario,
    cohort: str,
    seed: int,
    replication: int,
    engine: Engine | None,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """One replication's exit curve (:func:`planner.analysis.finance.exit_curve`)."""
    from planner.analysis.finance import exit_curve
    from planner.api import simulate

    res = simulate(sc, seed, replication=replication, engine=engine, progress=progress)
    cohorts = res.cohorts
    if not (cohorts["cohort"].astype(str) == cohort).any():
        raise ScenarioError(
            "plan exit",
            [Problem("cohort", f"cohort '{cohort}' is not delivered within the horizon")],
        )
    return exit_curve(sc, cohorts, res.ledger, res.runs, res.jobs, cohort)


def _curve_task(task: tuple[dict[str, Any], str, int, int, Engine | None]) -> pd.DataFrame:
    """:func:`_curve` from plain data, as a worker process runs it."""
    data, cohort, seed, replication, engine = task
    return _curve(Scenario.model_validate(data), cohort, seed, replication, engine)


def _combine(curves: list[pd.DataFrame], level: float) -> tuple[pd.DataFrame, Interval | None]:
    """The replications' curves as one: each exit's mean NPV and resale, the NPV's interval, and
    how often it was a replication's best; and the best exit's gain over keeping the cohort.

    A cohort's dates are the scenario's (its delivery and exit are dated), so every replication
    tries the same exits; should a stochastic delivery make them differ, only the exits every
    replication tried are compared.
    """
    first = curves[0]
    if len(curves) == 1:
        npv = first["npv_usd"].to_numpy(float)
        flags = np.zeros(len(first))
        flags[int(npv.argmax())] = 1.0
        return first.assign(npv_low_usd=npv, npv_high_usd=npv, best_share=flags), None
    keys = ["exit_date", "exit"]
    common = first[keys]
    for curve in curves[1:]:
        common = common.merge(curve[keys], on=keys)
    aligned = [common.merge(curve, on=keys, how="left") for curve in curves]
    npv = np.stack([c["npv_usd"].to_numpy(float) for c in aligned])  # reps x exits
    exits = len(common)
    intervals = [bounded_ci(npv[:, k], level) for k in range(exits)]
    wins = np.bincount(npv.argmax(axis=1), minlength=exits) / len(curves)
    curve = aligned[0].assign(
        resale_usd=np.mean([c["resale_usd"].to_numpy(float) for c in aligned], axis=0),
        npv_usd=npv.mean(axis=0),
        npv_low_usd=[ci.low for ci in intervals],
        npv_high_usd=[ci.high for ci in intervals],
        best_share=wins,
    )
    best = int(npv.mean(axis=0).argmax())
    return curve, bounded_ci(npv[:, best] - npv[:, -1], level)


def _order_of(sc: Scenario, cohort: str) -> str | None:
    """The order a tranche ``NAME-tK`` belongs to, if it is one."""
    for order, name in zip(sc.orders, sc.order_names(), strict=True):
        if order.tranches > 1 and cohort.startswith(f"{name}-t"):
            return name
    return None
