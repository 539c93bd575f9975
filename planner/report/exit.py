"""The exit query's figure: a cohort's NPV against the month it is sold, the best month marked,
with its caption and table (from a :class:`~planner.experiments.exit.ExitAnswer`'s curve, or the
``exit_curve.csv`` that ``planner plan exit --out`` writes beside ``exit.json``), and the
report's section for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from planner.report.figure import Figure as ReportFigure
from planner.report.figure import Section
from planner.report.formats import usd
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


def exit_figure(curve: pd.DataFrame, cohort: str) -> Figure:
    """NPV (at the cost of capital) if the cohort is sold on each date, the last point keeping
    it to its own exit; the best date is ringed, and keeping it is a dashed line."""
    fig = new_figure(4.2)
    ax = fig.subplots()
    npv = curve["npv_usd"].to_numpy(float)
    scale = usd_axis(ax, npv)
    dates = pd.to_datetime(curve["exit_date"])
    ax.plot(dates, npv / scale, color=colour(0), linewidth=1.4, marker=".", label=f"sell {cohort}")
    if "npv_low_usd" in curve and (curve["npv_high_usd"] > curve["npv_low_usd"]).any():
        low, high = (curve[c].to_numpy(float) / scale for c in ("npv_low_usd", "npv_high_usd"))
        ax.fill_between(dates, low, high, color=colour(0), alpha=0.2, linewidth=0,
                        label="95% interval")  # fmt: skip
    ax.axhline(npv[-1] / scale, color=GREY, linestyle="--", linewidth=1.0, label="keep it")
    best = int(npv.argmax())
    ax.plot([at(dates.iloc[best])], [npv[best] / scale], "o", markersize=10, fillstyle="none",
            color=colour(5), label="best exit")  # fmt: skip
    ax.axhline(0.0, color="#333333", linewidth=0.8)
    style(ax, title=f"NPV of {cohort} against the month it is sold")
    date_axis(ax)
    legend(ax, loc="best")
    return fig


def exit_caption(curve: pd.DataFrame, cohort: str) -> str:
    """The answer in words: the best month, its NPV, and NPV if kept."""
    npv = curve["npv_usd"].to_numpy(float)
    best = int(npv.argmax())
    when = pd.Timestamp(curve["exit_date"].iloc[best]).date().isoformat()
    kept = str(curve["exit"].iloc[-1])
    text = (
        f"NPV of {cohort} if sold on the first of each month, at its resale value then, having "
        f"earned until the sale what it earned in the run; the last point keeps it ({kept}). "
    )
    if best == len(npv) - 1:
        return text + f"Keeping it is best: NPV {usd(npv[best])}."
    return text + (
        f"Best: sell on {when}, NPV {usd(npv[best])}, against {usd(npv[-1])} if kept "
        f"({usd(npv[best] - npv[-1])} more)."
    )


EXIT_CURVE_FILE = "exit_curve.csv"
EXIT_ANSWER_FILE = "exit.json"


def exit_section(curve: pd.DataFrame, answer: dict[str, object]) -> Section:
    """The exit query's section of the report: the answer and the NPV curve with its table."""
    from planner import plot  # planner.plot draws with this module's figure
    from planner.report.plotting import png

    cohort = str(answer.get("cohort", "the cohort"))
    reps = int(answer.get("reps") or 1)  # type: ignore[call-overload]
    runs = "one run" if reps == 1 else f"the mean of {reps} replications"
    about = (
        f"Best month to sell {cohort} of {answer.get('scenario', 'a scenario')} "
        f"(seed {answer.get('seed', 0)}): {len(curve)} exits evaluated on {runs}."
    )
    facts: tuple[tuple[str, str], ...] = (
        ("best exit", f"{answer.get('best_exit_date')} ({answer.get('best_exit')})"),
        ("NPV there", usd(answer.get("best_npv_usd"))),
        ("NPV if kept", usd(answer.get("kept_npv_usd"))),
    )
    if answer.get("gain_low_usd") is not None:
        low, high = usd(answer.get("gain_low_usd")), usd(answer.get("gain_high_usd"))
        facts += (("gain over keeping, 95%", f"{low} to {high}"),)
    figure = ReportFigure(
        "exit",
        f"NPV of {cohort} against its exit month",
        exit_caption(curve, cohort),
        png(plot.exit_curve(curve, cohort)),
        (("NPV by exit month", curve),),
    )
    return Section("exit", "Exit query", about, facts, (figure,))
