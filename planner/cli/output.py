"""How the command line prints: rich tables, number formats and progress on stderr."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from planner.report.formats import finite

PROGRESS_AFTER_S = 2.0
MISSING = "–"
DATE_COLUMNS = frozenset({"acquired", "ordered", "due", "effective", "expires", "obsolete on"})


class LazyProgress:
    """A progress callback that shows a bar on stderr once a run has lasted a while."""

    def __init__(
        self, console: Console, *, enabled: bool, after_s: float = PROGRESS_AFTER_S
    ) -> None:
        self._console = console
        self._enabled = enabled
        self._after_s = after_s
        self._began = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, fraction: float) -> None:
        """Record that ``fraction`` of the horizon is simulated; start the bar if it is due."""
        if not self._enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._began < self._after_s:
                return
            self._progress = Progress(
                "simulating",
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("simulating", total=1.0)
        assert self._task is not None
        self._progress.update(self._task, completed=fraction)

    def __enter__(self) -> LazyProgress:
        self._began = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def counter(what: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for a known number of steps."""
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn(what), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(what, total=None)

        def note(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield note


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
