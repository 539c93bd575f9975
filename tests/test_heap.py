"""Freed memory is kept in the process for the next run and numpy asks for no huge pages,
unless the environment says otherwise."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from planner.heap import keep_freed_memory

ASK = "from planner.heap import keep_freed_memory; print(keep_freed_memory())"


def _printed(code: str, **env: str) -> str:
    """What ``code`` prints in a fresh interpreter, with ``env`` added to the environment
    (and numpy's own huge-page variable only if given there)."""
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _asked(**env: str) -> str:
    return _printed(ASK, **env)


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


ADVICE = (
    "from planner.heap import keep_freed_memory; keep_freed_memory(); "
    "from numpy._core.multiarray import _get_madvise_hugepage; print(_get_madvise_hugepage())"
)


def _advice(**env: str) -> str:
    return _printed(ADVICE, **env)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy advises on Linux only")
def test_numpy_asks_for_no_huge_pages_unless_the_environment_says_otherwise() -> None:
    assert _advice() == "False"
    assert _advice(NUMPY_MADVISE_HUGEPAGE="1") == "True"  # the user's choice stands
    assert _advice(NUMPY_MADVISE_HUGEPAGE="0") == "False"
    assert _advice(PLANNER_KEEP_FREED_MEMORY="0") == "True"  # numpy's default, left alone
