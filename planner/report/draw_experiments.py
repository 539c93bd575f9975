"""Drawing experiments' figures from their data: response curves, paired differences from a
baseline point, a search path, a tornado.

Each function returns a matplotlib Figure; matplotlib is imported lazily.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.report.formats import num, price, usd
from planner.report.inputs import PlanData
from planner.report.labels import metric_label, metric_unit, slo_class
from planner.report.plotting import GREY, colour, legend, new_figure, percent_axis, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MEETS, FAILS = "#009E73", "#D55E00"


def draw_response(
    curves: pd.DataFrame,
    x_param: str | None,
    metrics: Sequence[str],
    level: float = 0.95,
    slos: Mapping[str, float] | None = None,
) -> Figure:
    """One panel per metric: the mean at each point with its interval as a band (numeric x) or
    as error bars (categorical x); one line per combination of the other swept parameters; a
    p95 wait's panel with its class's SLO (``slos``, hours by class) as a dashed line."""
    columns = min(len(metrics), 2) or 1
    rows = math.ceil(len(metrics) / columns) or 1
    fig = new_figure(3.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    params = [c for c in curves.columns if str(c).startswith("param.")]
    others = [p for p in params if p != x_param]
    numeric = x_param is not None and pd.api.types.is_numeric_dtype(curves[x_param])
    categories: list[str] = []
    if x_param is not None and not numeric:
        categories = list(dict.fromkeys(curves[x_param].astype(str)))
    for ax, metric in zip(axes, metrics, strict=False):
        mine = curves[curves["metric"] == metric]
        groups = mine.groupby(others, sort=False) if others else [((), mine)]
        for i, (key, group) in enumerate(groups):
            label = _series_label(others, key)
            if x_param is None:
                xs = group["point"].to_numpy(dtype=float)
            elif numeric:
                group = group.sort_values(x_param)
                xs = group[x_param].to_numpy(dtype=float)
            else:
                xs = np.array([categories.index(v) for v in group[x_param].astype(str)], float)
            means = group["mean"].to_numpy(dtype=float)
            low, high = group["low"].to_numpy(dtype=float), group["high"].to_numpy(dtype=float)
            shade = colour(i)
            if numeric:
                ax.plot(xs, means, marker="o", ms=4, color=shade, label=label)
                ax.fill_between(xs, low, high, color=shade, alpha=0.2, linewidth=0)
            else:
                shift = (i - (len(groups) - 1) / 2) * 0.08 if len(groups) > 1 else 0.0
                errors = np.vstack([means - low, high - means])
                ax.errorbar(xs + shift, means, yerr=np.nan_to_num(errors), fmt="o", capsize=4,
                            color=shade, label=label)  # fmt: skip
        if categories:
            ax.set_xticks(range(len(categories)), labels=categories, fontsize=8)
        elif numeric and x_param is not None:
            ticks = np.unique(curves[x_param].to_numpy(dtype=float))
            if len(ticks) <= 12:
                ax.set_xticks(ticks, labels=[num(t) for t in ticks])
        cls = slo_class(metric)
        if slos and cls is not None and cls in slos:
            ax.axhline(slos[cls], color=FAILS, linestyle="--", linewidth=1.2,
                       label=f"SLO {slos[cls]:g} h")  # fmt: skip
            ax.set_ylim(bottom=0)
        style(ax, title=_panel_title(metric))
        _value_axis(ax, metric)
        ax.set_xlabel(_strip(x_param) if x_param else "sweep point", fontsize=9)
        if others or (slos and cls is not None and cls in slos):
            legend(ax)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    shown = "shaded" if numeric else "as error bars"
    fig.suptitle(
        f"mean over replications, {level:.0%} t-interval {shown}", fontsize=9, x=0.01, ha="left"
    )
    return fig


def draw_paired(
    diffs: pd.DataFrame, labels: Sequence[str], metrics: Sequence[str], level: float = 0.95
) -> Figure:
    """One panel per metric: each point's mean difference from the baseline with its interval
    as an error bar, one row per point (``labels``, in point order), zero marked."""
    columns = min(len(metrics), 2) or 1
    rows = math.ceil(len(metrics) / columns) or 1
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(max(2.4, 0.45 * len(labels) + 1.6) * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False, sharey=True).ravel())
    ys = np.arange(len(labels), dtype=float)
    for i, (ax, metric) in enumerate(zip(axes, metrics, strict=False)):
        mine = diffs[diffs["metric"] == metric].sort_values("point")
        means = mine["mean"].to_numpy(dtype=float)
        low, high = mine["low"].to_numpy(dtype=float), mine["high"].to_numpy(dtype=float)
        errors = np.nan_to_num(np.vstack([means - low, high - means]))
        ax.axvline(0.0, color=GREY, linewidth=1)
        ax.errorbar(means, ys, xerr=errors, fmt="o", capsize=4, color=colour(0))
        if i == 0:  # the panels share the points, so the first names them for all
            ax.set_yticks(ys, labels=list(labels), fontsize=8)
            ax.invert_yaxis()
        ax.tick_params(axis="y", labelleft=i % columns == 0)
        style(ax, title=textwrap.fill(_panel_title(metric), 48))
        _value_axis(ax, metric, axis="x")
        ax.xaxis.set_major_locator(MaxNLocator(5))
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"point - baseline, replication by replication: mean and {level:.0%} t-interval",
        fontsize=9, x=0.01, ha="left",
    )  # fmt: skip
    return fig


def draw_decision(path: pd.DataFrame, data: PlanData) -> Figure:
    """The metric against the decision variable: each candidate's mean and interval, green
    where it met the target and red where it failed, numbered in the order tried; the target
    (with its unit), the answer and today's value marked. A price query's objective beneath."""
    with_objective = bool(np.isfinite(path["objective_mean"].to_numpy(dtype=float)).any())
    fig = new_figure(4.6 + (2.4 if with_objective else 0.0))
    axes = np.atleast_1d(fig.subplots(2 if with_objective else 1, 1, sharex=True,
                                      squeeze=False).ravel())  # fmt: skip
    ax = axes[0]
    path = path.sort_values(["candidate", "step"], kind="stable")
    xs = path["candidate"].to_numpy(dtype=float)
    means = path["metric_mean"].to_numpy(dtype=float)
    low, high = path["metric_low"].to_numpy(dtype=float), path["metric_high"].to_numpy(dtype=float)
    meets = path["meets"].to_numpy(dtype=bool)
    finite = np.isfinite(means) & np.isfinite(low) & np.isfinite(high)
    ax.plot(xs[finite], means[finite], color=GREY, linewidth=0.8, zorder=1)
    for ok, shade, label in ((True, MEETS, "meets the target"), (False, FAILS, "fails")):
        sel = finite & (meets == ok)
        if sel.any():
            errors = np.vstack([means[sel] - low[sel], high[sel] - means[sel]])
            ax.errorbar(xs[sel], means[sel], yerr=errors, fmt="o", color=shade, capsize=4,
                        label=label, zorder=2)  # fmt: skip
    if (~finite).any():
        ceiling = float(np.nanmax(np.where(finite, high, np.nan))) if finite.any() else 1.0
        ax.scatter(xs[~finite], np.full(int((~finite).sum()), ceiling), marker="^",
                   color=FAILS, label="unbounded (some replication infinite)")  # fmt: skip
    for x, y, step in zip(xs, np.where(finite, means, np.nan), path["step"], strict=True):
        if np.isfinite(y):
            ax.annotate(f"#{int(step) + 1}", (x, y), xytext=(5, 4), textcoords="offset points",
                        fontsize=7, color="#555555")  # fmt: skip
    unit = metric_unit(data.metric or "")
    shown_unit = f" {unit}" if unit == "h" else ""
    if data.target is not None:
        label = f"target {data.target:g}{shown_unit} (upper bound must be within)"
        ax.axhline(data.target, color="#333333", linestyle="--", linewidth=1.2, label=label)
    fmt = _decision_format(data.unit)
    if data.today is not None:
        ax.axvline(data.today, color=colour(0), linestyle=":", linewidth=1.5,
                   label=f"today {fmt(data.today)}")  # fmt: skip
    if data.answer is not None:
        ax.axvline(data.answer, color=MEETS, linestyle="--", linewidth=1.5,
                   label=f"answer {fmt(data.answer)}")  # fmt: skip
    name = metric_label(data.metric) if data.metric else "metric"
    style(ax, title=f"{name}: mean and interval at each candidate",
          ylabel=f"{name} ({unit})" if unit else name)  # fmt: skip
    targets = [data.target] if data.target else []
    _log_if_wide(ax, np.concatenate([high[finite], targets]))
    legend(ax, loc="best")
    if with_objective:
        objective = axes[1]
        order = np.argsort(xs, kind="stable")
        objective.plot(xs[order], path["objective_mean"].to_numpy(dtype=float)[order],
                       marker="o", color=colour(0))  # fmt: skip
        style(objective, ylabel="objective (mean)")
        _plain_numbers(objective)
    bottom = axes[-1]
    bottom.set_xlabel(_decision_label(data), fontsize=9)
    from matplotlib.ticker import FuncFormatter

    bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
    return fig


def _decision_label(data: PlanData) -> str:
    if not data.variable:
        return "candidate"
    return (
        data.variable if not data.unit or data.unit == "GPUs" else f"{data.variable} ({data.unit})"
    )


def _decision_format(unit: str) -> Callable[[Any], str]:
    """How a value of the decision variable is shown: a grant in $, a price per GPU-hour."""
    if unit == "USD":
        return usd
    if unit == "USD per GPU-hour":
        return price
    return num


def draw_tornado(bars: pd.DataFrame, metric: str | None) -> Figure:
    """Each parameter's span of the metric between its two ends, the end at the low value and
    the end at the high value marked (with their intervals), against the base."""
    fig = new_figure(1.3 + 0.55 * max(2, len(bars)))
    ax = fig.subplots()
    y = np.arange(len(bars))
    base = float(bars["base"].iloc[0]) if len(bars) else 0.0
    ax.barh(y, bars["right"] - bars["left"], left=bars["left"], color="#d9d9d9", height=0.5)
    for column, half, marker, shade, label in (
        ("at_low", "at_low_half_width", "o", colour(0), "at the low value"),
        ("at_high", "at_high_half_width", "D", colour(1), "at the high value"),
    ):
        ax.errorbar(
            bars[column],
            y,
            xerr=np.nan_to_num(bars[half].to_numpy(dtype=float)),
            fmt=marker,
            color=shade,
            capsize=3,
            label=label,
        )
    ax.axvline(base, color="#333333", linewidth=1.0, label=f"base {base:,.4g}")
    labels = [
        f"{p}\n{lo} → {hi}"
        for p, lo, hi in zip(bars["parameter"], bars["low_value"], bars["high_value"], strict=True)
    ]
    ax.set_yticks(y, labels=labels, fontsize=8)
    ax.set_ylim(len(bars) - 0.5, -0.5)
    style(ax)
    ax.set_xlabel(metric or "metric", fontsize=9)
    _value_axis(ax, metric or "", "x")
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right upper", fontsize=8, frameon=False)
    return fig


def _panel_title(metric: str) -> str:
    """A panel's title: the metric's readable name and its unit."""
    unit = metric_unit(metric)
    return (
        f"{metric_label(metric)} ({'hours' if unit == 'h' else unit})"
        if unit
        else (metric_label(metric))
    )


def _value_axis(ax: Axes, metric: str, axis: str = "y") -> None:
    """Percentages for shares, $ for money, hours for waits, by the metric's name."""
    from matplotlib.ticker import FuncFormatter

    words = set(metric.replace(".", "_").split("_"))
    target = ax.yaxis if axis == "y" else ax.xaxis
    if any(w in metric for w in ("utilisation", "share", "payback", "capture", "goodput")):
        percent_axis(ax, axis)
    elif "usd" in words:
        target.set_major_formatter(FuncFormatter(lambda v, _: usd(v)))
    elif "h" in words and "gpu" not in words:
        current = target.get_label_text()
        target.set_label_text(f"{current} (hours)" if current else "hours", fontsize=9)


def _plain_numbers(ax: Axes) -> None:
    """y tick labels as whole numbers with separators (no 1e8 offset) when they are large."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: num(v)))


def _series_label(others: Sequence[str], key: object) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{_strip(p)}={v}" for p, v in zip(others, values, strict=False))


def _strip(param: str) -> str:
    return param.removeprefix("param.")


def _log_if_wide(ax: Axes, values: NDArray[np.float64]) -> None:
    """A symmetric log scale when the values span over two decades, so that candidates far
    past the target do not flatten the ones near it."""
    positive = values[np.isfinite(values) & (values > 0)]
    if len(positive) and positive.max() > 100 * positive.min():
        ax.set_yscale("symlog", linthresh=float(positive.min()))
        if (values[np.isfinite(values)] >= 0).all():
            ax.set_ylim(bottom=0, top=float(positive.max()) * 3)
