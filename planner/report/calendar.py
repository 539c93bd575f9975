"""Simulated hours as calendar dates and months, for figure axes and monthly tables."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def timestamps(start: date, t_h: ArrayLike) -> pd.Series:
    """The moment ``t_h`` hours after the scenario's ``start`` (midnight), as timestamps."""
    hours = pd.to_timedelta(np.asarray(t_h, dtype=np.float64), unit="h")
    return pd.Series(pd.Timestamp(start) + hours)


def month_start(moments: pd.Series) -> pd.Series:
    """The first day of each moment's calendar month."""
    months = pd.to_datetime(moments).dt.to_period("M").dt.to_timestamp()
    return pd.Series(months, index=moments.index, name=moments.name)


def as_dates(values: pd.Series) -> pd.Series:
    """A column of dates (``datetime.date`` objects or ISO strings) as timestamps."""
    return pd.to_datetime(values.astype(str))


def day(start: date, t_h: float) -> pd.Timestamp:
    """The calendar day ``t_h`` hours after ``start``."""
    return (pd.Timestamp(start) + pd.Timedelta(hours=t_h)).normalize()
