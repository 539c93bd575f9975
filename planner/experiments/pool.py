"""Local worker processes that stop the moment their parent stops, and die with it.

A pool of processes outlives an interrupted parent unless told otherwise: Ctrl-C reaches every
process in the terminal's group, and ``ProcessPoolExecutor`` then waits for the evaluations in
flight; a parent killed outright leaves its workers running as orphans. Here the workers ignore
SIGINT (the parent decides what an interrupt stops), the parent kills them the moment it leaves
the pool by an exception, and each worker dies with its parent: at once on Linux
(``PR_SET_PDEATHSIG``), within ``WATCH_S`` elsewhere (a thread watching the parent's pid).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

WATCH_S = 0.5
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def map_in_order(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """``fn`` of every task, in order, run here or on ``workers`` local processes (``fn`` and
    the tasks must then pickle). ``progress(done, total)`` is called as each finishes, in
    order. An interrupt stops the workers at once."""
    todo = list(tasks)
    results: list[R] = []

    def finished(result: R) -> None:
        results.append(result)
        if progress is not None:
            progress(len(results), len(todo))

    if workers <= 1 or len(todo) == 1:
        for task in todo:
            finished(fn(task))
    else:
        with local_pool(min(workers, len(todo))) as pool:
            for result in pool.map(fn, todo):
                finished(result)
    return results


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` whose workers are killed if the block raises (an interrupt
    included) and die with this process; a block that ends normally waits for them to finish."""
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),)
    )
    try:
        with _interrupts_held():
            # The workers start now, while an interrupt waits: one interrupted before its
            # initializer ran would die printing "Process ForkProcess-1:" and a traceback.
            for started in [pool.submit(int) for _ in range(workers)]:
                started.result()
        yield pool
    except BaseException:
        stop(pool)
        raise
    pool.shutdown(wait=True)


def stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers now, without waiting for their work."""
    # The executor keeps its processes private; Python 3.14's kill_workers() does the same.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join(timeout=5.0)


def watch_parent(parent_pid: int, every_s: float = WATCH_S) -> None:
    """End this process when ``parent_pid`` is no longer its parent, checked every ``every_s``
    on a daemon thread: the portable way for a worker to die with its parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT back from this thread (and the processes it starts, which inherit the
    mask) until the block ends; then a Ctrl-C that came meanwhile is delivered here."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _start_worker(parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # started with SIGINT held: now it is ignored
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if not _die_with_parent_on_linux():
        watch_parent(parent_pid)
    if os.getppid() != parent_pid:  # the parent died before the worker could ask to follow it
        os._exit(1)


def _die_with_parent_on_linux() -> bool:
    """Ask the kernel to kill this process when its parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False
