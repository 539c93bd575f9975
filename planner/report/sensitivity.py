"""Figure data: a tornado chart's bars, each parameter's metric at its low and high value
against the base, widest swing first."""

from __future__ import annotations

import pandas as pd

BAR_COLUMNS = (
    "parameter",
    "low_value",
    "high_value",
    "base",
    "at_low",
    "at_high",
    "swing",
    "left",
    "right",
    "at_low_half_width",
    "at_high_half_width",
)


def tornado_bars(table: pd.DataFrame) -> pd.DataFrame:
    """One bar per parameter, from the smaller to the larger of its two ends (``left``,
    ``right``), sorted by swing, widest first, as a tornado chart stacks them."""
    frame = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    low, high = frame["at_low"].astype(float), frame["at_high"].astype(float)
    out = pd.DataFrame(
        {
            "parameter": frame["parameter"].astype(str),
            "low_value": frame["low_value"].astype(str) if "low_value" in frame else "",
            "high_value": frame["high_value"].astype(str) if "high_value" in frame else "",
            "base": frame["base"].astype(float),
            "at_low": low,
            "at_high": high,
            "swing": frame["swing"].astype(float),
            "left": low.where(low <= high, high),
            "right": high.where(low <= high, low),
            "at_low_half_width": _column(frame, "at_low_half_width"),
            "at_high_half_width": _column(frame, "at_high_half_width"),
        }
    )
    return out[list(BAR_COLUMNS)]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A float column, NaN where the table has none."""
    if name in frame:
        return frame[name].astype(float)
    return pd.Series(float("nan"), index=frame.index)
