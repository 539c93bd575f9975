"""The record of a run: the one thing the tables are built from, fixed once the run is over."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import planner
from planner.model.engine import Model
from tests.conftest import batch, scenario

# What the table phase may load of planner.model: the build products a record holds and their
# helpers; no engine, no fleet or scheduler state, no simulation library.
BUILD_PRODUCTS = {
    "planner.model",
    "planner.model.billing",
    "planner.model.demand",
    "planner.model.market",
    "planner.model.record",
    "planner.model.sampling",
    "planner.model.streams",
    "planner.model.supply",
}

# Imports the table phase with the planner package's __init__ left out (it imports the API,
# which imports the engine), and lists what that loaded.
PROBE = """
import json, sys, types
package = types.ModuleType("planner")
package.__path__ = [sys.argv[1]]
sys.modules["planner"] = package
import planner.analysis, planner.summary
print(json.dumps(sorted(sys.modules)))
"""


def test_the_table_phase_cannot_tell_which_engine_ran() -> None:
    """planner.analysis and planner.summary, with all they import, load no engine: only the
    record's build products from planner.model, and not SimPy."""
    root = Path(planner.__file__).parent
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert "planner.analysis" in loaded and "planner.summary" in loaded
    assert {m for m in loaded if m.startswith("planner.model")} <= BUILD_PRODUCTS
    assert "simpy" not in loaded


def test_a_model_has_its_record_once_it_has_run() -> None:
    """Before the run there is nothing to record; after it, the record names the scenario, seed
    and replication it ran on and holds every job, started or not."""
    sc = scenario()
    model = Model(sc, 5, jobs=batch([(0.0, 8, 80.0), (1.0, 16, 16.0)]), replication=2)
    with pytest.raises(RuntimeError, match="once it has run"):
        model.record()
    model.run()
    record = model.record()
    assert (record.scenario, record.seed, record.replication) == (sc, 5, 2)
    assert len(record.jobs) == 2
    assert record.recorded.start_job.tolist() == [0, 1]
    assert record.recorded.start_h.tolist() == [0.0, 10.0]


def test_the_record_cannot_be_changed() -> None:
    """The record is fixed: its fields cannot be reassigned, its recorded columns are
    read-only, and the credit accounts cannot be edited."""
    sc = scenario(
        tenants=[
            {
                "name": "acme",
                "class": "credit",
                "models": ["H800"],
                "credit": {"amount_usd": 100.0, "granted": "2024-01-01", "expires": "2024-06-01"},
            }
        ]
    )
    model = Model(sc, jobs=batch([(0.0, 8, 80.0)]))
    model.run()
    record = model.record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.seed = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        record.recorded.start_h[0] = 3.0
    with pytest.raises(TypeError):
        record.accounts[0] = record.accounts[0]  # type: ignore[index]
    assert record.accounts[0].state == "spent"  # 8 GPUs at $2/h spend $100 in 6.25 h
    assert np.isclose(record.accounts[0].balance_usd, 0.0)
