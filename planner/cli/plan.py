"""``planner plan grant|gpus|price|contract``: a planning question answered with an interval and the
evaluations that led to it, each candidate told as it is decided; ``planner plan exit``: the
month to sell a cohort, with the curve of its NPV against the exit month."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from planner.cli.common import (
    interrupts,
    load,
    replace,
    report_needs_out,
    scenario_errors,
    warn_infeasible_credits,
)
from planner.cli.options import (
    EngineOpt,
    MetricOpt,
    OutOpt,
    ReportOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    WorkersOpt,
)
from planner.cli.output import integer, price, stdout, table, usd
from planner.numbers import finite
from planner.progress import Progress

if TYPE_CHECKING:
    from planner.experiments.exit import ExitAnswer
    from planner.experiments.plan import Answer, Candidate

RepsOpt = Annotated[
    int, typer.Option("--reps", min=2, help="Replications per candidate (common random numbers).")
]
ConfidenceOpt = Annotated[
    float,
    typer.Option(help="A candidate meets the target when the one-sided upper bound at this "
                 "confidence does."),
]  # fmt: skip


def plan_grant(
    scenario: ScenarioArg,
    tenant: Annotated[str, typer.Option(help="The credit tenant whose grant to size.")],
    target_h: Annotated[
        float | None,
        typer.Option(
            help="The service level, in hours (default: the scenario's slo.wait_p95_h for the "
            "metric's class).",
            show_default=False,
        ),
    ] = None,
    metric: MetricOpt = "wait_p95_h_offered.paying",
    high_usd: Annotated[
        float | None, typer.Option(help="Largest grant tried (default 4x the current one).")
    ] = None,
    tol_usd: Annotated[float, typer.Option(help="Stop when the bracket is this narrow.")] = 5e6,
    fixed_demand: Annotated[
        bool,
        typer.Option(
            "--fixed-demand",
            help="Keep the tenant's arrival rate; by default it scales with the grant.",
        ),
    ] = False,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The largest credit grant for a tenant that keeps a metric within a target."""
    from planner.experiments import plan

    report_needs_out(with_report, out)
    with scenario_errors():
        sc = load(scenario, sets, engine)
    with _search(f"plan grant for {tenant}", metric, usd) as told:
        answer = plan.largest_grant(
            sc, tenant, target_h=target_h, metric=metric, high_usd=high_usd, tol_usd=tol_usd,
            scale_demand=not fixed_demand, confidence=confidence, reps=reps, seed=seed,
            workers=workers, **told,
        )  # fmt: skip
    _show_answer(answer, out, usd, with_report)


def plan_gpus(
    scenario: ScenarioArg,
    cohort: Annotated[str, typer.Option(help="Fleet cohort to size, by name or index.")],
    target: Annotated[float, typer.Option(help="The service level the metric must meet.")],
    metric: MetricOpt = "wait_p95_h_offered.paying",
    low_gpus: Annotated[int | None, typer.Option(help="Fewest GPUs tried.")] = None,
    high_gpus: Annotated[int | None, typer.Option(help="Most GPUs tried.")] = None,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The fewest GPUs in a cohort that keep a metric within a target."""
    from planner.experiments import plan

    report_needs_out(with_report, out)
    with scenario_errors():
        sc = load(scenario, sets, engine)
    with _search(f"plan gpus for cohort {cohort}", metric, integer) as told:
        answer = plan.fewest_gpus(
            sc, cohort, target=target, metric=metric, low_gpus=low_gpus, high_gpus=high_gpus,
            confidence=confidence, reps=reps, seed=seed, workers=workers, **told,
        )  # fmt: skip
    _show_answer(answer, out, integer, with_report)


def plan_price(
    scenario: ScenarioArg,
    model: Annotated[str, typer.Option(help="GPU model whose list price to set.")],
    low_usd: Annotated[float, typer.Option(help="Lowest price tried, per GPU-hour.")],
    high_usd: Annotated[float, typer.Option(help="Highest price tried, per GPU-hour.")],
    objective: Annotated[str, typer.Option(help="Summary key to maximise.")] = "revenue_usd",
    metric: MetricOpt = "wait_p95_h_offered.paying",
    target: Annotated[float, typer.Option(help="The service level (default: none).")] = math.inf,
    tol_usd: Annotated[float, typer.Option(help="Stop when the bracket is this narrow.")] = 0.05,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The list price that maximises an objective, subject to a service level."""
    from planner.experiments import plan

    report_needs_out(with_report, out)
    with scenario_errors():
        sc = load(scenario, sets, engine)
    with _search(f"plan price for {model}", metric, price, objective) as told:
        answer = plan.best_price(
            sc, model, low_usd=low_usd, high_usd=high_usd, objective=objective, metric=metric,
            target=target, tol_usd=tol_usd, confidence=confidence, reps=reps, seed=seed,
            workers=workers, **told,
        )  # fmt: skip
    _show_answer(answer, out, price, with_report)


def plan_contract(
    scenario: ScenarioArg,
    tenant: Annotated[str, typer.Option(help="The paying tenant who commits to the GPUs.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="GPU model (default: the tenant's reservation's, else its first).",
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="Region (default: the reservation's, else the first with the model).",
            show_default=False,
        ),
    ] = None,
    price_usd: Annotated[
        float | None,
        typer.Option(
            "--price",
            help="Contract price per GPU-hour (default: the reservation's, else list "
            "price at the reserved tier).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Term start (default: the reservation's, else the scenario's start).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Term end (default: the reservation's, else the horizon's end).",
            show_default=False,
        ),
    ] = None,
    target_h: Annotated[
        float | None,
        typer.Option(
            help="The other paying customers' p95 wait limit, in hours (default: the "
            "scenario's slo.wait_p95_h.paying).",
            show_default=False,
        ),
    ] = None,
    high_gpus: Annotated[
        int | None, typer.Option(help="Most GPUs tried (default: the pool's unreserved GPUs).")
    ] = None,
    reps: RepsOpt = 8,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    workers: WorkersOpt = 1,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The most GPUs a tenant may commit to take or pay for before the other paying
    customers' p95 wait breaks its service level, with the fleet NPV at each candidate."""
    from planner.experiments import plan
    from planner.summary import PAYING_BESIDES

    report_needs_out(with_report, out)
    with scenario_errors():
        sc = load(scenario, sets, engine)
    metric = f"{PAYING_BESIDES}.{tenant}"
    with _search(f"plan contract for {tenant}", metric, integer, "npv_usd") as told:
        answer = plan.largest_contract(
            sc, tenant, model=model, region=region, price_usd_per_gpu_h=price_usd,
            start=start.date() if start else None, end=end.date() if end else None,
            target_h=target_h, high_gpus=high_gpus, confidence=confidence, reps=reps, seed=seed,
            workers=workers, **told,
        )  # fmt: skip
    _show_answer(answer, out, integer, with_report)


def plan_exit(
    scenario: ScenarioArg,
    cohort: Annotated[str, typer.Option(help="The cohort to sell, by name.")],
    reps: Annotated[
        int,
        typer.Option(
            "--reps",
            min=1,
            help="Replications (common random numbers); with 2 or more every NPV gets a 95% "
            "interval and the best exit's gain over keeping the cohort a paired one.",
        ),
    ] = 1,
    seed: SeedOpt = 0,
    sets: SetOpt = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 1,
    out: OutOpt = None,
    with_report: ReportOpt = False,
) -> None:
    """The month to sell a cohort that maximises its NPV: keep renting as simulated, or sell
    at its resale value."""
    from planner.experiments import plan

    report_needs_out(with_report, out)
    with scenario_errors():
        sc = load(scenario, sets, engine)
    warn_infeasible_credits(sc)
    bar = Progress(f"plan exit: simulating {sc.name}", unit=None)
    with interrupts(lambda: "nothing written"), bar, scenario_errors(scenario):
        answer = plan.best_exit(sc, cohort, seed, reps=reps, workers=workers, progress=bar.fraction)
    _show_exit(answer, out, with_report)


def _show_exit(answer: ExitAnswer, out: Path | None, with_report: bool) -> None:
    from planner.report import write_report
    from planner.report.exit import EXIT_ANSWER_FILE, EXIT_CURVE_FILE
    from planner.writers import write_json

    page = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        replace(out / EXIT_CURVE_FILE, lambda path: answer.curve.to_csv(path, index=False))
        write_json(answer.as_dict(), out / EXIT_ANSWER_FILE)
        if with_report:
            with scenario_errors():
                page = write_report(out, ["exit"])
    console = stdout()
    best = answer.best_exit_date.isoformat()
    if answer.best_exit == "sold":
        words = (
            f"sell {answer.cohort} on {best}: NPV {usd(answer.best_npv_usd)}, against "
            f"{usd(answer.kept_npv_usd)} if kept ({usd(answer.gain_usd)} more)"
        )
    else:
        words = f"keep {answer.cohort} ({answer.best_exit}): NPV {usd(answer.best_npv_usd)}"
    if answer.gain is None:
        runs = f"one run (seed {answer.seed})"
    else:
        gain = answer.gain
        runs = (
            f"mean of {answer.reps} replications (seed {answer.seed}); gain over keeping it "
            f"{usd(gain.mean)}, 95% interval {usd(gain.low)} to {usd(gain.high)}"
        )
    console.print(Text(f"best month to sell cohort {answer.cohort} of {answer.scenario}: {words}"
                       f"\n  {runs}, {answer.wall_s:,.1f} s"))  # fmt: skip
    columns = [("exit", "left"), ("age (years)", "right"), ("resale", "right"), ("NPV", "right")]
    if answer.gain is not None:
        columns += [("95% interval", "right"), ("best in", "right")]
    shown = table("NPV against exit month", *columns, ("", "left"))
    best_k = int(answer.curve["npv_usd"].argmax())
    for k, row in enumerate(answer.curve.itertuples(index=False)):
        label = str(row.exit) if row.exit != "sold" else ""
        if k == best_k:
            label = (label + " best").strip()
        cells = [str(row.exit_date)[:10], f"{row.age_years:.2f}", usd(row.resale_usd)]
        cells.append(usd(row.npv_usd))
        if answer.gain is not None:
            cells += [f"{usd(row.npv_low_usd)} to {usd(row.npv_high_usd)}"]
            cells += [f"{row.best_share:.0%}"]
        shown.add_row(*cells, label)
    console.print(shown)
    if page is not None:
        console.print(Text(f"wrote {page}"))


@contextmanager
def _search(
    what: str, metric: str, fmt: Callable[[Any], str], objective: str | None = None
) -> Iterator[dict[str, Any]]:
    """Progress and a line per candidate decided, for a search's ``progress`` and
    ``on_candidate``; bad input exits 2 and an interrupt says how far the search got."""
    bar = Progress(what, at_most=True)
    decided: list[Candidate] = []

    def told(candidate: Candidate) -> None:
        decided.append(candidate)
        bar.note(f"candidate {len(decided)} at {candidate_line(candidate, metric, fmt, objective)}")

    with (
        interrupts(lambda: f"{len(decided)} candidates decided (above); nothing written"),
        bar,
        scenario_errors(),
    ):
        yield {"progress": bar, "on_candidate": told}


def candidate_line(
    candidate: Candidate, metric: str, fmt: Callable[[Any], str], objective: str | None = None
) -> str:
    """``$380M: metric 12.3 [10.1, 14.5], meets (5.2 s)``: the value tried, the metric's mean
    and interval there, and whether its upper bound meets the target."""
    ci = candidate.interval
    words = [f"{fmt(candidate.x)}: {metric} {ci.mean:,.3g} [{ci.low:,.3g}, {ci.high:,.3g}],"]
    words.append("meets" if candidate.meets else "misses")
    if objective is not None and candidate.objective is not None:
        words.append(f"· {objective} {candidate.objective.mean:,.4g}")
    words.append(f"({candidate.wall_s:,.1f} s)")
    return " ".join(words)


def _show_answer(
    answer: Answer, out: Path | None, fmt: Callable[[Any], str], with_report: bool
) -> None:
    from planner.report import write_report
    from planner.report.inputs import ANSWER_FILE
    from planner.writers import write_json

    page = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        replace(out / "evaluations.csv", lambda path: answer.table().to_csv(path, index=False))
        write_json(answer_dict(answer), out / ANSWER_FILE)
        if with_report:
            with scenario_errors():
                page = write_report(out, ["plan"])
    console = stdout()
    console.print(planning_answer(answer, fmt))
    console.print(evaluations(answer, fmt))
    if page is not None:
        console.print(Text(f"wrote {page}"))


def answer_dict(answer: Answer) -> dict[str, Any]:
    """What a planning query asked and found, beside its evaluations (JSON-ready: an
    unbounded target or an answer not found is null)."""
    return {
        "question": answer.question,
        "metric": answer.metric,
        "target": finite(answer.target),
        "confidence": answer.confidence,
        "answer": finite(answer.answer),
        "bracket": list(answer.bracket) if answer.bracket is not None else None,
        "reps": answer.reps,
        "seed": answer.seed,
        "variable": answer.variable,
        "unit": answer.unit,
        "today": finite(answer.today),
        "unit_cost_usd": finite(answer.unit_cost_usd),
    }


def planning_answer(answer: Answer, fmt: Callable[[Any], str]) -> Text:
    """The answer in words: the value, the metric there with its interval, the cost."""
    lines = [f"{answer.question}: "]
    if answer.answer is None:
        lines.append(f"none: even the most favourable end fails {answer.metric} <= "
                     f"{answer.target:g}")  # fmt: skip
    else:
        lines.append(fmt(answer.answer))
        if answer.at_answer is not None:
            ci = answer.at_answer.interval
            lines.append(
                f"\n  {answer.metric} there: {ci.mean:,.3g} (one-sided {answer.confidence:.0%} "
                f"upper bound {ci.high:,.3g} <= target {answer.target:g})"
            )
        if answer.bracket is not None:
            meets, fails = answer.bracket
            lines.append(f"\n  meets at {fmt(meets)}, fails at {fmt(fails)}")
    lines.append(
        f"\n  {len(answer.evaluations)} candidates x {answer.reps} replications "
        f"(seed {answer.seed}), {answer.wall_s:,.1f} s"
    )
    return Text("".join(lines))


def evaluations(answer: Answer, fmt: Callable[[Any], str]) -> Table:
    """Each candidate tried: the metric's mean and interval, whether it meets, and the mean of
    the objective where the query judged one."""
    objective = [(answer.objective, "right")] if answer.objective else []
    shown = table(
        "evaluations",
        ("step", "right"), ("candidate", "right"), (answer.metric, "right"),
        ("CI", "right"), ("meets", "left"), *objective, ("s", "right"),
    )  # fmt: skip
    for row in answer.table().itertuples():
        judged = [_objective_cell(answer.objective, row.objective_mean)] if objective else []
        shown.add_row(
            str(row.step),
            fmt(row.x),
            f"{row.metric_mean:,.3g}",
            f"[{row.metric_low:,.3g}, {row.metric_high:,.3g}]",
            "yes" if row.meets else "no",
            *judged,
            f"{row.wall_s:,.1f}",
        )
    return shown


def _objective_cell(objective: str | None, mean: Any) -> str:
    return usd(mean) if objective is not None and objective.endswith("_usd") else f"{mean:,.4g}"
