"""Which scenarios the fast engine runs, and the field that stops it from running the rest."""

from __future__ import annotations

from planner.scenario.schema import QuotaScheduler, Scenario


def unsupported_field(sc: Scenario) -> str | None:
    """The first field the fast engine does not support yet, as ``path=value``, or ``None``.

    The fast engine runs the fifo and priority policies (aging, preemption) with node failures
    and repairs and with spot tenants, and the EASY backfill and quota policies without them
    (nothing is ever cut short under those two yet); for the same reason a quota scheduler
    that lends reserved GPUs and reclaims them (by preempting the borrowers) is not supported,
    while lending without reclaiming, or not lending, is. A tenant's ``reservation`` is read
    only by the quota policy, so under the others it changes nothing and is supported.
    """
    spec = sc.scheduler
    if spec.kind in ("fifo", "priority"):
        return None
    if isinstance(spec, QuotaScheduler) and spec.lend and spec.reclaim:
        return "scheduler.reclaim=true"
    if sc.failures is not None:
        return "failures"
    for tenant in sc.tenants:
        if tenant.tier == "spot":
            return f"tenants.{tenant.name}.tier=spot"
    return None
