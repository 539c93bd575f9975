"""Readable names for the headline metrics, shown instead of their summary keys in tables,
panel titles and captions; a metric without one is shown by its key."""

from __future__ import annotations

METRIC_LABELS: dict[str, str] = {
    "utilisation": "utilisation",
    "wait_mean_h.all": "mean wait, all",
    "wait_p95_h.paying": "p95 wait, paying",
    "wait_p95_h.credit": "p95 wait, credit",
    "wait_p95_h.internal": "p95 wait, internal",
    "wait_p95_h_offered.paying": "p95 wait offered, paying",
    "wait_p95_h_offered.credit": "p95 wait offered, credit",
    "wait_p95_h_offered.internal": "p95 wait offered, internal",
    "jobs_finished": "jobs finished",
    "jobs_queued_at_horizon": "jobs queued at horizon",
    "preemptions": "preemptions",
    "stranded_free_share": "free GPUs no waiting job fits",
    "revenue_usd": "revenue",
    "revenue_usd.reserved": "revenue, reserved tier",
    "revenue_usd.on_demand": "revenue, on-demand tier",
    "revenue_usd.spot": "revenue, spot tier",
    "capex_monetised_share": "capex earned back, gross, to obsolescence or horizon",
    "npv_usd": "NPV at the cost of capital",
}


def metric_label(metric: str) -> str:
    """The metric's readable name, or its key when it has none."""
    return METRIC_LABELS.get(metric, metric)


def metric_unit(metric: str) -> str:
    """The unit of a metric's values, read from its key: ``h`` for hours, ``USD``, or ``""``
    (shares, counts)."""
    words = set(metric.replace(".", "_").split("_"))
    if "usd" in words:
        return "USD"
    if "h" in words and "gpu" not in words:
        return "h"
    return ""


def slo_class(metric: str) -> str | None:
    """The tenant class whose p95 wait SLO applies to ``metric`` (``wait_p95_h.paying`` and
    ``wait_p95_h_offered.paying`` both give ``paying``), or None."""
    kind, _, cls = metric.rpartition(".")
    return cls if kind in ("wait_p95_h", "wait_p95_h_offered") and cls else None
