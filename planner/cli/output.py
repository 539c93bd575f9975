"""How the command line prints results: the console, plain tables and number formats."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from planner.numbers import finite

UNBOUNDED_COLUMNS = 1000
MISSING = "–"
DATE_COLUMNS = frozenset({"acquired", "ordered", "due", "effective", "expires", "obsolete on"})


def stdout() -> Console:
    """The console for results: the terminal's width on a terminal; otherwise (a pipe, a file,
    CI) wide enough that no table is cut, since a clipped number reads as another number."""
    return _unclipped(Console())


def stderr() -> Console:
    """The console for what goes beside the results, on stderr, likewise never clipped."""
    return _unclipped(Console(stderr=True))


def _unclipped(console: Console) -> Console:
    if console.is_terminal:
        return console
    return Console(stderr=console.stderr, width=UNBOUNDED_COLUMNS)


def print_blocks(console: Console, blocks: Sequence[Table | Text]) -> None:
    """Print text and tables, with a blank line before each table."""
    for block in blocks:
        if isinstance(block, Table):
            console.print()
        console.print(block)


def table(title: str, *columns: tuple[str, str]) -> Table:
    """A plain table: a title on the left, a bold header, each column justified as given."""
    shown = Table(
        title=Text(title),
        title_justify="left",
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for i, (name, justify) in enumerate(columns):
        shown.add_column(
            name,
            justify="right" if justify == "right" else "left",
            no_wrap=i == 0 or name in DATE_COLUMNS,
            overflow="fold",  # on a narrow terminal a cell folds onto a second line, never "…"
        )
    return shown


def pct(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:.1%}"


def hours(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:,.2f}"


def integer(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{round(number):,}"


def num(value: Any) -> str:
    number = finite(value)
    return MISSING if number is None else f"{number:,g}"


def num4(value: Any) -> str:
    """A number to four significant digits."""
    number = finite(value)
    return MISSING if number is None else f"{number:,.4g}"


def qty(value: Any) -> str:
    """A large count, abbreviated like money: 1.23M, 45.6K."""
    number = finite(value)
    if number is None:
        return MISSING
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(number) >= scale:
            scaled = number / scale
            digits = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
            return f"{scaled:,.{digits}f}{suffix}"
    return f"{number:,.0f}"


def price(value: Any) -> str:
    """A price per GPU-hour; infinite when credits were granted but none used."""
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    number = finite(value)
    return MISSING if number is None else f"${number:,.2f}"


def usd(value: Any) -> str:
    number = finite(value)
    if number is None:
        return MISSING
    sign = "-" if number <= -0.5 else ""  # no "-$0" for rounding dust
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(number) >= scale:
            scaled = abs(number) / scale
            digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
            return f"{sign}${scaled:,.{digits}f}{suffix}"
    return f"{sign}${abs(number):,.0f}"


def text(value: Any) -> Text:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text(MISSING)
    return Text(str(value))
