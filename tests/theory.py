"""Closed-form queueing results used as the reference in the statistical validation suite.

Only textbook M/M/c formulas live here; they are independent of the engine, so a test that checks
the engine against them validates the engine. Rates are per hour and times in hours, like the
rest of the project, but the formulas are unit-free.

Notation: ``c`` servers (GPUs), arrival rate ``lam``, service rate ``mu`` per server, offered load
``a = lam / mu`` (Erlangs) and utilisation ``rho = a / c``. All formulas need ``rho < 1``.
"""

from __future__ import annotations

import math


def erlang_b(c: int, a: float) -> float:
    """Erlang B: the blocking probability of an M/M/c/c loss system with offered load ``a``.

    Uses the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``, which never forms
    ``a**c`` or ``c!`` and so stays accurate for thousands of servers.
    """
    if c < 0 or c != int(c):
        raise ValueError(f"c must be a non-negative integer, got {c!r}")
    if a < 0 or not math.isfinite(a):
        raise ValueError(f"a must be finite and non-negative, got {a!r}")
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C: the probability that an arrival to a stable M/M/c queue has to wait.

    Computed from Erlang B as ``C = c B / (c - a (1 - B))``, which is stable for large ``c``.
    Requires ``c >= 1`` and ``0 <= a < c``.
    """
    if c < 1:
        raise ValueError(f"an M/M/c queue needs c >= 1, got {c!r}")
    if not a < c:
        raise ValueError(f"the queue is unstable: offered load a={a!r} is not below c={c!r}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def _check_rates(c: int, lam: float, mu: float) -> None:
    if lam < 0 or mu <= 0:
        raise ValueError(f"need lam >= 0 and mu > 0, got lam={lam!r}, mu={mu!r}")
    if not lam < c * mu:
        raise ValueError(f"the queue is unstable: lam={lam!r} is not below c*mu={c * mu!r}")


def mmc_p_wait(c: int, lam: float, mu: float) -> float:
    """P(wait > 0) for an arrival to M/M/c in steady state (PASTA): ``erlang_c(c, lam/mu)``."""
    _check_rates(c, lam, mu)
    return erlang_c(c, lam / mu)


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean time in queue (before service) of M/M/c with FIFO: ``C / (c mu - lam)``."""
    _check_rates(c, lam, mu)
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_mean_queue_length(c: int, lam: float, mu: float) -> float:
    """Time-average number of customers waiting (not in service), by Little's law: ``lam Wq``."""
    return lam * mmc_mean_wait(c, lam, mu)


def mmc_wait_tail(c: int, lam: float, mu: float, t: float) -> float:
    """P(wait > t) under FIFO: ``C exp(-(c mu - lam) t)`` for ``t >= 0``."""
    if t < 0:
        raise ValueError(f"t must be non-negative, got {t!r}")
    _check_rates(c, lam, mu)
    return erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)
