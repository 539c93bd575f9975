"""Compiling the kernel ahead of a first real run: for an image build, a CI job, a new machine.

numba compiles a kernel function on its first call, so which functions a run compiles depends on
what the scenario uses (node failures call functions that a failure-free run never does). Running
every built-in scenario's event loop once calls all of them: between them the built-in scenarios
use every policy, node failures with spares, retirements and warm starts. What is compiled is
written to the on-disk cache (:mod:`planner.model.fast.jit`), where every later run finds it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Compiled:
    """What :func:`compile_kernel` did."""

    cache_dir: Path
    was_cached: bool  # the kernel was in the cache already: nothing new was compiled
    scenarios: tuple[str, ...]  # the built-in scenarios whose event loops were run
    elapsed_s: float


def compile_kernel(on_scenario: Callable[[str], None] | None = None) -> Compiled:
    """Run the event loop of every built-in scenario on the fast engine (seed 0), which compiles
    every kernel function that is not in this machine's cache yet; ``on_scenario(name)`` is
    called before each. Built-in scenarios the fast engine does not support are skipped."""
    from planner.model.fast import KernelCompiling, build_model, unsupported_field
    from planner.model.fast.jit import cache_dir, is_cached
    from planner.scenario import builtin_names, load_scenario

    began_s = time.perf_counter()
    was_cached = is_cached()
    ran = []
    for name in builtin_names():
        scenario = load_scenario(name)
        if unsupported_field(scenario) is not None:
            continue
        if on_scenario is not None:
            on_scenario(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KernelCompiling)  # compiling is the point here
            build_model(scenario, 0, engine="fast").run()
        ran.append(name)
    return Compiled(cache_dir(), was_cached, tuple(ran), time.perf_counter() - began_s)
