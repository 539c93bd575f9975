"""What some tests need from outside the project, and the one rule for when it is missing.

A test whose prerequisite is absent (a browser, the public traces) is skipped on a developer's
machine but fails under CI (the environment variable ``CI`` set), so CI cannot pass by skipping.

The traces live beside the project, in ``../shared/data/traces`` (not in it); ``PLANNER_TRACES``
points elsewhere, e.g. from a second checkout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

TRACES = Path(
    os.environ.get("PLANNER_TRACES")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
)


def unavailable(reason: str, remedy: str) -> NoReturn:
    """Skip the calling test for ``reason``; under CI, fail it, naming the ``remedy``."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run this test ({remedy})")
    pytest.skip(reason)


needs_traces = pytest.mark.usefixtures("traces")
"""Marks a test that reads the public traces (the ``traces`` fixture, in conftest.py)."""


def traces_folder() -> Path:
    """The folder of public traces; the caller is skipped without it, or fails under CI."""
    if not TRACES.is_dir():
        unavailable(
            f"no traces at {TRACES}",
            "put them in ../shared/data/traces beside the clone, or set PLANNER_TRACES",
        )
    return TRACES
