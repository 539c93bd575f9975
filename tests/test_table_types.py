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


COUNTS = {
    "jobs": ("gpus", "gpus_held", "restarts", "preemptions"),
    "runs": ("run", "gpus"),
}


def test_counts_are_32_bit_integers_and_job_ids_64_bit() -> None:
    """Counts of GPUs and of runs fit 32 bits, which keeps a million-job table smaller; job ids
    stay 64-bit, the type every table joins on. Alike in a quiet run and one with restarts."""
    failing = scenario(
        failures={"node_per_1000_node_days": 400.0, "repair_days": {"kind": "constant", "value": 1}}
    )
    quiet = planner.simulate(scenario(), 0, jobs=batch([(1.0, 8, 16.0)]))
    restarted = planner.simulate(failing, 0, jobs=batch([(1.0, 8, 400.0)] * 4))
    assert restarted.jobs["restarts"].sum() > 0 and restarted.runs["run"].max() > 0
    for result in (quiet, restarted):
        for table, columns in COUNTS.items():
            for column in columns:
                assert str(result.table(table)[column].dtype) == "int32", (table, column)
        assert str(result.jobs["job_id"].dtype) == "int64"
        assert str(result.runs["job_id"].dtype) == "int64"
