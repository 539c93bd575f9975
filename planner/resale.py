"""Resale value: what a cohort's GPUs fetch second-hand, as a share of their unit capex.

The share falls with age along a yearly ladder (log-linear between whole years, held after the
last) and steps down each time a new architecture ships: the first successor launch of each
architecture (its name's catalogue architecture, or the name itself for a part the catalogue
lacks) that reprices the model and differs from the model's own architecture. Defaults come from
:mod:`planner.catalog` (domain.md §4b, low confidence); ``market.resale`` overrides them per model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.catalog import CATALOG, RESALE_SHARE_BY_YEAR, RESALE_SUCCESSOR_STEP, gpu_model
from planner.scenario.schema import HOURS_PER_YEAR, Scenario


@dataclass(frozen=True)
class ResaleCurve:
    """Share of unit capex a GPU of one model fetches, by age and by successor launches."""

    share_by_year: tuple[float, ...]
    successor_step: float
    step_times_h: tuple[float, ...] = ()  # new architectures ship (hours since start)

    def share(self, acquired_h: float, t_h: float) -> float:
        """Share of unit capex at time ``t_h`` for a GPU acquired at ``acquired_h``."""
        age_years = max(0.0, (t_h - acquired_h) / HOURS_PER_YEAR)
        logs = np.log(np.asarray(self.share_by_year, dtype=np.float64))
        years = np.arange(len(logs), dtype=np.float64)
        by_age = math.exp(float(np.interp(age_years, years, logs)))
        steps = sum(1 for s in self.step_times_h if acquired_h < s <= t_h)
        return by_age * (1.0 - self.successor_step) ** steps


def resale_curves(sc: Scenario, models: list[str]) -> dict[str, ResaleCurve]:
    """The resale curve of each of ``models`` under ``sc``."""
    return {model: resale_curve(sc, model) for model in dict.fromkeys(models)}


def resale_curve(sc: Scenario, model: str) -> ResaleCurve:
    """``model``'s resale curve: the scenario's override, else the catalogue's default."""
    entry = sc.market.resale.get(model)
    shares = entry.share_by_year if entry and entry.share_by_year else RESALE_SHARE_BY_YEAR
    step = RESALE_SUCCESSOR_STEP
    if entry is not None and entry.successor_step is not None:
        step = entry.successor_step
    return ResaleCurve(tuple(shares), step, _architecture_steps_h(sc, model))


def _architecture_steps_h(sc: Scenario, model: str) -> tuple[float, ...]:
    """When a new architecture that reprices ``model`` first ships."""
    own = gpu_model(model)
    seen: set[str] = set()
    times = []
    for launch in sorted(sc.market.successor_launches, key=lambda s: s.date):
        part = CATALOG.get(launch.name)
        arch = part.arch if part is not None else launch.name
        reprices = (
            model in launch.models if launch.models is not None else own.launched < launch.date
        )
        if arch != own.arch and arch not in seen and reprices:
            times.append(sc.hours_since_start(launch.date))
        seen.add(arch)
    return tuple(times)
