"""A command that runs no simulation imports nothing it does not use: no pandas, NumPy, SciPy,
pyarrow, matplotlib, Dask, SimPy or rich's progress bars (``benchmarks/startup.py`` measures the
time this saves; no test here times anything)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import planner
from tests.processes import ROOT, planner_env

HEAVY = (
    "pandas", "numpy", "scipy", "pyarrow", "matplotlib", "dask", "distributed", "simpy",
    "rich.progress", "planner.api", "planner.model", "planner.experiments", "planner.report",
)  # fmt: skip
# Runs the command line in this process, then prints which of HEAVY it imported.
PROBE = """
import json, sys
from planner.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


def imported_by(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        env=planner_env(),
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    heavy: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return heavy


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["scenarios"],
        ["schema"],
        ["run", "--help"],
    ],
    ids=" ".join,
)
def test_a_command_that_runs_nothing_imports_nothing_heavy(args: list[str]) -> None:
    assert imported_by(*args) == []


def test_validate_imports_only_what_the_credit_ceilings_need() -> None:
    """Checking that every credit grant can be burned prices the planned fleet: NumPy and the
    market and supply modules, nothing else heavy."""
    assert imported_by("validate", "scenarios/alibaba-2024.yaml") == ["numpy", "planner.model"]


def test_import_planner_is_light_and_its_names_still_work() -> None:
    code = (
        "import sys, planner; light = 'pandas' not in sys.modules; "
        "res = planner.simulate(planner.load_scenario('mmc').with_overrides({'horizon_days': 1})); "
        "print(light, type(res).__name__, planner.plan.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=planner_env(), check=True
    )
    assert done.stdout.split() == ["True", "RunResult", "planner.experiments.plan"]


def test_every_public_name_resolves() -> None:
    for name in planner.__all__:
        assert getattr(planner, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = planner.nothing  # type: ignore[attr-defined]


def test_the_trace_formats_named_for_help_are_the_readers() -> None:
    """The trace commands name the formats themselves, so that help imports no pandas."""
    from planner.cli.traces import FORMATS as named
    from planner.traces import FORMATS

    assert named == tuple(FORMATS)
