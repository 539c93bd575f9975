"""Experiments' sections of the report: a sweep's response curves and paired differences from a
baseline point, a planning query's search path and a sensitivity's tornado, each with a caption
of its key numbers and its data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner import plot
from planner.experiments.paired import paired_differences
from planner.report import response, search, sensitivity
from planner.report.figure import Figure, Item, Note, Section, extreme_row
from planner.report.formats import MISSING, column_format, num, price, usd
from planner.report.inputs import ANSWER_FILE, PlanData, SweepData, TornadoData
from planner.report.labels import metric_label, metric_unit, slo_class
from planner.report.plotting import png
from planner.wording import counted

LEVEL = 0.95


def sweep_section(
    data: SweepData,
    metrics: Sequence[str] | None = None,
    baseline: int = 0,
    slo_h: float | None = None,
) -> Section:
    """Response curves of the headline metrics over the sweep's parameters, and each point's
    paired difference from the ``baseline`` point; p95 waits against the scenario's SLO, or
    ``slo_h`` for every class."""
    if slo_h is not None:
        classes = ("paying", "credit", "internal", "wholesale")
        data = replace(data, slo_h=dict.fromkeys(classes, slo_h))
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
    waits = [m for m in chosen if slo_class(m) is not None]
    if waits and not data.slo_h:
        caption += (
            " The scenario states no SLO (slo.wait_p95_h), so no SLO line is drawn (planner "
            "report DIR --slo-h HOURS draws one)."
        )
    for metric in waits:
        cls = slo_class(metric)
        if cls is not None and cls in data.slo_h:
            caption += f" Dashed: the {cls} SLO, {data.slo_h[cls]:g} h."
    figure = Figure(
        "response",
        "Response curves",
        caption,
        png(plot.response(data, chosen)),
        (("mean and interval per point", _labelled(response.response_table(curves))),),
    )
    items: list[Item] = [figure]
    if points > 1:
        items.append(paired_figure(data, chosen, baseline))
    return Section("sweep", "Sweep", about, facts, tuple(items))


def paired_figure(data: SweepData, metrics: Sequence[str], baseline: int) -> Item:
    """Each point's difference from the baseline point, replication by replication (common
    random numbers), with its interval; a note when no replication pairs up."""
    rows = data.rows
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
    return Figure(
        "paired",
        title,
        " ".join(parts),
        png(plot.paired(data, baseline, metrics)),
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
    """The planning query: the metric against the decision variable, and what the answer
    changes from today and costs."""
    path = search.search_path(data.evaluations)
    question = data.question or "Planning query"
    about = f"{question}: {counted(len(path), 'candidate')} evaluated" + (
        f" × {counted(data.reps, 'replication')} each." if data.reps else "."
    )
    value = _plan_format(data.unit)
    unit = metric_unit(data.metric or "")
    target = f"{data.target:g} h" if unit == "h" and data.target is not None else (
        f"{data.target:g}" if data.target is not None else None
    )  # fmt: skip
    facts: list[tuple[str, str]] = []
    if data.variable:
        facts.append(("decided", data.variable))
    if data.metric is not None:
        facts.append(("metric", f"{metric_label(data.metric)} ({data.metric})"))
    if target is not None and data.confidence is not None:
        facts.append(("target", f"{target}, one-sided {data.confidence:.0%} upper bound"))
    if data.today is not None:
        facts.append(("today", value(data.today)))
    if data.answer is not None:
        change = (
            f"{value(data.today)} → {value(data.answer)}"
            if data.today is not None
            else value(data.answer)
        )
        facts.append(("answer", change))
    cost = _cost(data, value)
    if cost:
        facts.append(("what it costs", cost))
    facts.append(("evaluations", num(len(path))))
    if data.bracket is not None:
        facts.append(
            ("final bracket (meets, fails)", f"{value(data.bracket[0])}, {value(data.bracket[1])}")
        )
    met = path[path["meets"]]
    parts = [
        f"{counted(len(path), 'candidate')}, numbered in the order tried; {len(met)} met the "
        f"target, {len(path) - len(met)} failed."
    ]
    if data.metric is not None and target is not None and data.confidence is not None:
        parts.append(
            f"A candidate meets when the one-sided {data.confidence:.0%} upper bound of "
            f"{metric_label(data.metric)}'s mean is at most {target} (the interval's top end)."
        )
    else:
        parts.append(f"The target is unknown here (no {ANSWER_FILE} beside the evaluations).")
    if data.answer is not None:
        parts.append(
            f"Answer: {value(data.answer)}"
            + (f", today {value(data.today)}" if data.today is not None else "")
            + (f"; {cost}" if cost else "")
            + "."
        )
    elif data.question is not None:
        parts.append("No candidate in the range met the target.")
    unit_word = {"h": " (h)", "USD": " (USD)"}.get(unit, "")
    shown = path.assign(step=path["step"] + 1).rename(
        columns={
            "candidate": data.variable or "candidate",
            **{f"metric_{k}": f"metric {k}{unit_word}" for k in ("mean", "low", "high")},
        }
    )
    if not np.isfinite(path["objective_mean"].to_numpy(dtype=float)).any():
        shown = shown.drop(columns="objective_mean")
    figure = Figure(
        "search",
        f"{metric_label(data.metric) if data.metric else 'Metric'} against "
        f"{data.variable or 'the candidate'}",
        " ".join(parts),
        png(plot.plan(data)),
        (("evaluations, in the order made", shown),),
    )
    return Section("plan", "Planning query", about, tuple(facts), (figure,))


def _plan_format(unit: str) -> Callable[[Any], str]:
    if unit == "USD":
        return usd
    if unit == "USD per GPU-hour":
        return price
    if unit == "GPUs":
        return lambda v: f"{num(v)} GPUs"
    return num


def _cost(data: PlanData, value: Callable[[Any], str]) -> str:
    """What moving from today's value to the answer costs, where that is known."""
    if data.answer is None or data.today is None:
        return ""
    change = data.answer - data.today
    if data.unit == "GPUs" and data.unit_cost_usd is not None:
        each = usd(data.unit_cost_usd)
        if change > 0:
            return (
                f"{num(change)} more GPUs, {usd(change * data.unit_cost_usd)} capex at {each} each"
            )
        if change < 0:
            return (
                f"{num(-change)} fewer GPUs, {usd(-change * data.unit_cost_usd)} capex not "
                f"spent at {each} each"
            )
        return "no change from today"
    if data.unit == "USD":
        word = "more" if change >= 0 else "less"
        return f"{usd(abs(change))} {word} credit granted than today, paid back in compute"
    if data.unit == "USD per GPU-hour":
        return f"{price(data.answer)} instead of {price(data.today)} per GPU-hour"
    return ""


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
        png(plot.tornado(data)),
        (("bars, widest swing first", bars),),
    )
    facts = (("base", fmt(widest["base"])), ("parameters", num(len(bars))))
    return Section("sensitivity", "Sensitivity", about, facts, (figure,))


def _where(row: pd.Series, params: Sequence[str]) -> str:
    return plot.point_label(row, params)


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """A per-point table with each ``<metric> mean|low|high`` column under the metric's
    readable name (its unit kept at the end, so values are still formatted by it)."""
    renamed = {}
    for column in table.columns:
        metric, _, part = str(column).rpartition(" ")
        if metric and part in ("mean", "low", "high") and metric_label(metric) != metric:
            renamed[column] = f"{metric_label(metric)} {part} {_unit_word(metric)}".strip()
    return table.rename(columns=renamed)


def _unit_word(metric: str) -> str:
    """A word that tells :func:`planner.report.formats.column_format` the metric's unit."""
    unit = metric_unit(metric)
    return {"h": "(h)", "USD": "(USD)"}.get(unit, "")
