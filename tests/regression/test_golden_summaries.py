"""Regression pins: each built-in scenario's summary at seed 0, against a committed copy.

These are not validation: they catch unintended changes to results. When a change to the model
is intended, regenerate the pins on purpose and review the diff:

    python -m pytest tests/regression --regen-golden
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import planner
from planner.scenario import builtin_names
from planner.writers import summary_dict

GOLDEN = Path(__file__).parent / "golden"
# Same platform, same numpy: results are bit-identical. The tolerance only absorbs floating-point
# differences between numpy builds; a changed stream or rule moves numbers far more than this.
RTOL = 1e-9


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    found = [f"{k}: missing" for k in expected if k not in actual]
    found += [f"{k}: new key" for k in actual if k not in expected]
    for key in expected.keys() & actual.keys():
        want, got = expected[key], actual[key]
        if isinstance(want, float) and isinstance(got, float | int):
            if not math.isclose(want, got, rel_tol=RTOL, abs_tol=1e-9):
                found.append(f"{key}: {want!r} -> {got!r}")
        elif want != got:
            found.append(f"{key}: {want!r} -> {got!r}")
    return sorted(found)


@pytest.mark.golden
@pytest.mark.parametrize("name", builtin_names())
def test_summary_matches_golden(name: str, request: pytest.FixtureRequest) -> None:
    res = planner.simulate(planner.load_scenario(name), seed=0)
    actual = summary_dict(res.summary())
    path = GOLDEN / f"{name}.json"
    if request.config.getoption("--regen-golden"):
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"regenerated {path.name}")
    assert path.exists(), f"no golden summary for {name}: run with --regen-golden"
    diff = differences(json.loads(path.read_text()), actual)
    assert not diff, f"{name} summary changed:\n  " + "\n  ".join(diff)


def test_a_changed_number_or_key_is_caught() -> None:
    pinned = {"utilisation": 0.75, "scenario": "x", "wait_p95_h.paying": 11.3}
    assert differences(pinned, dict(pinned)) == []
    moved = {**pinned, "utilisation": 0.7500075}
    assert differences(pinned, moved) == ["utilisation: 0.75 -> 0.7500075"]
    assert differences(pinned, {"utilisation": 0.75, "scenario": "x"}) == [
        "wait_p95_h.paying: missing"
    ]
