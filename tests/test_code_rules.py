"""Rules the code keeps, checked over its source."""

from __future__ import annotations

import ast
from pathlib import Path

import planner

PACKAGE = Path(planner.__file__).parent


def test_runtime_checks_raise_errors_rather_than_assert() -> None:
    """``python -O`` strips ``assert`` statements, so a check the program relies on raises."""
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []
