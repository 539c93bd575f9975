"""Fuzzing the scenario loader and the command line with broken versions of the built-in
scenarios: whatever a user writes, ``planner validate`` and ``planner run`` end with exit 0 or
with exit 2 and an error message, never with a traceback, and a run that succeeds simulates
something.

Each example takes a built-in scenario, shortened to a few days so a run is quick (dates beyond
the short horizon are moved to its start), and breaks it in one to three ways: a field deleted,
a value of another type, a number made negative, zero, NaN, infinite or huge, a date moved out
of range or made impossible, a name duplicated or misspelt, a key repeated. ``CI`` runs a few
hundred examples; set ``PLANNER_FUZZ_EXAMPLES`` for more.
"""

from __future__ import annotations

import copy
import math
import os
import re
import traceback
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import planner
from planner.cli import app
from planner.scenario import builtin_names, scenarios_dir

EXAMPLES = int(os.environ.get("PLANNER_FUZZ_EXAMPLES", "400"))
SHORT_DAYS = 5
IMPOSSIBLE = "IMPOSSIBLE-DATE"
# Dates that stay where they are when the horizon is cut: an expiry or an end may lie past it.
ENDS = ("expires", "active_until", "end")


def shortened(data: dict[str, Any], days: int = SHORT_DAYS) -> dict[str, Any]:
    """``data`` with a horizon of ``days``, every later date (but an end) moved to the start."""
    data = copy.deepcopy(data)
    start, data["horizon_days"] = data["start"], days
    end = start + timedelta(days=days)

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, date) and value >= end and key not in ENDS:
                node[key] = start
            elif isinstance(value, dict | list):
                walk(value)

    walk(data)
    return data


BASES = {
    name: shortened(yaml.safe_load((scenarios_dir() / f"{name}.yaml").read_text()))
    for name in builtin_names()
}
runner = CliRunner()


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed YAML tree, parents before children."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, dict | list):
            found += paths(value, (*prefix, key))
    return found


def parent_of(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        tree = tree[key]
    return tree


def broken_values(value: Any, siblings: list[Any], start: date) -> list[Any]:
    """What a value can be broken into, by its kind."""
    other_types: list[Any] = ["text", 3, -2.5, True, None, [1, "a"], {"x": 1}]
    if isinstance(value, bool):
        return other_types
    if isinstance(value, int | float):
        fraction = [value + 0.5] if isinstance(value, int) else []
        huge = [1e30, 1e300, 2**64]
        return [-abs(value) or -1, 0, -1, math.nan, math.inf, -math.inf, *huge, *fraction]
    if isinstance(value, date):
        return [date(1, 1, 1), date(9999, 12, 31), start - timedelta(days=1), IMPOSSIBLE,
                start + timedelta(days=100_000 // 3)]  # fmt: skip
    if isinstance(value, str):
        names = [s.get("name") for s in siblings if isinstance(s, dict) and s.get("name")]
        misspelt = [value + "x", value[:-1], value.upper(), ""]
        return [*misspelt, *[n for n in names if n != value], *other_types]
    return other_types


@st.composite
def broken_scenario(draw: st.DrawFn) -> tuple[str, str]:
    """A built-in scenario's name and a broken version of its text."""
    name = draw(st.sampled_from(sorted(BASES)))
    tree = copy.deepcopy(BASES[name])
    repeat_key = False
    for _ in range(draw(st.integers(1, 3))):
        places = paths(tree)
        if not places:
            break
        path = places[draw(st.integers(0, len(places) - 1))]
        parent, key = parent_of(tree, path), path[-1]
        how = draw(st.sampled_from(["delete", "break", "break", "repeat key"]))
        if how == "delete":
            del parent[key]
        elif how == "break":
            grandparent = parent_of(tree, path[:-1]) if len(path) > 1 else tree
            siblings = grandparent if isinstance(grandparent, list) else []
            start = BASES[name]["start"]
            parent[key] = draw(st.sampled_from(broken_values(parent[key], siblings, start)))
        else:
            repeat_key = True
    text = yaml.safe_dump(tree, sort_keys=False).replace(IMPOSSIBLE, "2025-13-45")
    if repeat_key:
        lines = text.splitlines()
        keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[A-Za-z_]\w*:", line)]
        if keyed:
            i = keyed[draw(st.integers(0, len(keyed) - 1))]
            lines.insert(i + 1, lines[i])
            text = "\n".join(lines) + "\n"
    return name, text


def assert_handled(result: Result, command: str) -> None:
    """Exit 0, or exit 2 with a message; a crash shows the end of its traceback (hypothesis
    shows the scenario that caused it)."""
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    if result.exit_code not in (0, 2) or crashed:
        trace = "".join(traceback.format_exception(result.exception)[-6:])
        pytest.fail(f"planner {command} exited {result.exit_code}:\n{trace}", pytrace=False)
    if result.exit_code == 2:
        assert result.output.strip(), f"planner {command} exited 2 without saying why"


@pytest.mark.parametrize("name", sorted(BASES))
def test_each_shortened_scenario_is_valid_and_runs(name: str, tmp_path: Path) -> None:
    """The fuzz starts from scenarios that work, so every failure it sees is one it made."""
    file = tmp_path / f"{name}.yaml"
    file.write_text(yaml.safe_dump(BASES[name], sort_keys=False))
    result = runner.invoke(app, ["run", str(file), "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(planner.simulate(planner.load_scenario(file)).jobs) > 0


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("PLANNER_FUZZ_EXAMPLES") is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=broken_scenario())
def test_no_broken_scenario_crashes_the_command_line(case: tuple[str, str], tmp_path: Path) -> None:
    """validate and a short run end in exit 0 or 2; a run that succeeds with demand in its
    scenario submitted jobs."""
    name, text = case
    file = tmp_path / f"{name}.yaml"
    file.write_text(text)
    checked = runner.invoke(app, ["validate", str(file)])
    assert_handled(checked, "validate")
    short = ["--set", f"horizon_days={SHORT_DAYS}"]
    ran = runner.invoke(app, ["run", str(file), *short, "--quiet"])
    assert_handled(ran, "run")
    if ran.exit_code == 0:
        sc = planner.load_scenario(file).with_overrides({"horizon_days": SHORT_DAYS})
        if has_demand(sc):
            assert len(planner.simulate(sc).jobs) > 0, "a run with demand submitted no job"


def has_demand(sc: planner.Scenario) -> bool:
    """Whether any tenant submits work. A scenario without any (an idle fleet's value) is
    legitimate; one whose demand comes to nothing is a mistake to report."""
    state = sc.initial_state
    return bool(state.running or state.queue) or any(
        t.workload is not None or t.campaigns for t in sc.tenants
    )
