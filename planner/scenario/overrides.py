"""Dotted-path overrides of a scenario: ``fleet.0.gpus``, ``tenants.moonshot.credit.amount_usd``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.errors import Problem, ScenarioError
from planner.wording import counted

if TYPE_CHECKING:
    from planner.scenario.schema import Scenario


def apply_overrides(
    sc: Scenario, overrides: dict[str, Any], source: str = "<overrides>"
) -> Scenario:
    """Return a new validated scenario with each dotted path set to its value.

    A list item is addressed by its index or by its ``name``. Unknown paths and invalid values
    raise :class:`ScenarioError` naming the path.
    """
    from planner.scenario.loading import validate

    data = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    problems = []
    for path, value in overrides.items():
        try:
            _set_path(data, path.split("."), value)
        except LookupError as exc:
            problems.append(Problem(path, str(exc.args[0])))
    if problems:
        raise ScenarioError(source, problems)
    return validate(data, source)


def _set_path(node: Any, keys: list[str], value: Any) -> None:
    *parents, last = keys
    for depth, key in enumerate(parents):
        node = _child(node, key, keys[: depth + 1], create=True)
    if isinstance(node, list):
        node[_index(node, last, keys)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise LookupError(f"'{'.'.join(keys[:-1])}' is a value, not a section")


def _child(node: Any, key: str, walked: list[str], create: bool) -> Any:
    if isinstance(node, list):
        return node[_index(node, key, walked)]
    if isinstance(node, dict):
        if key not in node or node[key] is None:
            if not create:
                raise LookupError(f"no field '{key}'")
            # An unset optional section (e.g. a tenant's credit) is created so it can be filled;
            # validation then reports anything it still lacks.
            node[key] = {}
        return node[key]
    raise LookupError(f"'{'.'.join(walked[:-1])}' is a value, not a section")


def _index(items: list[Any], key: str, walked: list[str]) -> int:
    if key.lstrip("-").isdigit():
        index = int(key)
        if -len(items) <= index < len(items):
            return index if index >= 0 else len(items) + index
        raise LookupError(
            f"index {index} is out of range: '{'.'.join(walked[:-1])}' has "
            f"{counted(len(items), 'item')}"
        )
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if key in names:
        return names.index(key)
    known = ", ".join(str(n) for n in names if n is not None) or "none"
    raise LookupError(f"no item named '{key}' in '{'.'.join(walked[:-1])}' (named: {known})")
