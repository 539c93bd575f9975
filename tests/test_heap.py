"""Freed memory is kept in the process for the next run, unless the environment says not to."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from planner.heap import keep_freed_memory

ASK = "from planner.heap import keep_freed_memory; print(keep_freed_memory())"


def _asked(**env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", ASK],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="malloc is tuned on glibc only",
)
def test_on_glibc_malloc_keeps_freed_memory_once_asked() -> None:
    assert _asked() == "True"
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # asking again changes nothing


def test_the_environment_can_leave_malloc_as_it_was() -> None:
    assert _asked(PLANNER_KEEP_FREED_MEMORY="0") == "False"
