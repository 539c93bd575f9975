"""Experiments' sections of the report: a sweep's response curves and paired differences from a
baseline point, a planning query's search path and a sensitivity's tornado, each with a caption
of its key numbers and its data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from planner.experiments.paired import paired_differences
from planner.report import draw_experiments, response, search, sensitivity
from planner.report.figure import Figure, Item, Note, Section, extreme_row
from planner.report.formats import MISSING, column_format, num
from planner.report.inputs import ANSWER_FILE, PlanData, SweepData, TornadoData
from planner.report.labels import metric_label
from planner.wording import counted

LEVEL = 0.95


def sweep_section(
    data: SweepData, metrics: Sequence[str] | None = None, baseline: int = 0
) -> Section:
    """Response curves of the headline metrics over the sweep's parameters, and each point's
    paired difference from the ``baseline`` point."""
    rows = data.rows
    chosen = response.headline_metrics(rows, metrics or response.HEADLINE_METRICS)
    points = int(rows["point"].nunique())
    reps = int(rows.groupby("point").size().min()) if len(rows) else 0
    swept = response.parameters(rows)
    about = (
        f"Sweep of {data.scenario_name or 'a scenario'}: {counted(points, 'point')} × up to "
        f"{counted(data.reps or reps, 'replication')} (seed {data.seed}); parameters "
        + (", ".join(p.removeprefix("param.") for p in swept) or "none")
        + "."
    )
    facts = (("points", num(points)), ("rows", num(len(rows))), ("replications", num(reps)))
    if not chosen:
        note = Note("response", "Response curves", "The rows hold none of the headline metrics.")
        return Section("sweep", "Sweep", about, facts, (note,))
    curves = response.response_curves(rows, chosen, LEVEL)
    x_param = response.x_parameter(rows)
    parts = []
    for metric in chosen:
        mine = curves[(curves["metric"] == metric) & np.isfinite(curves["mean"])]
        if not len(mine):
            continue
        fmt = column_format(metric, mine["mean"])
        lo, hi = extreme_row(mine, "mean", largest=False), extreme_row(mine, "mean")
        parts.append(
            f"{metric_label(metric)} from {fmt(lo['mean'])} ({_where(lo, swept)}) to "
            f"{fmt(hi['mean'])} "
            f"({_where(hi, swept)})"
        )
    caption = "Mean over replications at each point: " + "; ".join(parts) + "."
    if reps >= 2:
        caption += (
            f" Bands: {LEVEL:.0%} intervals across the {counted(reps, 'replication')} (common "
            "random numbers across points), kept inside each metric's range: Student t on the "
            "log of the mean for metrics that cannot go below zero, on the logit for shares."
        )
    else:
        caption += " One replication per point, so no interval is drawn."
    figure = Figure(
        "response",
        "Response curves",
        caption,
        draw_experiments.draw_response(curves, x_param, chosen, LEVEL),
        (("mean and interval per point", response.response_table(curves)),),
    )
    items: list[Item] = [figure]
    if points > 1:
        items.append(paired_figure(rows, chosen, baseline))
    return Section("sweep", "Sweep", about, facts, tuple(items))


def paired_figure(rows: pd.DataFrame, metrics: Sequence[str], baseline: int) -> Item:
    """Each point's difference from the baseline point, replication by replication (common
    random numbers), with its interval; a note when no replication pairs up."""
    swept = response.parameters(rows)
    diffs = paired_differences(rows, metrics, baseline, LEVEL)
    base = rows[rows["point"] == baseline].iloc[0]
    title = "Paired differences from the baseline point"
    pairs = int(diffs["n"].max()) if len(diffs) else 0
    if pairs < 2:
        return Note(
            "paired", title, "Fewer than two replications pair up, so no interval is drawn."
        )
    parts = [
        f"Each point minus the baseline, point {baseline} ({_where(base, swept)}), replication "
        f"by replication over up to {pairs} replications on common random numbers, with "
        f"{LEVEL:.0%} Student t intervals of the mean difference (planner sweep --baseline "
        "chooses another baseline)."
    ]
    for metric in metrics:
        mine = diffs[(diffs["metric"] == metric) & np.isfinite(diffs["mean"])]
        if not len(mine):
            continue
        fmt = column_format(metric, mine["mean"])
        apart = int(((mine["low"] > 0) | (mine["high"] < 0)).sum())
        far = mine.iloc[int(np.argmax(np.abs(mine["mean"].to_numpy(dtype=float))))]
        parts.append(
            f"{metric_label(metric)}: {apart} of {len(mine)} points differ (interval clear of "
            f"0); the largest difference, {_signed(fmt, far['mean'])}, at point "
            f"{int(far['point'])} ({_where(far, swept)})."
        )
    firsts = diffs.drop_duplicates("point")
    labels = [f"{int(row['point'])}: {_where(row, swept)}" for _, row in firsts.iterrows()]
    return Figure(
        "paired",
        title,
        " ".join(parts),
        draw_experiments.draw_paired(diffs, labels, metrics, LEVEL),
        ((f"difference from point {baseline}, per point", _paired_table(diffs)),),
    )


def _paired_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """The differences with each metric by its readable name and its values in its unit."""
    shown = diffs.drop(columns=["mean", "low", "high"]).copy()
    shown["metric"] = [metric_label(str(m)) for m in diffs["metric"]]
    means, intervals = [], []
    for metric, mean, low, high in diffs[["metric", "mean", "low", "high"]].itertuples(index=False):
        fmt = column_format(str(metric), diffs["mean"])
        means.append(_signed(fmt, mean))
        intervals.append(
            MISSING if np.isnan(low) else f"[{_signed(fmt, low)}, {_signed(fmt, high)}]"
        )
    shown["mean difference"] = means
    shown[f"{LEVEL:.0%} interval"] = intervals
    return shown


def _signed(fmt: Callable[[Any], str], value: float) -> str:
    shown = fmt(value)
    return f"+{shown}" if value > 0 else shown


def plan_section(data: PlanData) -> Section:
    """The planning query's search path."""
    path = search.search_path(data.evaluations)
    question = data.question or "Planning query"
    about = f"{question}: {counted(len(path), 'candidate')} evaluated" + (
        f" × {counted(data.reps, 'replication')} each." if data.reps else "."
    )
    facts: list[tuple[str, str]] = [("evaluations", num(len(path)))]
    if data.answer is not None:
        facts.append(("answer", num(data.answer)))
    if data.bracket is not None:
        facts.append(
            ("final bracket (meets, fails)", f"{num(data.bracket[0])}, {num(data.bracket[1])}")
        )
    met = path[path["meets"]]
    parts = [
        f"{counted(len(path), 'candidate')} in the order tried; {len(met)} met the target, "
        f"{len(path) - len(met)} failed."
    ]
    if data.metric is not None and data.target is not None and data.confidence is not None:
        parts.append(
            f"A candidate meets when the one-sided {data.confidence:.0%} upper bound of "
            f"{data.metric}'s mean is at most {data.target:g} (the interval's top end)."
        )
    else:
        parts.append(f"The target is unknown here (no {ANSWER_FILE} beside the evaluations).")
    if data.answer is not None:
        parts.append(f"Answer: {num(data.answer)}.")
    elif data.question is not None:
        parts.append("No candidate in the range met the target.")
    figure = Figure(
        "search",
        "Search path",
        " ".join(parts),
        draw_experiments.draw_search(path, data.target, data.answer, data.metric),
        (("evaluations", path),),
    )
    return Section("plan", "Planning query", about, tuple(facts), (figure,))


def tornado_section(data: TornadoData) -> Section:
    """The one-at-a-time sensitivity as a tornado chart."""
    bars = sensitivity.tornado_bars(data.table)
    metric = data.metric or "the metric"
    about = f"One-at-a-time sensitivity of {metric} to {counted(len(bars), 'parameter')}" + (
        f", {counted(data.reps, 'replication')} per run." if data.reps else "."
    )
    if not len(bars):
        note = Note("tornado", "Tornado", "The sensitivity table has no parameters.")
        return Section("sensitivity", "Sensitivity", about, (), (note,))
    fmt = column_format(metric, bars["base"])
    widest, narrowest = bars.iloc[0], bars.iloc[-1]
    caption = (
        f"Base {fmt(widest['base'])}. Widest swing: {widest['parameter']} "
        f"({widest['low_value']} → {widest['high_value']}) moves {metric} from "
        f"{fmt(widest['at_low'])} to {fmt(widest['at_high'])}, a swing of {num(widest['swing'])}."
    )
    if len(bars) > 1:
        caption += f" Narrowest: {narrowest['parameter']}, a swing of {num(narrowest['swing'])}."
    figure = Figure(
        "tornado",
        "Tornado",
        caption,
        draw_experiments.draw_tornado(bars, data.metric),
        (("bars, widest swing first", bars),),
    )
    facts = (("base", fmt(widest["base"])), ("parameters", num(len(bars))))
    return Section("sensitivity", "Sensitivity", about, facts, (figure,))


def _where(row: pd.Series, params: Sequence[str]) -> str:
    if not params:
        return f"point {int(row['point'])}"
    return ", ".join(f"{p.removeprefix('param.')}={row[p]}" for p in params)
