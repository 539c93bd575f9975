"""A planning evaluation that needs only wait metrics builds only the jobs table; its values
are the full summary's."""

from __future__ import annotations

import math

import planner
from planner.experiments.evaluate import Evaluation, evaluate, scenario_data
from planner.summary import is_wait_metric


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_wait_metrics_alone_equal_the_full_summarys() -> None:
    """alibaba-2024: credit and paying tenants, some jobs turned away."""
    sc = planner.load_scenario("alibaba-2024")
    data = scenario_data(sc)
    full = evaluate(Evaluation(data, seed=2, replication=1))
    quick = evaluate(
        Evaluation(data, seed=2, replication=1, metrics=("wait_p95_h_offered.paying",))
    )
    expected = {k: v for k, v in full.items() if is_wait_metric(k)}
    assert "wait_p95_h_offered.paying" in expected and "jobs_turned_away.credit" in expected
    assert quick.keys() == expected.keys()
    assert all(_same(quick[k], expected[k]) for k in expected), (quick, expected)


def test_an_objective_beyond_the_waits_gets_the_full_summary() -> None:
    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 5})
    row = evaluate(Evaluation(scenario_data(sc), metrics=("wait_p95_h.all", "revenue_usd")))
    assert "revenue_usd" in row and "utilisation" in row
