"""A table's column types do not depend on what happened in the run: a column that sums
nothing (no failures, no credit) is as much a float as one that sums something."""

from __future__ import annotations

import planner
from tests.conftest import batch, scenario

SUMS = {
    "jobs": ("lost_gpu_h", "credit_usd", "revenue_usd", "gpu_h", "cash_usd"),
    "cohorts": ("lost_gpu_h",),
}


def _float_columns(result: planner.RunResult) -> dict[tuple[str, str], str]:
    return {
        (table, column): str(result.table(table)[column].dtype)
        for table, columns in SUMS.items()
        for column in columns
    }


def test_sums_over_nothing_are_floats_like_sums_over_something() -> None:
    quiet = planner.simulate(scenario(), 0, jobs=batch([(1.0, 8, 16.0)]))
    failing = scenario(
        failures={
            "node_per_1000_node_days": 400.0,
            "repair_days": {"kind": "constant", "value": 1},
        },
        tenants=[
            {
                "name": "s",
                "class": "credit",
                "models": ["H800"],
                "credit": {"amount_usd": 1e6, "granted": "2024-01-01", "expires": "2025-01-01"},
            }
        ],
    )
    eventful = planner.simulate(failing, 0, jobs=batch([(1.0, 8, 400.0)] * 4))
    assert eventful.jobs["lost_gpu_h"].sum() > 0 and eventful.jobs["credit_usd"].sum() > 0
    assert set(_float_columns(quiet).values()) == {"float64"}
    assert _float_columns(quiet) == _float_columns(eventful)
