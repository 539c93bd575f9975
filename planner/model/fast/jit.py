"""How the kernel is compiled: once per machine, then loaded from numba's on-disk cache."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

from numba import config as _numba_config
from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

# ``_nrt=False``: the kernel allocates nothing (every array is made in Python beforehand), so it
# needs none of numba's reference counting. With it, every call that passes a group of arrays
# increments and decrements each array's count, which took most of the run time.
_compile = njit(cache=True, _nrt=False)  # type: ignore[call-overload]
# ``inline="always"`` for the functions called once or more per job that take whole groups of
# arrays: numba passes a NamedTuple of arrays by value, seven words per array, so a call that
# takes the whole state copies about a thousand words. Inlined at numba's IR level, the group is
# unpacked once in the caller instead. Inlining everything is no option: compiling the kernel
# then took over 20 GB and ten minutes. The selection here cut the 2e5-job FIFO loop from
# 0.37 s to 0.04 s and the EASY backfill loop from 0.60 s to 0.11 s, for a first compile of
# 2.4 minutes instead of 1.7.
_compile_inline = njit(cache=True, _nrt=False, inline="always")  # type: ignore[call-overload]
_config: Any = _numba_config  # its settings are set at run time, unknown to the type stubs

# numba checks a cached function against its own file only, yet a compiled function carries
# the code of the functions it calls from other files: a change to placement.py would leave
# flow.py's cached code stale. So the cache lives in a directory named by every kernel file.
_KERNEL_FILES = (
    "jit.py",
    "state.py",
    "sched.py",
    "placement.py",
    "lookahead.py",
    "flow.py",
    "interrupt.py",
    "queues.py",
    "backfill.py",
    "quota.py",
)


@cache
def cache_dir() -> Path:
    """Where the compiled kernel is cached: one directory per version of its source and per
    place it lies. numba keys its cache by each source file's path too, so a copy of planner
    elsewhere (another clone, another environment) compiles its own kernel; a directory of
    its own lets :func:`is_cached` say so."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(str(here).encode())
    for name in _KERNEL_FILES:
        digest.update((here / name).read_bytes())
    base = _config.CACHE_DIR or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "planner-kernel" / digest.hexdigest()[:16]


def is_cached() -> bool:
    """Whether this version of the kernel was compiled on this machine before (numba writes an
    index file per cached function); if not, the first fast run compiles it, for minutes."""
    return any(cache_dir().rglob("*.nbi"))


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode, cached on disk in :func:`cache_dir`."""
    return _cached(_compile, fn)


def kernel_inline(fn: F) -> F:
    """:func:`kernel`, inlined into every caller (see ``_compile_inline``)."""
    return _cached(_compile_inline, fn)


def _cached(compile_: Any, fn: F) -> F:
    # numba picks a function's cache directory when it is decorated, from its configuration.
    saved = _config.CACHE_DIR
    _config.CACHE_DIR = str(cache_dir())
    try:
        return cast(F, compile_(fn))
    finally:
        _config.CACHE_DIR = saved
