"""Errors that reach users: bad scenario input, reported with the file and field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The source of a problem found while a loaded scenario runs, which no longer knows its file;
# the command line names the file (or built-in) the user gave instead.
RUNNING = "<scenario>"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario: where (a dotted field path) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ScenarioError(ValueError):
    """A scenario that cannot be loaded or run, with every problem found at once.

    ``source`` names the file (or ``<dict>`` for an in-memory scenario); each problem carries the
    dotted field path, e.g. ``tenants.moonshot.workload.gpus``.
    """

    # What the problems are in, for the message.
    subject = "the scenario"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(self.message())

    def message(self) -> str:
        """One paragraph: the file, then each problem on its own line."""
        count = len(self.problems)
        head = f"{self.source}: {count} problem{'s' if count != 1 else ''} in {self.subject}"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])
