"""Table data: each state directive and the reservation it holds for each of its tenants, with
the p95 wait that tenant saw. A table beneath the waits figure."""

from __future__ import annotations

import pandas as pd

from planner.scenario import Scenario
from planner.scenario.directives import expand

COLUMNS = (
    "directive",
    "from",
    "until",
    "gpu_model",
    "region",
    "share",
    "tenant",
    "reserved_gpus",
    "pool_gpus",
    "tenant_wait_p95_h",
    "source",
)


def directives_table(sc: Scenario, tenants: pd.DataFrame) -> pd.DataFrame:
    """One row per (directive, tenant): the pool, the share, the GPUs reserved out of the pool's
    GPUs installed by the directive's date, and the tenant's p95 wait over the horizon (from the
    ``tenants`` table)."""
    wait = dict(zip(tenants["tenant"], tenants["wait_p95_h"], strict=True)) if len(tenants) else {}
    rows = []
    for h in expand(sc):
        d, r = sc.directives[h.directive], h.reservation
        rows.append(
            {
                "directive": d.name,
                "from": d.date.isoformat(),
                "until": (r.end or sc.end).isoformat(),
                "gpu_model": d.model,
                "region": d.region,
                "share": d.share,
                "tenant": h.tenant,
                "reserved_gpus": r.gpus,
                "pool_gpus": h.pool_gpus,
                "tenant_wait_p95_h": wait.get(h.tenant, float("nan")),
                "source": d.source,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
