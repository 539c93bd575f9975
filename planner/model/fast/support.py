"""Which scenarios the fast engine runs, and the field that stops it from running the rest."""

from __future__ import annotations

from planner.scenario.schema import Scenario


def unsupported_field(sc: Scenario) -> str | None:
    """The first field the fast engine does not support yet, as ``path=value``, or ``None``.

    The fast engine runs the FIFO policy without node failures and without spot tenants (so
    nothing is ever preempted). A tenant's ``reservation`` is read only by the quota policy, so
    under FIFO it changes nothing and is supported.
    """
    if sc.scheduler.kind != "fifo":
        return f"scheduler.kind={sc.scheduler.kind}"
    if sc.failures is not None:
        return "failures"
    for tenant in sc.tenants:
        if tenant.tier == "spot":
            return f"tenants.{tenant.name}.tier=spot"
    return None
