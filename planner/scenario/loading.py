"""Reading scenario files and turning every validation failure into a :class:`ScenarioError`.

This is the only module of the scenario package that does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from planner.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from planner.scenario.schema import Scenario

_FRIENDLY = {
    "extra_forbidden": "unknown field",
    "missing": "missing required field",
}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a YAML scenario file, or a built-in scenario by name.

    Raises :class:`ScenarioError` naming the file, the field path and the reason.
    """
    from planner.scenario.builtin import resolve

    file = resolve(path)
    source = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, [Problem("", "no such file")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, [Problem("", f"cannot read the file: {exc}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [Problem("", _yaml_reason(exc))]) from None
    _anchor_trace_paths(data, file.parent)
    return validate(data, source)


def _anchor_trace_paths(data: Any, folder: Path) -> None:
    """Read a replayed trace's relative ``path`` from the scenario file's folder, so a scenario
    and its trace can move together."""
    tenants = data.get("tenants") if isinstance(data, dict) else None
    for tenant in tenants if isinstance(tenants, list) else []:
        workload = tenant.get("workload") if isinstance(tenant, dict) else None
        arrivals = workload.get("arrivals") if isinstance(workload, dict) else None
        if isinstance(arrivals, dict) and arrivals.get("kind") == "trace":
            path = arrivals.get("path")
            if isinstance(path, str) and not Path(path).is_absolute():
                arrivals["path"] = str(folder / path)


def validate(data: Any, source: str = "<dict>") -> Scenario:
    """Validate a mapping as a scenario, converting pydantic errors to a :class:`ScenarioError`."""
    from planner.scenario.schema import Scenario

    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            source, [Problem("", f"a scenario must be a mapping, but this is {kind}")]
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from(exc, data)) from None


def problems_from(exc: ValidationError, data: Any) -> list[Problem]:
    """One :class:`Problem` per pydantic error, with list indices shown as item names."""
    problems = []
    for err in exc.errors(include_url=False):
        reason = _FRIENDLY.get(err["type"], err["msg"])
        if err["type"] not in _FRIENDLY and err["type"] != "scenario" and "input" in err:
            shown = repr(err["input"])
            reason += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        problems.append(Problem(field_path(err["loc"], data), reason))
    return problems


def field_path(loc: tuple[Any, ...], data: Any) -> str:
    """Dotted path for a pydantic ``loc``, naming list items by their ``name`` where they have one.

    Discriminated-union tags that pydantic inserts into ``loc`` (e.g. ``lognormal``) are dropped.
    """
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            item = node[key]
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(name if isinstance(name, str) and name else str(key))
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(str(key))
            node = node[key]
        elif isinstance(node, dict) and node.get("kind") == key:
            continue
        else:
            parts.append(str(key))
            node = None
    return ".".join(parts)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"bad YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"bad YAML: {problem}"
