"""Scheduling policies: which queued job goes next."""

from __future__ import annotations

import pytest

import planner
from tests.conftest import base_dict, batch


def two_tenants(scheduler: dict) -> planner.Scenario:
    """Two 8-GPU nodes shared by a credit start-up (tenant 0) and a paying customer (tenant 1)."""
    d = base_dict(scheduler=scheduler)
    d["tenants"] = [
        {
            "name": "startup",
            "class": "credit",
            "models": ["H800"],
            "credit": {"amount_usd": 1e6, "granted": "2024-01-01", "expires": "2024-02-01"},
        },
        {"name": "acme", "class": "paying", "models": ["H800"]},
    ]
    return planner.Scenario.model_validate(d)


# Hour 0: the start-up fills both nodes for 10 h; hour 1: it queues another 8-GPU job; hour 2:
# the paying customer queues one too.
JOBS = [(0.0, 16, 160.0), (1.0, 8, 8.0), (2.0, 8, 8.0)]


def test_fifo_serves_the_earlier_job_first() -> None:
    res = planner.simulate(two_tenants({"kind": "fifo"}), jobs=batch(JOBS, [0, 0, 1]))
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 10.0]


def test_priority_serves_paying_customers_before_credit_start_ups() -> None:
    """Both queued jobs fit at hour 10; with one node free at a time the paying job goes first."""
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 16.0), (2.0, 16, 16.0)], [0, 0, 1])
    res = planner.simulate(two_tenants({"kind": "priority"}), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 11.0, 10.0]


def test_an_explicit_priority_overrides_the_class_order() -> None:
    d = two_tenants({"kind": "priority"}).model_dump(mode="json", by_alias=True, exclude_unset=True)
    d["tenants"][0]["priority"] = -1
    jobs = batch([(0.0, 16, 160.0), (1.0, 16, 16.0), (2.0, 16, 16.0)], [0, 0, 1])
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 11.0]


def test_a_blocked_high_priority_head_blocks_lower_levels() -> None:
    """The paying head needs both nodes; a credit job that would fit on the free node waits."""
    jobs = batch([(0.0, 8, 80.0), (1.0, 16, 16.0), (2.0, 8, 8.0)], [0, 1, 0])
    res = planner.simulate(two_tenants({"kind": "priority"}), jobs=jobs)
    assert list(res.jobs["start_h"]) == [0.0, 10.0, 11.0]


def test_unknown_scheduler_kind_is_a_clear_error() -> None:
    with pytest.raises(planner.ScenarioError, match="scheduler"):
        planner.scenario.validate(base_dict(scheduler={"kind": "lottery"}))
