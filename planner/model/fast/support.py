"""Which scenarios the fast engine runs, and the field that stops it from running the rest."""

from __future__ import annotations

from planner.scenario.schema import Scenario


def unsupported_field(sc: Scenario) -> str | None:
    """The first field the fast engine does not support yet, as ``path=value``, or ``None``.

    The fast engine runs the fifo and priority policies (aging, preemption), with node failures
    and repairs and with spot tenants. A tenant's ``reservation`` is read only by the quota
    policy, so under the others it changes nothing and is supported.
    """
    if sc.scheduler.kind not in ("fifo", "priority"):
        return f"scheduler.kind={sc.scheduler.kind}"
    return None
