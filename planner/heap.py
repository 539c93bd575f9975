"""How a planner process's memory is served on Linux: freed memory kept for the next run, and
no huge pages asked for.

A run's table phase allocates and frees arrays of a million rows many times over. glibc serves
an array of a few MiB with a fresh ``mmap`` and unmaps it when freed, and trims its heap as
it shrinks, so every run faults its memory in again page by page. On a virtual machine that
costs: a million-job fifo run made 190,000 page faults, and its first run in a process took
about 1.2 s where a run on memory already mapped took 0.7 s. Serving arrays up to 32 MiB
(glibc's largest mmap threshold) from the heap and never trimming it lets each later array
reuse pages already mapped. The price is that the process keeps about its largest run's
peak memory after the run: a planner process runs many simulations (replications, sweeps,
searches), and the memory is its own to reuse.

numpy advises the kernel to back every array of 4 MiB or more with transparent huge pages.
Where the kernel honours that advice by compacting memory on the spot (``defrag`` set to
``madvise``, a common default), the first touch of such an array stalls; and the advice stays
on heap memory after the array is freed, so it reaches later arrays too. The first table phase
of an ``alibaba-2024`` run spent 0.56 s in the kernel with the advice and 0.04 s without it;
later runs in the process took the same time either way. So planner turns it off, unless
``NUMPY_MADVISE_HUGEPAGE`` in the environment says what the user wants.

``PLANNER_KEEP_FREED_MEMORY=0`` in the environment leaves both as they were. Elsewhere than
glibc (macOS, musl) malloc is not changed; elsewhere than Linux numpy gives no such advice.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt(3) parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's ceiling for it on 64-bit machines
NEVER_TRIM_BYTES = 2**31 - 1  # the largest value the int parameter takes

_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc's malloc, once per process, to keep freed memory for reuse, and numpy not to
    ask for huge pages (see the module's notes); return whether malloc keeps it (False off
    glibc or where ``PLANNER_KEEP_FREED_MEMORY=0``)."""
    global _kept
    if _kept is None:
        _kept = _tune_malloc()
        if os.environ.get("PLANNER_KEEP_FREED_MEMORY", "1") != "0":
            _no_huge_page_advice()
    return _kept


def _no_huge_page_advice() -> None:
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:  # the user's choice stands
        return
    import numpy as np

    # Private but long-lived (numpy 1.19 on), and what that variable sets at import.
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    set_advice = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if set_advice is not None:
        set_advice(False)


def _tune_malloc() -> bool:
    if os.environ.get("PLANNER_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc's own: musl has no such function
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Each returns 1 on success.
    served: bool = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    kept: bool = mallopt(M_TRIM_THRESHOLD, NEVER_TRIM_BYTES) == 1
    return served and kept
