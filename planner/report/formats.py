"""Numbers as a reader wants them in captions and tables: money abbreviated, shares as
percentages, hours to two decimals, dates as ISO days or months. A column's unit is read from
its name (``_usd``, ``utilisation``, ``wait_h``...), as the project names them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from planner.numbers import finite as finite  # the report's modules read it from here

MISSING = "–"
SHARE_WORDS = ("utilisation", "payback", "capture", "goodput", "share")


def usd(value: Any) -> str:
    """$1.23B, $45.6M, $789K, $12."""
    number = finite(value)
    if number is None:
        return "∞" if _is_inf(value) else MISSING
    sign = "-" if number <= -0.5 else ""
    size = abs(number)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= scale:
            scaled = size / scale
            digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
            return f"{sign}${scaled:,.{digits}f}{suffix}"
    return f"{sign}${size:,.0f}"


def price(value: Any) -> str:
    """A price per GPU-hour: $1.234."""
    number = finite(value)
    return MISSING if number is None else f"${number:,.3f}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage."""
    number = finite(value)
    return MISSING if number is None else f"{number:.{digits}%}"


def hours(value: Any) -> str:
    """Hours to two decimals."""
    number = finite(value)
    if number is None:
        return "∞" if _is_inf(value) else MISSING
    return f"{number:,.2f}"


def num(value: Any) -> str:
    """A plain number: whole numbers with thousands separators, others to 3 significant
    digits (or none after the point above 1,000)."""
    number = finite(value)
    if number is None:
        return "∞" if _is_inf(value) else MISSING
    if number == round(number) or abs(number) >= 1000:
        return f"{number:,.0f}"
    return f"{number:.3g}"


def day(value: Any) -> str:
    """A date as YYYY-MM-DD."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return MISSING
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def month(value: Any) -> str:
    """A month as YYYY-MM."""
    if value is None or value is pd.NaT:
        return MISSING
    return pd.Timestamp(value).strftime("%Y-%m")


def column_format(name: str, series: pd.Series) -> Callable[[Any], str]:
    """How to show the values of column ``name``."""
    lowered = name.lower()
    words = set(re.split(r"[ ._()]+", lowered))
    if pd.api.types.is_datetime64_any_dtype(series):
        return month if "month" in words else day
    if pd.api.types.is_bool_dtype(series):
        return lambda v: "yes" if bool(v) else "no"
    if not pd.api.types.is_numeric_dtype(series):
        return lambda v: (
            MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        )
    if "usd_per_gpu_h" in lowered:
        return price
    if "usd" in words:
        return usd
    if any(word in lowered for word in SHARE_WORDS):
        return pct
    if "gpu" not in words and "h" in words:
        return hours
    return num


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every value formatted as text by its column's unit."""
    shown = pd.DataFrame(index=range(len(frame)))
    for name in frame.columns:
        column = frame[name]
        fmt = column_format(str(name), column)
        shown[str(name)] = [fmt(v) for v in column.tolist()]
    return shown


def _is_inf(value: Any) -> bool:
    try:
        return math.isinf(float(value))
    except (TypeError, ValueError):
        return False
