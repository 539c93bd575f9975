"""Shared builders: small scenarios written out in full, so each test shows what it sets up."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from planner.model.demand import JobBatch
from tests.prerequisites import traces_folder


def base_dict(**changes: Any) -> dict[str, Any]:
    """A tiny valid scenario: 16 H800 GPUs (two 8-GPU nodes in one pod), one paying tenant."""
    d: dict[str, Any] = {
        "name": "tiny",
        "start": "2024-01-01",
        "horizon_days": 10,
        "regions": [{"name": "r1", "pod_gpus": 16, "gpus_per_node": 8}],
        "fleet": [{"model": "H800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"}],
        "market": {"prices": {"H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0}}},
        "tenants": [{"name": "acme", "class": "paying", "models": ["H800"]}],
    }
    d.update(copy.deepcopy(changes))
    return d


def scenario(**changes: Any) -> planner.Scenario:
    return planner.Scenario.model_validate(base_dict(**changes))


def batch(rows: list[tuple[float, int, float]], tenant: int | list[int] = 0) -> JobBatch:
    """Jobs from (submit_h, gpus, work_gpu_h) rows, all of one tenant unless a list is given."""
    submit, gpus, work = (np.array(col) for col in zip(*rows, strict=True))
    tenants = np.asarray(tenant if isinstance(tenant, list) else [tenant] * len(rows))
    return JobBatch(
        submit_h=submit.astype(np.float64),
        tenant=tenants.astype(np.int64),
        gpus=gpus.astype(np.int64),
        work_gpu_h=work.astype(np.float64),
    )


@pytest.fixture
def traces() -> Path:
    """The folder of public traces (see tests/prerequisites.py)."""
    return traces_folder()


@pytest.fixture
def tiny() -> planner.Scenario:
    return scenario()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="rewrite the golden scenario summaries in tests/regression/golden",
    )
