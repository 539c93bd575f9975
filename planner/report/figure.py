"""The parts of a report: figures (a PNG, a caption stating its key numbers, and the data as
tables), notes standing in for figures a run has no data for, and sections grouping them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Figure:
    """A rendered figure: ``name`` is its file stem under ``figures/`` and its anchor."""

    name: str
    title: str
    caption: str
    png: bytes
    tables: tuple[tuple[str, pd.DataFrame], ...]


@dataclass(frozen=True)
class Note:
    """Why a figure is left out (say, failures off in this scenario)."""

    name: str
    title: str
    text: str


Item = Figure | Note


@dataclass(frozen=True)
class Section:
    """A run or an experiment: a heading, a line of provenance, key figures, then its items."""

    name: str
    title: str
    about: str
    facts: tuple[tuple[str, str], ...] = ()
    items: tuple[Item, ...] = field(default_factory=tuple)

    @property
    def figures(self) -> list[Figure]:
        return [item for item in self.items if isinstance(item, Figure)]


def extreme_row(frame: pd.DataFrame, column: str, *, largest: bool = True) -> pd.Series:
    """The first row where ``column`` is largest (or smallest), NaN ignored; ``frame`` must
    hold at least one value there."""
    values = frame[column].to_numpy(dtype=float)
    at = int(np.nanargmax(values) if largest else np.nanargmin(values))
    return frame.iloc[at]
