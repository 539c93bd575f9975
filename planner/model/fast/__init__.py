"""The fast engine: the job flow compiled with numba, the business events in SimPy.

The reference engine (:class:`planner.model.engine.Model`) is the specification: on the same
scenario, seed and replication the fast engine records the same runs in the same order, so
every table is identical. It reuses the reference engine's build phase and business events and
replaces the per-job work (arrivals, the scheduler pass, placement, starts, ends, preemption,
runs cut short by failures, balking and churn, credit gating and draws) with compiled
functions on preallocated arrays:

- :mod:`~planner.model.fast.state`: the arrays, grouped by concept, built from a built Model;
- :mod:`~planner.model.fast.placement`: node and pod placement (planner.model.fleet's rules);
- :mod:`~planner.model.fast.flow`: the job flow between two business events, and the FIFO pass;
- :mod:`~planner.model.fast.sched`: the arrays of the policies beyond FIFO;
- :mod:`~planner.model.fast.backfill`, :mod:`~planner.model.fast.quota`: those policies;
- :mod:`~planner.model.fast.queues`: the queues of fifo and priority when runs can be cut
  short, and the search for runs to preempt;
- :mod:`~planner.model.fast.interrupt`: runs cut short by failures and preemption, nodes
  failing and coming back;
- :mod:`~planner.model.fast.lookahead`: where a job would fit after running jobs end;
- :mod:`~planner.model.fast.driver`: :class:`FastModel`, which interleaves the two;
- :mod:`~planner.model.fast.jit`: how the kernel is compiled and cached;
- :mod:`~planner.model.fast.support`: which scenarios it runs.

numba is imported only when a fast model is built, so ``import planner`` stays light.
"""

from __future__ import annotations

import warnings
from typing import Literal

from planner.errors import RUNNING, Problem, ScenarioError
from planner.heap import keep_freed_memory
from planner.model.demand import JobBatch
from planner.model.engine import Model
from planner.model.fast.support import unsupported_field
from planner.scenario.schema import Scenario

Engine = Literal["auto", "reference", "fast"]

__all__ = [
    "Engine",
    "EngineFallback",
    "KernelCompiling",
    "UnsupportedByFastEngine",
    "build_model",
    "unsupported_field",
]


class EngineFallback(UserWarning):
    """``engine="auto"`` ran the reference engine because the fast one lacks a feature."""


class KernelCompiling(UserWarning):
    """The fast engine's kernel is not in this machine's cache yet: this run compiles it."""


class UnsupportedByFastEngine(ScenarioError):
    """``engine="fast"`` was asked for a scenario that uses a feature it lacks (bad input: the
    command line reports it with the file and exit status 2)."""


def build_model(
    sc: Scenario,
    seed: int = 0,
    *,
    jobs: JobBatch | None = None,
    replication: int = 0,
    engine: Engine | None = None,
) -> Model:
    """A model of one replication on ``engine`` (default: the scenario's ``engine`` field).

    ``auto`` takes the fast engine when it supports the scenario, else the reference engine
    with an :class:`EngineFallback` warning naming the field; ``fast`` raises
    :class:`UnsupportedByFastEngine` instead. A fast model whose kernel this machine has not
    compiled yet warns :class:`KernelCompiling` first, so a long first run is not silent.
    Either engine keeps freed memory in the process for the next run
    (:func:`planner.heap.keep_freed_memory`).
    """
    keep_freed_memory()
    choice = engine or sc.engine
    if choice == "reference":
        return Model(sc, seed, jobs=jobs, replication=replication)
    field = unsupported_field(sc)
    if field is not None:
        why = f"the fast engine does not support {field} yet"
        if choice == "fast":
            raise UnsupportedByFastEngine(
                RUNNING, [Problem("engine", f"{why}; use 'auto' or 'reference'")]
            )
        warnings.warn(f"{why}: running the reference engine", EngineFallback, stacklevel=3)
        return Model(sc, seed, jobs=jobs, replication=replication)
    from planner.model.fast.jit import cache_dir, is_cached

    if not is_cached():
        warnings.warn(
            "compiling the fast engine for this machine, once: this run takes 2-3 minutes "
            f"longer, later ones load it from {cache_dir()}",
            KernelCompiling,
            stacklevel=3,
        )
    from planner.model.fast.driver import FastModel

    return FastModel(sc, seed, jobs=jobs, replication=replication)
