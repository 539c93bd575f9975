"""Drawing a run's figures from their data (see the figure-data modules); each returns a PNG.

Nothing is computed here beyond placing what the data says; matplotlib is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner.report.fleet import EVENT_KINDS
from planner.report.plotting import (
    GREY,
    at,
    colour,
    date_axis,
    legend,
    new_figure,
    percent_axis,
    png,
    style,
    usd_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.ticker import Formatter

EVENT_STYLE = {
    "export control": ("#D55E00", "-"),
    "delivery": ("#009E73", "--"),
    "order stopped": ("#CC79A7", ":"),
    "successor launch": ("#7f7f7f", "-."),
}
CLASS_ORDER = ("paying", "credit", "internal", "wholesale", "all")


def draw_in_service(series: pd.DataFrame, events: pd.DataFrame) -> bytes:
    """Stacked GPUs in service by model, events as vertical lines, labelled in lanes below."""
    fig = new_figure(6.4)
    top, lane = fig.subplots(2, 1, sharex=True, height_ratios=[3.0, 1.3])
    wide = series.pivot_table(
        index="date", columns="gpu_model", values="in_service_gpus", aggfunc="sum", sort=True
    ).fillna(0.0)
    if len(wide.columns):
        top.stackplot(
            wide.index.to_numpy(),
            *(wide[m].to_numpy() for m in wide.columns),
            labels=[str(m) for m in wide.columns],
            colors=[colour(i) for i in range(len(wide.columns))],
            alpha=0.85,
            step="post",  # a day's average holds for the whole day
        )
    for rec in events.to_dict("records"):
        shade, line = EVENT_STYLE[str(rec["kind"])]
        top.axvline(at(rec["date"]), color=shade, linestyle=line, linewidth=1.0, alpha=0.8)
    style(top, ylabel="GPUs in service")
    top.yaxis.set_major_formatter(_thousands())
    legend(top, loc="upper left", ncols=max(1, len(wide.columns)))
    _event_lanes(lane, events, wide.index)
    date_axis(lane)
    return png(fig)


def _event_lanes(
    ax: Axes,
    events: pd.DataFrame,
    dates: pd.Index,
    kinds: Sequence[str] = EVENT_KINDS,
    styles: Mapping[str, tuple[str, str]] = EVENT_STYLE,
) -> None:
    """One lane per event kind; labels alternate between two heights where they would touch."""
    shown = [k for k in kinds if (events["kind"] == k).any()] or list(kinds)
    ax.set_ylim(-0.6, len(shown) - 0.2)
    ax.set_yticks(range(len(shown)), labels=shown[::-1], fontsize=8)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.grid(True, axis="x", color="#eeeeee")
    first = pd.Timestamp(dates.min()) if len(dates) else pd.Timestamp(0)
    last = pd.Timestamp(dates.max()) if len(dates) else first
    span_days = max(1.0, (last - first).days)
    if len(dates):
        ax.set_xlim(at(first), at(last))
    # About 0.065 inch per character at 7 pt on a 10-inch-wide axis.
    days_per_char = span_days * 0.065 / 10.0
    for row, kind in enumerate(shown[::-1]):
        shade, _ = styles[kind]
        ends = [-np.inf, -np.inf]
        for rec in events[events["kind"] == kind].to_dict("records"):
            when, label = pd.Timestamp(rec["date"]), str(rec["label"])
            x_days = (when - first).days
            level = 0 if x_days > ends[0] else 1 if x_days > ends[1] else 0
            ends[level] = x_days + (len(label) + 2) * days_per_char
            y = row + (0.18 if level == 0 else -0.22)
            ax.plot([at(when)], [y], marker="^" if kind == "delivery" else "v", color=shade, ms=5)
            ax.annotate(
                label,
                (at(when), y),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
                color="#333333",
            )


def draw_utilisation(monthly: pd.DataFrame, fleet: pd.DataFrame) -> bytes:
    """Monthly utilisation per pool, with the fleet's as a thick grey line."""
    fig = new_figure(4.2)
    ax = fig.subplots()
    for i, (pool, group) in enumerate(monthly.groupby("pool", sort=True)):
        ax.plot(
            group["month"],
            group["utilisation"],
            marker="o",
            ms=3,
            linewidth=1.3,
            color=colour(i),
            label=str(pool),
        )
    ax.plot(fleet["month"], fleet["utilisation"], color=GREY, linewidth=3, alpha=0.5, label="fleet")
    ax.set_ylim(0, 1.05)
    style(ax, ylabel="utilisation (busy / in-service GPU-hours)")
    percent_axis(ax)
    date_axis(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    return png(fig)


def draw_waits(monthly: pd.DataFrame, slos: Mapping[str, float]) -> bytes:
    """Monthly p95 (solid) and p50 (dashed) waits per tenant class, against each class's SLO
    (dotted, in the class's colour)."""
    fig = new_figure(4.4)
    ax = fig.subplots()
    present = [c for c in CLASS_ORDER if (monthly["tenant_class"] == c).any()]
    present += sorted(set(monthly["tenant_class"]) - set(present))
    for i, cls in enumerate(present):
        group = monthly[monthly["tenant_class"] == cls]
        shade = colour(i)
        ax.plot(group["month"], group["p95_wait_h"], marker="o", ms=3, color=shade,
                label=f"{cls} p95")  # fmt: skip
        ax.plot(group["month"], group["p50_wait_h"], linestyle="--", color=shade,
                linewidth=1.0, label=f"{cls} p50")  # fmt: skip
        if cls in slos:
            ax.axhline(slos[cls], color=shade, linestyle=":", linewidth=1.5,
                       label=f"{cls} SLO {slos[cls]:g} h")  # fmt: skip
    ax.set_ylim(bottom=0)
    style(ax, ylabel="wait (hours), by month of submission")
    date_axis(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    return png(fig)


def draw_queue(series: pd.DataFrame) -> bytes:
    """Jobs queued (top) and GPUs they ask for (bottom), daily averages."""
    fig = new_figure(4.6)
    jobs_ax, gpus_ax = fig.subplots(2, 1, sharex=True)
    jobs_ax.plot(series["date"], series["jobs_queued"], color=colour(0), linewidth=1.0)
    gpus_ax.plot(series["date"], series["gpus_queued"], color=colour(1), linewidth=1.0)
    style(jobs_ax, ylabel="jobs queued")
    style(gpus_ax, ylabel="GPUs queued")
    for ax in (jobs_ax, gpus_ax):
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_thousands())
    date_axis(gpus_ax)
    return png(fig)


def draw_credits(series: pd.DataFrame, deals: pd.DataFrame) -> bytes:
    """Each deal's credits left at every month end; its expiry as a dashed line and a cross."""
    fig = new_figure(4.4)
    ax = fig.subplots()
    scale = usd_axis(ax, np.r_[series["left_usd"].to_numpy(), deals["amount_usd"].to_numpy()])
    top = float(deals["amount_usd"].max()) / scale if len(deals) else 1.0
    for i, rec in enumerate(deals.to_dict("records")):
        shade, tenant, expires = colour(i), str(rec["tenant"]), at(rec["expires"])
        mine = series[series["tenant"] == tenant]
        ax.plot(mine["date"], mine["left_usd"] / scale, color=shade, label=tenant)
        ends = mine[mine["point"] == "month end"]
        ax.plot(ends["date"], ends["left_usd"] / scale, "o", ms=2.5, color=shade)
        if rec["expires_in_horizon"]:
            ax.axvline(expires, color=shade, linestyle="--", linewidth=1.0)
            ax.plot([expires], [0.0], marker="X", ms=8, color=shade)
            ax.annotate(
                f"{tenant} expires",
                (expires, top),
                xytext=(-2, 0),
                textcoords="offset points",
                rotation=90,
                ha="right",
                va="top",
                fontsize=7,
                color=shade,
            )
    ax.set_ylim(bottom=0)
    style(ax)
    date_axis(ax)
    legend(ax, loc="upper left")
    return png(fig)


def draw_prices(curves: pd.DataFrame, events: pd.DataFrame) -> bytes:
    """List price per GPU-hour by model; each dated step a dotted line, labelled in a lane."""
    fig = new_figure(5.0)
    ax, lane = fig.subplots(2, 1, sharex=True, height_ratios=[4.0, 0.8])
    for i, (model, group) in enumerate(curves.groupby("gpu_model", sort=False)):
        ax.plot(group["date"], group["usd_per_gpu_h"], color=colour(i), linewidth=1.6,
                label=str(model))  # fmt: skip
    for when in events["date"]:
        ax.axvline(at(when), color=GREY, linestyle=":", linewidth=1.0)
    ax.set_ylim(bottom=0)
    style(ax, ylabel="list price (USD per GPU-hour)")
    legend(ax, loc="upper right", ncols=max(1, curves["gpu_model"].nunique()))
    steps = events.assign(kind="price steps")
    _event_lanes(
        lane,
        steps,
        pd.Index(curves["date"].unique()),
        ("price steps",),
        {"price steps": (GREY, ":")},
    )
    date_axis(lane)
    return png(fig)


def draw_failures(down: pd.DataFrame, goodput: pd.DataFrame, fleet_goodput: float | None) -> bytes:
    """GPUs down for repair (top); goodput per cohort (bottom), each a stem from 100% down to
    its goodput, so a stem's length is the share of held GPU-hours lost to failures."""
    rows = max(1, len(goodput))
    fig = new_figure(3.4 + 0.3 * rows)
    top, bottom = fig.subplots(2, 1, height_ratios=[3.0, 0.6 + 0.3 * rows])
    top.plot(down["date"], down["gpus_down"], color=colour(5), linewidth=1.0)
    top.set_ylim(bottom=0)
    style(top, ylabel="GPUs down (daily mean)")
    date_axis(top)
    y = np.arange(len(goodput))
    values = goodput["goodput"].to_numpy(dtype=float)
    bottom.hlines(y, values, 1.0, color=GREY, linewidth=1.5)
    bottom.plot(values, y, "o", color=colour(0))
    for i, (share, lost) in enumerate(zip(values, goodput["lost_gpu_h"], strict=True)):
        if np.isfinite(share):
            bottom.annotate(
                f"{share:.2%} ({float(lost):,.0f} GPU-h lost)",
                (share, i),
                xytext=(-6, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=7,
            )
    bottom.set_yticks(y, labels=goodput["cohort"].tolist(), fontsize=8)
    bottom.set_ylim(len(goodput) - 0.5, -0.5)
    low = float(np.nanmin(values)) if np.isfinite(values).any() else 0.9
    bottom.set_xlim(max(0.0, 1.0 - (1.0 - low) * 2.5 - 0.005), 1.0005)
    if fleet_goodput is not None:
        bottom.axvline(fleet_goodput, color="#333333", linestyle="--", linewidth=1.0)
        bottom.annotate(
            f"fleet {fleet_goodput:.2%}",
            (fleet_goodput, -0.5),
            xytext=(3, 2),
            textcoords="offset points",
            fontsize=7,
            va="bottom",
            annotation_clip=False,
        )
    style(bottom)
    bottom.set_xlabel("goodput (kept / held GPU-hours)", fontsize=9)
    bottom.xaxis.set_major_formatter(_percent_two())
    return png(fig)


def _thousands() -> Formatter:
    from matplotlib.ticker import StrMethodFormatter

    return StrMethodFormatter("{x:,.0f}")


def _percent_two() -> Formatter:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=1)
