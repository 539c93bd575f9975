"""Calendar months: the months a run covers, runs cut at month edges, and each piece's revenue.

These are the pieces that money by calendar month (:mod:`planner.analysis.ledger`) is built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from planner.analysis.columns import FloatArray
from planner.analysis.runs import Charges, Segments, _list_revenue_usd
from planner.model.record import RunRecord
from planner.scenario.schema import Scenario


@dataclass(frozen=True)
class Months:
    """The calendar months a run covers: month k is [edges_h[k], edges_h[k+1]).

    The first runs from the scenario's start, the last to the horizon; either may be partial.
    """

    first_day: list[date]  # the 1st of each month, even when the run starts later in it
    edges_h: FloatArray

    def of(self, t_h: FloatArray) -> NDArray[np.int64]:
        """The month each time falls in (times at the horizon count in the last month)."""
        k = np.searchsorted(self.edges_h, t_h, side="right") - 1
        return np.asarray(np.clip(k, 0, len(self.first_day) - 1), dtype=np.int64)


def calendar_months(sc: Scenario) -> Months:
    """The calendar months from ``sc``'s start to its horizon."""
    days = [sc.start.replace(day=1)]
    while (after := (days[-1] + timedelta(days=32)).replace(day=1)) < sc.end:
        days.append(after)
    inner = [sc.hours_since_start(day) for day in days[1:]]
    return Months(days, np.array([0.0, *inner, sc.horizon_h], dtype=np.float64))


@dataclass(frozen=True)
class Pieces:
    """Segments cut at month edges: piece i is the part of segment ``seg[i]`` in ``month[i]``."""

    seg: NDArray[np.int64]
    month: NDArray[np.int64]
    from_h: FloatArray
    to_h: FloatArray


def month_pieces(seg: Segments, edges_h: FloatArray) -> Pieces:
    """Cut every segment at the month edges (most lie inside one month and stay whole)."""
    last_month = len(edges_h) - 2
    first = np.clip(np.searchsorted(edges_h, seg.from_h, side="right") - 1, 0, last_month)
    last = np.clip(np.searchsorted(edges_h, seg.to_h, side="left") - 1, 0, last_month)
    count = np.maximum(last - first + 1, 1)
    owner = np.repeat(np.arange(len(count), dtype=np.int64), count)
    rank = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    month = first[owner] + rank
    from_h = np.maximum(seg.from_h[owner], edges_h[month])
    to_h = np.maximum(from_h, np.minimum(seg.to_h[owner], edges_h[month + 1]))
    return Pieces(owner, month, from_h, to_h)


def piece_revenue_usd(
    record: RunRecord,
    seg: Segments,
    paid: Charges,
    owner: NDArray[np.int64],
    from_h: FloatArray,
    to_h: FloatArray,
) -> FloatArray:
    """Revenue of segment ``owner[i]``'s GPUs over [from_h[i], to_h[i]) at its cohort's price
    and its tier (zero for internal tenants, and before the segment starts to pay)."""
    # A piece that is its whole segment earns the segment's revenue and one that pays for
    # nothing earns nothing: only the others are integrated.
    revenue = seg.revenue_usd[owner]
    whole = (from_h == seg.from_h[owner]) & (to_h == seg.to_h[owner])
    paid_from_h = np.maximum(from_h, paid.charged_from_h[owner])
    revenue[~whole & (to_h <= paid_from_h)] = 0.0
    part = np.flatnonzero(~whole & (to_h > paid_from_h))
    of = owner[part]
    revenue[part] = (
        _list_revenue_usd(
            record, seg.cohort[of], seg.gpus[of], paid.charged[of], paid_from_h[part], to_h[part]
        )
        * paid.price_factor[of]
    )
    return revenue
