"""Counts in words: ``1 job``, ``2 jobs``, ``0 GPUs``."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and its noun, singular for exactly one.

    The plural is ``noun + "s"`` unless given (``counted(2, "entry", "entries")``).
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
