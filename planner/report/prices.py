"""Figure data: each GPU model's list price per GPU-hour over the horizon, and what moved it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.market import Market
from planner.report.calendar import day, month_start, timestamps
from planner.scenario.schema import HOURS_PER_DAY, Scenario


def priced_models(sc: Scenario) -> list[str]:
    """The models a scenario holds, orders or prices, in the order first named."""
    names = [c.model for c in sc.fleet] + [o.model for o in sc.orders]
    names += list(sc.market.prices)
    return list(dict.fromkeys(names))


def price_curves(sc: Scenario, step_h: float = HOURS_PER_DAY / 4) -> pd.DataFrame:
    """List price per GPU-hour of every model in the scenario, every ``step_h`` from the start
    to the horizon (fine enough that each dated step shows as a step).

    Columns ``t_h``, ``date``, ``gpu_model``, ``usd_per_gpu_h``.
    """
    market = Market(sc)
    t_h = np.append(np.arange(0.0, sc.horizon_h, step_h), sc.horizon_h)
    moments = timestamps(sc.start, t_h).to_numpy()
    frames = [
        pd.DataFrame(
            {
                "t_h": t_h,
                "date": moments,
                "gpu_model": model,
                "usd_per_gpu_h": market.curve(model).price_array(t_h),
            }
        )
        for model in priced_models(sc)
    ]
    if not frames:
        return pd.DataFrame({"t_h": [], "date": [], "gpu_model": [], "usd_per_gpu_h": []})
    return pd.concat(frames, ignore_index=True)


def price_events(sc: Scenario) -> pd.DataFrame:
    """The dated steps within the horizon (launches, cuts, scarcity premiums and their ends),
    one row per day: columns ``date``, ``label`` (every step that day), ``models`` (the models
    any of them moves)."""
    market = Market(sc)
    found: dict[pd.Timestamp, dict[str, list[str]]] = {}
    for model in priced_models(sc):
        for step in market.steps(model):
            if not 0.0 <= step.t_h <= sc.horizon_h:
                continue
            label = step.label
            if label.startswith("scarcity") and step.factor < 1.0:
                label += " ends"
            moved = found.setdefault(day(sc.start, step.t_h), {}).setdefault(label, [])
            moved.append(model)
    rows = [
        (when, "; ".join(labels), ", ".join(dict.fromkeys(m for ms in labels.values() for m in ms)))
        for when, labels in sorted(found.items())
    ]
    frame = pd.DataFrame(rows, columns=["date", "label", "models"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def monthly_prices(curves: pd.DataFrame) -> pd.DataFrame:
    """The list price on the first of each month (or at the start), one column per model."""
    first = curves.assign(month=month_start(curves["date"]))
    first = first.drop_duplicates(["month", "gpu_model"], keep="first")
    wide = first.pivot_table(
        index="month", columns="gpu_model", values="usd_per_gpu_h", aggfunc="first", sort=True
    )
    wide.columns = [f"{model} usd_per_gpu_h" for model in wide.columns]
    return wide.reset_index()
