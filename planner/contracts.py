"""Take-or-pay contracts: reserved GPUs a tenant pays for over a term, used or not.

A reservation with ``take_or_pay`` (see :class:`planner.scenario.schema.TakeOrPay`) is paid in
cash at a fixed price for every reserved GPU-hour of its term inside the horizon; the tenant's
runs that the quota scheduler placed inside the reservation are covered by it and pay nothing
more until the term ends, and list price for any hours after it
(:func:`planner.analysis.runs.charges`). Like a lease, the contract is settled after the
run: it never changes who ran when (the quota scheduler holds the GPUs whether or not a
reservation is paid for).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.scenario.schema import Scenario

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Contract:
    """Tenant ``tenant`` pays ``gpus`` x ``usd_per_gpu_h`` per hour over [from_h, to_h) (its
    term clipped to the horizon) for GPUs of ``model`` in ``region``."""

    tenant: int
    model: str
    region: str
    gpus: int
    from_h: float
    to_h: float
    usd_per_gpu_h: float

    def usd_over(self, edges_h: FloatArray) -> FloatArray:
        """What the contract pays in each interval [edges_h[k], edges_h[k+1])."""
        lo = np.clip(edges_h[:-1], self.from_h, self.to_h)
        hi = np.clip(edges_h[1:], self.from_h, self.to_h)
        return np.asarray(self.gpus * self.usd_per_gpu_h * (hi - lo), dtype=np.float64)


def contracts(sc: Scenario) -> list[Contract]:
    """Every take-or-pay contract of ``sc``, in tenant order."""
    found = []
    for i, tenant in enumerate(sc.tenants):
        r = tenant.reservation
        if r is None or r.take_or_pay is None:
            continue
        from_h = min(max(0.0, sc.hours_since_start(r.start or sc.start)), sc.horizon_h)
        to_h = min(max(from_h, sc.hours_since_start(r.end or sc.end)), sc.horizon_h)
        found.append(
            Contract(i, r.model, r.region, r.gpus, from_h, to_h, r.take_or_pay.price_usd_per_gpu_h)
        )
    return found


def covered_until_h(sc: Scenario) -> FloatArray:
    """Per tenant: until when a take-or-pay contract covers its runs inside its reservation,
    the end of the contract's term (-inf for a tenant without one: never covered)."""
    until_h = np.full(len(sc.tenants), -np.inf)
    for contract in contracts(sc):
        until_h[contract.tenant] = contract.to_h
    return until_h
