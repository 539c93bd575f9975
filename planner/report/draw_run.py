"""Drawing a run's figures from their data (see the figure-data modules); each returns a
matplotlib Figure (:mod:`planner.plot` is the public way to them).

Nothing is computed here beyond placing what the data says; matplotlib is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner.report.fleet import EVENT_KINDS
from planner.report.formats import usd
from planner.report.plotting import (
    GREY,
    REGION_STYLES,
    at,
    colour,
    date_axis,
    legend,
    model_colour,
    new_figure,
    percent_axis,
    style,
    usd_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import Formatter

EVENT_STYLE = {
    "export control": ("#D55E00", "-"),
    "delivery": ("#009E73", "--"),
    "order stopped": ("#CC79A7", ":"),
    "successor launch": ("#7f7f7f", "-."),
}
CLASS_ORDER = ("paying", "credit", "internal", "wholesale", "all")
# A tenant class keeps its colour in every figure, whichever classes a run has.
CLASS_COLOURS = {
    "paying": "#0072B2",
    "credit": "#E69F00",
    "internal": "#009E73",
    "wholesale": "#CC79A7",
    "all": "#000000",
}
LOSS = "#C0392B"


def draw_in_service(series: pd.DataFrame, events: pd.DataFrame) -> Figure:
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
            colors=[model_colour(str(m)) for m in wide.columns],
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
    return fig


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


def draw_utilisation(monthly: pd.DataFrame, fleet: pd.DataFrame) -> Figure:
    """Monthly utilisation per pool, in its model's colour (regions by line style), with the
    fleet's as a thick grey line."""
    fig = new_figure(4.2)
    ax = fig.subplots()
    regions: dict[str, list[str]] = {}
    for pool, group in monthly.groupby("pool", sort=True):
        model, region = str(group["gpu_model"].iloc[0]), str(group["region"].iloc[0])
        seen = regions.setdefault(model, [])
        seen.append(region)
        ax.plot(
            group["month"],
            group["utilisation"],
            marker="o",
            ms=3,
            linewidth=1.3,
            color=model_colour(model),
            linestyle=REGION_STYLES[(len(seen) - 1) % len(REGION_STYLES)],
            label=str(pool),
        )
    ax.plot(fleet["month"], fleet["utilisation"], color=GREY, linewidth=3, alpha=0.5, label="fleet")
    ax.set_ylim(0, 1.05)
    style(ax, ylabel="utilisation (busy / in-service GPU-hours)")
    percent_axis(ax)
    date_axis(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    return fig


def draw_heatmap(grid: pd.DataFrame) -> Figure:
    """Utilisation per pool (rows) and month (columns), each cell its percentage; blank where
    the pool had nothing in service."""
    from matplotlib.colors import Normalize

    months = [pd.Timestamp(m) for m in grid.columns]
    fig = new_figure(1.4 + 0.42 * max(2, len(grid)))
    ax = fig.subplots()
    values = grid.to_numpy(dtype=float)
    image = ax.imshow(
        np.ma.masked_invalid(values),
        aspect="auto",
        cmap="viridis",
        norm=Normalize(0.0, 1.0),
        interpolation="nearest",
    )
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(
                column,
                row,
                f"{value * 100:.0f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="black" if value > 0.6 else "white",
            )
    ax.set_yticks(range(len(grid)), labels=[str(p) for p in grid.index], fontsize=8)
    step = max(1, len(months) // 18)
    ticks = list(range(0, len(months), step))
    ax.set_xticks(ticks, labels=[months[k].strftime("%Y-%m") for k in ticks], fontsize=7,
                  rotation=45, ha="right")  # fmt: skip
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
    bar.ax.tick_params(labelsize=7)
    bar.set_label("utilisation", fontsize=8)
    bar.ax.yaxis.set_major_formatter(_percent_zero())
    return fig


def draw_waits(monthly: pd.DataFrame, slos: Mapping[str, float]) -> Figure:
    """Monthly p95 (solid) and p50 (dashed) waits per tenant class, against each class's SLO
    (dotted, in the class's colour)."""
    fig = new_figure(4.4)
    ax = fig.subplots()
    present = [c for c in CLASS_ORDER if (monthly["tenant_class"] == c).any()]
    present += sorted(set(monthly["tenant_class"]) - set(present))
    for cls in present:
        group = monthly[monthly["tenant_class"] == cls]
        shade = class_colour(cls)
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
    return fig


def draw_queue(by_class: pd.DataFrame, by_pool: pd.DataFrame) -> Figure:
    """Jobs queued by tenant class (top) and the GPUs they ask for by the pool each went on to
    start on (bottom), stacked daily averages: the top of each stack is the whole queue."""
    fig = new_figure(5.6)
    jobs_ax, gpus_ax = fig.subplots(2, 1, sharex=True)
    classes = [c for c in CLASS_ORDER if (by_class["group"] == c).any()]
    classes += [c for c in dict.fromkeys(by_class["group"]) if c not in classes]
    _stack(jobs_ax, by_class, "jobs_queued", classes, [class_colour(c) for c in classes])
    pools = list(dict.fromkeys(by_pool["group"]))
    _stack(gpus_ax, by_pool, "gpus_queued", pools, [_pool_colour(p, pools) for p in pools])
    style(jobs_ax, title="jobs waiting, by tenant class", ylabel="jobs queued")
    style(gpus_ax, title="GPUs asked for by waiting jobs, by the pool each started on",
          ylabel="GPUs queued")  # fmt: skip
    for ax in (jobs_ax, gpus_ax):
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_thousands())
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    date_axis(gpus_ax)
    return fig


def _stack(
    ax: Axes, series: pd.DataFrame, value: str, groups: list[str], shades: list[str]
) -> None:
    wide = series.pivot_table(index="date", columns="group", values=value, aggfunc="sum")
    wide = wide.reindex(columns=groups).fillna(0.0)
    if len(wide.columns):
        ax.stackplot(wide.index.to_numpy(), *(wide[g].to_numpy() for g in groups),
                     labels=groups, colors=shades, alpha=0.85, step="post")  # fmt: skip


def _pool_colour(pool: str, pools: Sequence[str]) -> str:
    """A pool in its model's colour, lighter for each further region of that model; jobs not
    started grey."""
    from matplotlib.colors import to_hex, to_rgb

    model = pool.split(" · ")[0]
    if " · " not in pool:
        return "#bbbbbb"
    same = [p for p in pools if p.split(" · ")[0] == model]
    base = np.array(to_rgb(model_colour(model)))
    light = 0.45 * same.index(pool) / max(1, len(same) - 1) if len(same) > 1 else 0.0
    mixed = base + (1.0 - base) * light
    return str(to_hex((float(mixed[0]), float(mixed[1]), float(mixed[2]))))


def draw_credits(series: pd.DataFrame, deals: pd.DataFrame, rates: pd.DataFrame) -> Figure:
    """Top: each deal's credits left, with the even burn that would use the grant by its expiry
    (dotted, from the grant to zero at the expiry) and each forfeit as a red drop labelled as a
    loss. Bottom: each month's burn per day (solid) against the burn per day needed from then
    on to use what is left by the expiry (dashed)."""
    fig = new_figure(6.6)
    ax, rate_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3.0, 2.0])
    scale = usd_axis(ax, np.r_[series["left_usd"].to_numpy(), deals["amount_usd"].to_numpy()])
    for i, rec in enumerate(deals.to_dict("records")):
        shade, tenant = colour(i), str(rec["tenant"])
        mine = series[series["tenant"] == tenant]
        ax.plot(mine["date"], mine["left_usd"] / scale, color=shade, label=tenant)
        ends = mine[mine["point"] == "month end"]
        ax.plot(ends["date"], ends["left_usd"] / scale, "o", ms=2.5, color=shade)
        ax.plot([at(rec["granted"]), at(rec["expires"])], [rec["amount_usd"] / scale, 0.0],
                linestyle=":", linewidth=1.2, color=shade)  # fmt: skip
        lost = mine[(mine["point"] == "expired")]
        if rec["expires_in_horizon"] and len(lost) and float(lost["left_usd"].max()) > 0:
            amount = float(lost["left_usd"].max())
            ax.vlines(at(rec["expires"]), 0.0, amount / scale, color=LOSS, linewidth=4, alpha=0.8)
            ax.annotate(
                f"{tenant} forfeits {usd(amount)}: lost",
                (at(rec["expires"]), amount / scale),
                xytext=(-4, 2),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=7.5,
                color=LOSS,
                fontweight="bold",
            )
        mine_rates = rates[rates["tenant"] == tenant]
        rate_scale = 1e3
        rate_ax.plot(mine_rates["month"], mine_rates["burned_usd_per_day"] / rate_scale,
                     marker="o", ms=2.5, color=shade, drawstyle="steps-post")  # fmt: skip
        rate_ax.plot(mine_rates["month"], mine_rates["needed_usd_per_day"] / rate_scale,
                     linestyle="--", color=shade, drawstyle="steps-post")  # fmt: skip
    ax.set_ylim(bottom=0)
    style(ax, title="credits left; dotted: the even burn that uses the grant by its expiry")
    legend(ax, loc="upper left")
    rate_ax.set_ylim(bottom=0)
    style(rate_ax, title="burn per day: solid got, dashed needed to use what is left by expiry",
          ylabel="USD (K) per day")  # fmt: skip
    rate_ax.set_yscale("symlog", linthresh=10.0)
    rate_ax.yaxis.set_major_formatter(_thousands())
    date_axis(rate_ax)
    return fig


def draw_prices(curves: pd.DataFrame, events: pd.DataFrame) -> Figure:
    """List price per GPU-hour by model; each dated step a dotted line, labelled in a lane."""
    fig = new_figure(5.0)
    ax, lane = fig.subplots(2, 1, sharex=True, height_ratios=[4.0, 0.8])
    for model, group in curves.groupby("gpu_model", sort=False):
        ax.plot(group["date"], group["usd_per_gpu_h"], color=model_colour(str(model)),
                linewidth=1.6, label=str(model))  # fmt: skip
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
    return fig


def draw_failures(down: pd.DataFrame, goodput: pd.DataFrame, fleet_goodput: float | None) -> Figure:
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
    return fig


def class_colour(tenant_class: str) -> str:
    """The colour of a tenant class, the same in every figure."""
    return CLASS_COLOURS.get(tenant_class, GREY)


def _thousands() -> Formatter:
    from matplotlib.ticker import StrMethodFormatter

    return StrMethodFormatter("{x:,.0f}")


def _percent_zero() -> Formatter:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def _percent_two() -> Formatter:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=1)
