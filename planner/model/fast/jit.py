"""How the kernel is compiled: once per machine, then loaded from numba's on-disk cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

# ``_nrt=False``: the kernel allocates nothing (every array is made in Python beforehand), so it
# needs none of numba's reference counting. With it, every call that passes a group of arrays
# increments and decrements each array's count, which took most of the run time.
_compile = njit(cache=True, _nrt=False)  # type: ignore[call-overload]


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode, cached on disk."""
    return cast(F, _compile(fn))
