"""Book value: a cohort's capex written down straight-line, and written off at obsolescence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.analysis.columns import FloatArray
from planner.model.record import RunRecord
from planner.scenario.schema import HOURS_PER_YEAR


@dataclass(frozen=True)
class BookValue:
    """A cohort's book value: ``capex_usd`` written down straight-line from ``acquired_h`` to zero
    over ``life_h``; whatever is left when it becomes obsolete is written off at that moment.

    Times are hours since the scenario's start; arrays in, arrays out.
    """

    capex_usd: float
    acquired_h: float
    life_h: float
    obsolete_at_h: float  # never before acquired_h

    def straight_line_usd(self, t_h: FloatArray) -> FloatArray:
        """Capex less depreciation up to ``t_h``, ignoring obsolescence (capex until acquired)."""
        left = np.clip(1.0 - (np.asarray(t_h) - self.acquired_h) / self.life_h, 0.0, 1.0)
        return np.asarray(self.capex_usd * left, dtype=np.float64)

    @property
    def at_obsolescence_usd(self) -> float:
        """Book value when the cohort becomes obsolete: what is written off, stranded."""
        return float(self.straight_line_usd(np.array(self.obsolete_at_h)))

    def book_value_usd(self, t_h: FloatArray) -> FloatArray:
        """Book value carried at ``t_h``: zero until acquired, straight-line, zero once written
        off. At the instant of acquisition or write-off the value is the one just before."""
        t = np.asarray(t_h, dtype=np.float64)
        carried = (t > self.acquired_h) & (t <= self.obsolete_at_h)
        return np.where(carried, self.straight_line_usd(t), 0.0)

    def capex_spent_usd(self, from_h: FloatArray, to_h: FloatArray) -> FloatArray:
        """Capex of an acquisition inside each [from_h, to_h)."""
        inside = (from_h <= self.acquired_h) & (self.acquired_h < to_h)
        return np.where(inside, self.capex_usd, 0.0)

    def depreciation_usd(self, from_h: FloatArray, to_h: FloatArray) -> FloatArray:
        """Straight-line depreciation over each [from_h, to_h), while acquired and not obsolete."""
        lo = np.clip(from_h, self.acquired_h, self.obsolete_at_h)
        hi = np.clip(to_h, self.acquired_h, self.obsolete_at_h)
        return self.straight_line_usd(lo) - self.straight_line_usd(hi)

    def written_off_usd(self, from_h: FloatArray, to_h: FloatArray) -> FloatArray:
        """Book value written off at obsolescence, if that falls inside each [from_h, to_h)."""
        inside = (from_h <= self.obsolete_at_h) & (self.obsolete_at_h < to_h)
        return np.where(inside, self.at_obsolescence_usd, 0.0)


def book_value(record: RunRecord, cohort: int) -> BookValue:
    """The book value of cohort ``cohort`` of a run, over the market's book life."""
    c, price = record.cohorts[cohort], record.prices[cohort]
    return BookValue(
        capex_usd=c.gpus * c.unit_capex_usd,
        acquired_h=c.in_service_h,
        life_h=record.scenario.market.book_life_years * HOURS_PER_YEAR,
        obsolete_at_h=price.obsolete_at_h,
    )


def stranded_book_value_usd(book: BookValue, horizon_h: float, revenue_usd: float) -> float:
    """Book value stranded by obsolescence, or at risk of it at the horizon.

    Obsolete within the horizon: the book value written off at obsolescence. Still in service at
    the horizon: the part of its book value then that revenue to date has not earned back (zero
    once revenue covers capex; the whole book value if it earned nothing).
    """
    if book.obsolete_at_h < horizon_h:
        return book.at_obsolescence_usd
    on_books = float(book.book_value_usd(np.array(horizon_h)))
    return min(on_books, max(0.0, book.capex_usd - revenue_usd))
