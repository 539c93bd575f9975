"""Two figures of each cohort's value as a finance team reads it, from a run's ``cohorts`` and
``cash_flows`` tables (a :class:`~planner.results.RunResult`, or the report's ``RunData``).

* :func:`value_bars`: per cohort, capex beside what came back: earned net of opex, internal
  value at the transfer price (apart from revenue) and resale at exit or terminal value at the
  horizon. Every bar is an amount of money at least zero, so none goes below the axis; a cohort
  whose opex exceeded its revenue shows no net earnings, and the table says by how much.
* :func:`cumulative_cash`: per cohort, cumulative net cash flow by month from its capex, with
  its cash and discounted payback dates marked.

Each comes with its caption (computed from the data) and its data as a table, for the report.
matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from planner.report.formats import pct, usd
from planner.report.plotting import (
    GREY,
    at,
    colour,
    date_axis,
    legend,
    new_figure,
    style,
    usd_axis,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class CashFlowResult(Protocol):
    """What these figures read: a run's ``cohorts`` and monthly ``cash_flows`` tables."""

    @property
    def cohorts(self) -> pd.DataFrame: ...

    @property
    def cash_flows(self) -> pd.DataFrame: ...


PARTS = ("earned net of opex", "internal value", "resale or terminal value")
PART_COLOURS = {
    "capex": GREY,
    "earned net of opex": "#0072B2",
    "internal value": "#56B4E9",
    "resale or terminal value": "#009E73",
}


def value_table(result: CashFlowResult) -> pd.DataFrame:
    """Per cohort, to its exit (or the horizon): capex, revenue (and lease), opex, earned net of
    opex (at least zero) and the opex revenue left uncovered, internal value, resale or
    terminal value, and the share of capex that came back (revenue - opex + resale or terminal
    value, so opex left uncovered counts against it; and again with internal value)."""
    cohorts, flows = result.cohorts, result.cash_flows
    names = cohorts["cohort"].astype(str)
    sums = (
        flows.groupby(flows["cohort"].astype(str), sort=False)[
            ["revenue_usd", "opex_usd", "internal_value_usd", "resale_usd", "terminal_value_usd"]
        ].sum()
        if len(flows)
        else pd.DataFrame()
    ).reindex(names, fill_value=0.0)
    revenue = sums["revenue_usd"].to_numpy(float)
    opex = sums["opex_usd"].to_numpy(float)
    capex = cohorts["capex_usd"].to_numpy(float)
    net = np.maximum(revenue - opex, 0.0)
    at_exit = (sums["resale_usd"] + sums["terminal_value_usd"]).to_numpy(float)
    internal = sums["internal_value_usd"].to_numpy(float)
    # The share counts uncovered opex against the cohort; only the bars stop at zero.
    with np.errstate(divide="ignore", invalid="ignore"):
        back = np.where(capex > 0, (revenue - opex + at_exit) / capex, np.nan)
        back_internal = np.where(capex > 0, (revenue - opex + internal + at_exit) / capex, np.nan)
    return pd.DataFrame(
        {
            "cohort": names.to_numpy(),
            "capex_usd": capex,
            "revenue_usd": revenue,
            "opex_usd": opex,
            "earned_net_of_opex_usd": net,
            "opex_not_covered_usd": np.maximum(opex - revenue, 0.0),
            "internal_value_usd": internal,
            "resale_or_terminal_usd": at_exit,
            "share_back": back,
            "share_back_with_internal": back_internal,
        }
    )


def value_bars(result: CashFlowResult) -> Figure:
    """Per cohort, two bars: capex, and a stack of earned net of opex, internal value and resale
    or terminal value; the stack is labelled with the share of capex it makes up."""
    table = value_table(result)
    n = len(table)
    fig = new_figure(4.8 + 0.1 * max(0, n - 6))
    ax = fig.subplots()
    stacks = table[["earned_net_of_opex_usd", "internal_value_usd", "resale_or_terminal_usd"]]
    tops = stacks.sum(axis=1).to_numpy(float)
    scale = usd_axis(ax, np.r_[table["capex_usd"].to_numpy(float), tops, 0.0])
    x = np.arange(n)
    width = 0.38
    ax.bar(x - width / 2, table["capex_usd"] / scale, width * 0.95, color=GREY, label="capex")
    bottom = np.zeros(n)
    for part, column in zip(PARTS, stacks.columns, strict=True):
        heights = stacks[column].to_numpy(float) / scale
        ax.bar(
            x + width / 2,
            heights,
            width * 0.95,
            bottom=bottom,
            color=PART_COLOURS[part],
            label=part,
            hatch="//" if part == "internal value" else None,
            edgecolor="white" if part == "internal value" else None,
        )
        bottom += heights
    for i, share in enumerate(table["share_back"].to_numpy(float)):
        if np.isfinite(share):
            ax.annotate(
                f"{share:.0%}",
                (x[i] + width / 2, bottom[i]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
    ax.set_ylim(bottom=0.0)
    ax.set_xticks(x, labels=table["cohort"], rotation=20, ha="right", fontsize=8)
    style(ax)
    ax.grid(False, axis="x")
    legend(ax, loc="upper center", bbox_to_anchor=(0.5, 1.12), ncols=1 + len(PARTS))
    return fig


def value_bars_caption(result: CashFlowResult) -> str:
    """The figure's key numbers: the fleet's capex and what came back, and the extremes."""
    table = value_table(result)
    capex = float(table["capex_usd"].sum())
    net = float((table["revenue_usd"] - table["opex_usd"]).sum())
    at_exit = float(table["resale_or_terminal_usd"].sum())
    internal = float(table["internal_value_usd"].sum())
    text = (
        "Per cohort, capex (grey) beside what came back to its exit or the horizon: revenue "
        "net of opex, internal use at the transfer price (hatched; not revenue), and resale at "
        "exit or terminal value at the horizon; the label is the share of capex back without "
        f"internal value. Fleet: capex {usd(capex)}, revenue net of opex {usd(net)}, resale or "
        f"terminal value {usd(at_exit)}: {pct((net + at_exit) / capex if capex else None)} of "
        f"capex back, {pct((net + at_exit + internal) / capex if capex else None)} with "
        f"internal value ({usd(internal)})."
    )
    rated = table[np.isfinite(table["share_back"].to_numpy(float))]
    if len(rated):
        low = rated.iloc[int(rated["share_back"].to_numpy(float).argmin())]
        high = rated.iloc[int(rated["share_back"].to_numpy(float).argmax())]
        text += (
            f" From {pct(low['share_back'], 0)} ({low['cohort']}) to "
            f"{pct(high['share_back'], 0)} ({high['cohort']})."
        )
    uncovered = table[table["opex_not_covered_usd"] > 0]
    if len(uncovered):
        text += " Opex above revenue: " + ", ".join(
            f"{row.cohort} by {usd(row.opex_not_covered_usd)}"
            for row in uncovered.itertuples(index=False)
        )
        text += "."
    return text


def payback_table(result: CashFlowResult) -> pd.DataFrame:
    """Per cohort: capex, NPV, IRR and the cash and discounted payback dates (NaT: not within
    the horizon)."""
    cohorts = result.cohorts
    return pd.DataFrame(
        {
            "cohort": cohorts["cohort"].astype(str).to_numpy(),
            "capex_usd": cohorts["capex_usd"].to_numpy(float),
            "net_cash_flow_usd": cohorts["net_cash_flow_usd"].to_numpy(float),
            "npv_usd": cohorts["npv_usd"].to_numpy(float),
            "irr_annual": cohorts["irr_annual"].to_numpy(float),
            "net_payback_date": cohorts["net_payback_date"].to_numpy(),
            "discounted_payback_date": cohorts["discounted_payback_date"].to_numpy(),
        }
    )


def monthly_cumulative(result: CashFlowResult) -> pd.DataFrame:
    """Cumulative net cash flow at each month's end, one column per cohort (rows: months); NaN
    before the cohort's capex."""
    flows = result.cash_flows
    if not len(flows):
        return pd.DataFrame()
    wide = flows.pivot_table(
        index="month",
        columns="cohort",
        values="cumulative_net_cash_flow_usd",
        aggfunc="last",
        sort=False,
    )
    # Before its capex a cohort has no cash flow to show, not a flow of zero.
    paid = flows.assign(capex_so_far=flows.groupby("cohort")["capex_usd"].cumsum())
    bought = paid.pivot_table(
        index="month", columns="cohort", values="capex_so_far", aggfunc="last", sort=False
    )
    wide = wide.where(bought > 0)
    order = [c for c in result.cohorts["cohort"].astype(str) if c in wide.columns]
    wide.columns = wide.columns.astype(str)
    return wide.loc[:, order]


def cumulative_cash(result: CashFlowResult) -> Figure:
    """Per cohort, cumulative net cash flow at each month's end (from minus its capex), a circle
    at its cash payback date and a square at its discounted one."""
    wide = monthly_cumulative(result)
    paybacks = payback_table(result).set_index("cohort")
    fig = new_figure(4.8)
    ax = fig.subplots()
    scale = usd_axis(ax, wide.to_numpy(float) if len(wide) else [0.0])
    ends = pd.to_datetime(wide.index.astype(str)) + pd.offsets.MonthEnd(0)
    for k, cohort in enumerate(wide.columns):
        line = wide[cohort].to_numpy(float) / scale
        ax.plot(ends, line, color=colour(k), linewidth=1.4, label=cohort)
        for column, marker in (("net_payback_date", "o"), ("discounted_payback_date", "s")):
            when: object = paybacks.loc[cohort, column]
            if isinstance(when, pd.Timestamp):  # NaT, not within the horizon, is not one
                ax.plot([at(when)], [0.0], marker, color=colour(k), markersize=6)
    ax.axhline(0.0, color="#333333", linewidth=0.8)
    style(ax)
    date_axis(ax)
    legend(ax, loc="lower right", ncols=2)
    return fig


def cumulative_cash_caption(result: CashFlowResult) -> str:
    """The figure's key numbers: which cohorts paid back (cash, discounted) and when."""
    table = payback_table(result)
    cash = table[pd.notna(table["net_payback_date"])]
    discounted = table[pd.notna(table["discounted_payback_date"])]
    text = (
        "Per cohort, cumulative net cash flow (revenue and lease less opex and tax, capex at "
        "acquisition, resale at exit; no terminal value) at each month's end; a circle marks "
        "the cash payback date, where the line crosses zero, and a square the discounted "
        f"payback date. {len(cash)} of {len(table)} cohorts paid back in cash within the "
        f"horizon, {len(discounted)} discounted"
    )
    if len(cash):
        first = cash.sort_values("net_payback_date").iloc[0]
        text += (
            f"; the first, {first['cohort']}, on "
            f"{pd.Timestamp(first['net_payback_date']).date().isoformat()}"
        )
    worst = table.iloc[int(table["npv_usd"].to_numpy(float).argmin())] if len(table) else None
    if worst is not None:
        text += f". Lowest NPV: {worst['cohort']}, {usd(worst['npv_usd'])}"
    return text + "."
