"""Reading scenario files and turning every validation failure into a :class:`ScenarioError`.

This is the only module of the scenario package that does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
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
        data = yaml.load(text, Loader=ScenarioLoader)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [Problem("", _yaml_reason(exc))]) from None
    _anchor_trace_paths(data, file.parent)
    sc = validate(data, source)
    _check_traces(sc, source)
    return sc


class ScenarioLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice (plain YAML keeps the last without a word) and
    hands an impossible date (``2025-13-45``) to the schema as text, so the error names its
    field instead of surfacing from the YAML parser."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # keys merged in from an anchor may be overridden: that is YAML
            key = self.construct_object(key_node, deep=True)
            try:
                if key in first_line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key '{key}' is given twice (first at line {first_line[key]})",
                        key_node.start_mark,
                    )  # fmt: skip
                first_line[key] = key_node.start_mark.line + 1
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
        return super().construct_mapping(node, deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


ScenarioLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", ScenarioLoader.construct_yaml_timestamp
)


def _check_traces(sc: Scenario, source: str) -> None:
    """Read every replayed trace now, so a bad trace is reported against the scenario file
    (and by ``planner validate``) rather than once a run has begun."""
    from planner.scenario.schema import TraceArrivals

    replayed = [
        (tenant.name, tenant.workload.arrivals)
        for tenant in sc.tenants
        if tenant.workload is not None and isinstance(tenant.workload.arrivals, TraceArrivals)
    ]
    if not replayed:
        return
    from planner.traces import read_trace  # pandas, only for scenarios that replay a trace

    problems = []
    for name, arrivals in replayed:
        try:
            read_trace(Path(arrivals.path), arrivals.format)
        except ScenarioError as err:
            where = f"tenants.{name}.workload.arrivals.path"
            problems += [Problem(where, f"{err.source}: {p}") for p in err.problems]
    if problems:
        raise ScenarioError(source, problems)


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
        reason = _FRIENDLY.get(err["type"], err["msg"].removeprefix("Value error, "))
        # A section's own check (e.g. dates out of order) gets the whole section as its input:
        # its message says what is wrong, and the section's dump would only bury it.
        own = err["type"] in _FRIENDLY or err["type"] == "scenario"
        if not own and "input" in err and not isinstance(err["input"], Mapping):
            shown = _shown(err["input"])
            reason += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        problems.append(Problem(field_path(err["loc"], data), reason))
    return problems


def _shown(value: Any) -> str:
    """A value as the user wrote it: dates in ISO form, not as Python reprs."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value)


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
