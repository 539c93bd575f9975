"""Which scenarios the fast engine runs, and the field that stops it from running the rest."""

from __future__ import annotations

from planner.scenario.schema import Scenario


def unsupported_field(sc: Scenario) -> str | None:
    """The first field the fast engine does not support yet, as ``path=value``, or ``None``.

    The fast engine runs every policy (fifo, priority with aging and preemption, EASY
    backfill, quota with lending and reclaiming) with node failures and repairs and with spot
    tenants, so today no field sends a scenario to the reference engine.
    """
    del sc
    return None
