"""The exit query: the month to sell a cohort that maximises its NPV.

The scenario is simulated once (the cohort's own dated sale, if any, left out, so its whole
service life is open). Each candidate exit, from its acquisition (or the start) to the first of
each calendar month after it, keeps the cohort renting as it did in the run (its utilisation and
price path) up to the sale and then realises its resale value; the last candidate keeps it to
its own exit, or to the horizon at its terminal value. The answer is the candidate with the
largest NPV at the scenario's cost of capital (:func:`planner.analysis.finance.exit_curve`).

Selling one cohort earlier would send its jobs to the others; the curve holds the rest of the
fleet as simulated, the question a finance team asks of one cohort at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from planner.errors import Problem, ScenarioError
from planner.scenario.schema import Scenario

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
    curve: pd.DataFrame  # planner.analysis.finance.EXIT_CURVE_COLUMNS
    wall_s: float

    @property
    def gain_usd(self) -> float:
        """NPV gained by selling at the best month rather than keeping it."""
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
    engine: Engine | None = None,
    progress: Callable[[float], None] | None = None,
) -> ExitAnswer:
    """The month to sell ``cohort`` that maximises its NPV (see the module's docstring).

    Raises :class:`ScenarioError` for a cohort the scenario does not have, or one that never
    enters service within the horizon.
    """
    from planner.analysis.finance import exit_curve
    from planner.api import simulate

    known = cohort_names(sc)
    if cohort not in known:
        listed = ", ".join(known)
        raise ScenarioError(
            "plan exit", [Problem("cohort", f"unknown cohort '{cohort}'; cohorts: {listed}")]
        )
    began = time.perf_counter()
    kept = [s for s in sc.finance.sell if s.cohort not in (cohort, _order_of(sc, cohort))]
    open_sc = sc.with_overrides({"finance.sell": [s.model_dump(mode="json") for s in kept]})
    res = simulate(open_sc, seed, engine=engine, progress=progress)
    cohorts = res.cohorts
    row = cohorts[cohorts["cohort"].astype(str) == cohort]
    if row.empty:
        raise ScenarioError(
            "plan exit",
            [Problem("cohort", f"cohort '{cohort}' is not delivered within the horizon")],
        )
    curve = exit_curve(open_sc, cohorts, res.ledger, res.runs, res.jobs, cohort)
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
    )


def _order_of(sc: Scenario, cohort: str) -> str | None:
    """The order a tranche ``NAME-tK`` belongs to, if it is one."""
    for order, name in zip(sc.orders, sc.order_names(), strict=True):
        if order.tranches > 1 and cohort.startswith(f"{name}-t"):
            return name
    return None
