"""The built-in scenarios shipped in ``scenarios/``, found by name or by path."""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent.parent / "_scenarios"
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "scenarios"


def scenarios_dir() -> Path:
    """Where the built-in scenario files live: inside an installed wheel, or the source tree."""
    return _PACKAGED if _PACKAGED.is_dir() else _SOURCE_TREE


def builtin_names() -> list[str]:
    """Names of the built-in scenarios (file stems), sorted."""
    folder = scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve(path: str | Path) -> Path:
    """A path as given if it exists, else the built-in scenario of that name, else the path."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    stem = candidate.name.removesuffix(".yaml")
    if candidate.parent == Path(".") and stem in builtin_names():
        return scenarios_dir() / f"{stem}.yaml"
    return candidate
