"""How far long work has got, told to whoever runs it, wherever they are watching.

On a terminal: a rich bar on stderr, once the work has lasted ``BAR_AFTER_S`` (short work shows
none). Anywhere else (CI, cron, ``nohup``, a notebook's ``!planner ...``): a plain line on stderr
every ``interval_s`` saying what is done, of how much, the time elapsed and the time left
(``PLANNER_PROGRESS_S`` seconds, ``DEFAULT_INTERVAL_S`` unless set). Notes (a planning
candidate decided, a sweep resumed) are printed at once in both, each on a line of its own.

A :class:`Progress` is the callback the experiments take, ``progress(done, total)``; for one
simulation, :meth:`Progress.fraction` takes the fraction of the horizon simulated.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import rich.progress

INTERVAL_ENV = "PLANNER_PROGRESS_S"
DEFAULT_INTERVAL_S = 10.0
BAR_AFTER_S = 2.0


def interval_s() -> float:
    """Seconds between plain progress lines: ``PLANNER_PROGRESS_S``, or the default."""
    raw = os.environ.get(INTERVAL_ENV, "")
    try:
        seconds = float(raw)
    except ValueError:
        return DEFAULT_INTERVAL_S
    return seconds if seconds >= 0 else DEFAULT_INTERVAL_S


class Progress:
    """Progress of ``what``, counted in ``unit`` (None: a fraction, shown as a percentage).

    ``at_most``: the total is an upper bound (a search may stop early). ``enabled=False``
    shows nothing (``--quiet``). The count so far stays readable as ``done`` and ``total``,
    for a message on interrupt.
    """

    def __init__(
        self,
        what: str,
        unit: str | None = "runs",
        *,
        at_most: bool = False,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.unit, self.at_most, self.enabled = what, unit, at_most, enabled
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.terminal = bool(isatty is not None and isatty())
        self.interval_s = interval_s()
        self.done: float = 0.0
        self.total: float | None = None
        self._clock = clock
        self._began = self._last_line = clock()
        self._baseline = 0.0  # done when timing began: a resumed sweep's finished rows
        self._bar: rich.progress.Progress | None = None

    def __call__(self, done: float, total: float) -> None:
        """Record ``done`` of ``total``; show it if a line or the bar is due."""
        self.done, self.total = done, total
        if not self.enabled:
            return
        now = self._clock()
        if self.terminal:
            self._update_bar(now)
        elif now - self._last_line >= self.interval_s:
            self._last_line = now
            self._write(self.line(now))

    def fraction(self, done: float) -> None:
        """Record that a ``done`` fraction of the whole is finished."""
        self(done, 1.0)

    def resume_from(self, done: float, total: float) -> None:
        """Start counting at ``done`` of ``total`` (found finished): it sets no pace."""
        self.done, self.total, self._baseline = done, total, done

    def note(self, line: str) -> None:
        """Print ``line`` now, above the bar on a terminal."""
        if not self.enabled:
            return
        if self._bar is not None:
            from rich.text import Text

            self._bar.console.print(Text(line))
        else:
            self._write(line)

    def line(self, now: float | None = None) -> str:
        """``what: done of total unit · elapsed · time left``."""
        now = self._clock() if now is None else now
        elapsed = now - self._began
        parts = [f"{self.what}: {self._amount()}", f"{duration(elapsed)} elapsed"]
        left = self._left_s(elapsed)
        if left is not None:
            parts.append(f"{'at most ' if self.at_most else ''}about {duration(left)} left")
        return " · ".join(parts)

    def _amount(self) -> str:
        total = self.total
        if self.unit is None:
            return f"{self.done / total:.0%}" if total else "started"
        bound = "at most " if self.at_most else ""
        of = f" of {bound}{total:,.0f}" if total is not None else ""
        return f"{self.done:,.0f}{of} {self.unit}"

    def _left_s(self, elapsed: float) -> float | None:
        """Time left at the pace so far, or None before there is a pace."""
        paced = self.done - self._baseline
        if self.total is None or paced <= 0 or elapsed <= 0:
            return None
        return max(self.total - self.done, 0.0) * elapsed / paced

    def _update_bar(self, now: float) -> None:
        if self._bar is None:
            if now - self._began < BAR_AFTER_S:
                return
            self._bar = _start_bar(self.what, self.unit is None, self.stream)
            self._bar.add_task(self.what, total=self.total)
        self._bar.update(self._bar.task_ids[0], completed=self.done, total=self.total)

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        self._began = self._last_line = self._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _start_bar(what: str, percent: bool, stream: TextIO) -> rich.progress.Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(what),
        BarColumn(),
        TaskProgressColumn() if percent else MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
    )
    bar.start()
    return bar


def duration(seconds: float) -> str:
    """12 s, 4 min 05 s, 1 h 02 min."""
    if not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
