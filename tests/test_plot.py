"""planner.plot: every report figure as a matplotlib Figure from a result, and the data of the
figures that help a planner decide (the heatmap, the queue's breakdown, the burn a credit deal
needs, the plan against its decision variable), each checked against a direct computation
from the run's own tables."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import planner
from planner import plot
from planner.experiments import plan
from planner.experiments.sweep import sweep
from planner.report import credits, queue, utilisation
from planner.report.build import sections
from planner.report.experiment_sections import plan_section, sweep_section
from planner.report.html import header, page
from planner.report.inputs import SweepData, plan_data, run_data
from planner.report.plotting import MODEL_COLOURS, png
from planner.report.run_section import run_section
from tests.test_report import review_dict


@pytest.fixture(scope="module")
def res() -> planner.RunResult:
    return planner.simulate(planner.Scenario.model_validate(review_dict()), seed=1)


@pytest.fixture(scope="module")
def gpus_answer() -> plan.Answer:
    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 5})
    return plan.fewest_gpus(sc, "0", target=0.3, low_gpus=8, high_gpus=32, reps=2)


@pytest.fixture(scope="module")
def sweep_rows(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 3})
    out = tmp_path_factory.mktemp("sweep")
    return sweep(sc, out, grid={"fleet.0.gpus": [14, 16, 18]}, reps=2, workers=1)


# -- the public module ---------------------------------------------------------------------------


def test_import_planner_gives_plot_without_importing_matplotlib() -> None:
    code = "import sys, planner; m = planner.plot; print(m.__name__, 'matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["planner.plot", "False"]


def test_each_function_returns_a_matplotlib_figure_from_a_run_result(
    res: planner.RunResult,
) -> None:
    from matplotlib.figure import Figure

    for draw in (
        plot.in_service, plot.utilisation, plot.utilisation_heatmap, plot.waits, plot.queue,
        plot.credits, plot.prices, plot.value, plot.cash_flow, plot.failures,
    ):  # fmt: skip
        fig = draw(res)
        assert isinstance(fig, Figure) and fig.axes, draw.__name__
        assert png(fig).startswith(b"\x89PNG")


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Wrap every public drawing function of planner.plot to record what it drew."""
    drawn: list[tuple[str, Any]] = []

    def wrap(name: str, draw: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            fig = draw(*args, **kwargs)
            drawn.append((name, fig))
            return fig

        return spy

    for name in plot.__all__:
        value = getattr(plot, name)
        if callable(value):
            monkeypatch.setattr(plot, name, wrap(name, value))
    return drawn


def test_every_report_figure_comes_from_planner_plot(
    res: planner.RunResult,
    gpus_answer: plan.Answer,
    sweep_rows: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = _spy(monkeypatch)
    built = [
        run_section(run_data(res)),
        sweep_section(SweepData(sweep_rows, "mmc", 2, 0)),
        plan_section(plan_data(gpus_answer)),
    ]
    figures = [figure for section in built for figure in section.figures]
    assert len(figures) == len(drawn) == 13  # ten of the run, two of the sweep, the plan
    assert [name for name, _ in drawn] == [
        "in_service", "utilisation", "waits", "utilisation_heatmap", "queue", "credits",
        "prices", "value", "cash_flow", "failures", "response", "paired", "plan",
    ]  # fmt: skip
    for figure, (_, drawn_figure) in zip(figures, drawn, strict=True):
        width, height = drawn_figure.canvas.get_width_height()
        assert figure.png[16:24] == width.to_bytes(4, "big") + height.to_bytes(4, "big")


# -- the heatmap and the queue --------------------------------------------------------------------


def test_the_heatmap_is_busy_over_in_service_gpu_hours_per_pool_and_month_from_the_runs(
    res: planner.RunResult,
) -> None:
    sc = res.scenario
    monthly = utilisation.monthly_utilisation(res.pool_timeseries, sc.horizon_h)
    grid = utilisation.heatmap(monthly)
    edges = [0.0]
    for month in grid.columns[1:]:
        edges.append((pd.Timestamp(month) - pd.Timestamp(sc.start)) / pd.Timedelta(hours=1))
    edges.append(sc.horizon_h)
    runs = res.runs
    for pool in grid.index:
        model, region = pool.split(" · ")
        mine = runs[(runs["gpu_model"] == model) & (runs["region"] == region)]
        for k, month in enumerate(grid.columns):
            lo, hi = edges[k], edges[k + 1]
            overlap = np.clip(mine["to_h"].to_numpy(), lo, hi) - np.clip(
                mine["from_h"].to_numpy(), lo, hi
            )
            busy = float((overlap * mine["gpus"].to_numpy()).sum())
            served = float(
                monthly[(monthly["pool"] == pool) & (monthly["month"] == month)][
                    "in_service_gpu_h"
                ].iloc[0]
            )
            assert grid.loc[pool, month] == pytest.approx(busy / served, rel=1e-9)
    drawn = plot.utilisation_heatmap(res).axes[0].images[0].get_array()
    np.testing.assert_allclose(np.ma.filled(drawn, np.nan), grid.to_numpy(), equal_nan=True)


def _daily_waiting(jobs: pd.DataFrame, horizon_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Each day's time-average of jobs (and GPUs) submitted and not yet started, by overlap."""
    submit = jobs["submit_h"].to_numpy()
    started = jobs["start_h"].to_numpy(dtype=float, na_value=np.nan)
    until = np.where(np.isnan(started), horizon_h, started)
    days = np.arange(0.0, horizon_h, 24.0)
    overlap = np.clip(until[:, None], days, days + 24.0) - np.clip(
        submit[:, None], days, days + 24.0
    )
    overlap = np.clip(overlap, 0.0, None) / 24.0
    return overlap.sum(axis=0), (overlap * jobs["gpus"].to_numpy()[:, None]).sum(axis=0)


def test_the_queue_by_class_and_by_pool_counts_each_waiting_job_once_where_it_started(
    res: planner.RunResult,
) -> None:
    sc, jobs = res.scenario, res.jobs
    by_class, by_pool = plot.queue_breakdown(run_data(res))
    total = by_class.groupby("date", sort=True)["jobs_queued"].sum().to_numpy()
    np.testing.assert_allclose(total, res.timeseries["jobs_queued"].to_numpy(), rtol=1e-9)
    gpus = by_pool.groupby("date", sort=True)["gpus_queued"].sum().to_numpy()
    np.testing.assert_allclose(gpus, res.timeseries["gpus_queued"].to_numpy(), rtol=1e-9)
    pools = queue.job_pools(jobs)
    for pool in set(pools):
        want_jobs, want_gpus = _daily_waiting(jobs[pools == pool], sc.horizon_h)
        mine = by_pool[by_pool["group"] == pool]
        np.testing.assert_allclose(mine["jobs_queued"], want_jobs, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(mine["gpus_queued"], want_gpus, rtol=1e-9, atol=1e-9)
    paying = by_class[by_class["group"] == "paying"]
    want, _ = _daily_waiting(jobs[jobs["tenant_class"] == "paying"], sc.horizon_h)
    np.testing.assert_allclose(paying["jobs_queued"], want, rtol=1e-9, atol=1e-9)


# -- credit deals ---------------------------------------------------------------------------------


def test_the_burn_needed_is_what_is_left_over_the_days_to_expiry_from_the_ledger_rows(
    res: planner.RunResult,
) -> None:
    sc = res.scenario
    rates = credits.burn_rates(res.credit_ledger, sc)
    ledger = res.credit_ledger[res.credit_ledger["tenant"] == "startup"].sort_values("from_h")
    expires_h = sc.hours_since_start(sc.tenants[1].credit.expires)
    granted_h = sc.hours_since_start(sc.tenants[1].credit.granted)
    checked = 0
    for i, row in enumerate(ledger.itertuples(index=False)):
        before = ledger.iloc[:i]
        left = (
            before["credits_granted_usd"].sum()
            - before["credits_burned_usd"].sum()
            - before["credits_forfeited_usd"].sum()
            + row.credits_granted_usd
        )
        began = max(row.from_h, granted_h)
        mine = rates[(rates["tenant"] == "startup") & (rates["month"] == pd.Timestamp(row.month))]
        if began >= expires_h or row.to_h <= granted_h:
            continue
        assert mine["needed_usd_per_day"].iloc[0] == pytest.approx(
            left / ((expires_h - began) / 24.0)
        )
        days = (min(row.to_h, expires_h) - began) / 24.0
        assert mine["burned_usd_per_day"].iloc[0] == pytest.approx(row.credits_burned_usd / days)
        checked += 1
    assert checked == 2  # January (from the grant) and February (to the expiry)
    forfeited = float(ledger["credits_forfeited_usd"].sum())
    assert rates.loc[rates["tenant"] == "startup", "forfeited_usd"].sum() == pytest.approx(
        forfeited
    )


def test_a_forfeit_is_drawn_and_tabled_as_a_loss_not_at_the_baseline(
    res: planner.RunResult,
) -> None:
    forfeited = float(res.credit_ledger["credits_forfeited_usd"].sum())
    assert forfeited > 0
    fig = plot.credits(res)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(re.search(r"startup forfeits \$[\d.,]+K?: lost", t) for t in texts)
    top = fig.axes[0]
    # No marker sits on the zero line (the expiry crosses that blurred into one blob).
    for line in top.get_lines():
        ys = np.asarray(line.get_ydata(), dtype=float)
        if line.get_marker() not in ("None", "", None) and line.get_linestyle() == "None":
            assert not np.any((ys == 0.0) & (np.asarray(line.get_xdata()).size == 1))
    section = run_section(run_data(res))
    figure = next(f for f in section.figures if f.name == "credits")
    deals = dict(figure.tables)["per deal"]
    assert deals["forfeited_usd_lost"].iloc[0] == pytest.approx(forfeited)
    assert "a loss" in figure.caption
    assert "(USD, lost)" in page("t", "m", [section])


# -- planning ------------------------------------------------------------------------------------


def test_the_plan_figure_plots_the_metric_against_the_decision_variable(
    gpus_answer: plan.Answer,
) -> None:
    fig = plot.plan(gpus_answer)
    ax = fig.axes[0]
    tried = sorted(c.x for c in gpus_answer.evaluations)
    plotted = sorted(x for line in ax.get_lines() for x in np.atleast_1d(line.get_xdata()))
    for x in tried:
        assert x in plotted
    assert gpus_answer.answer is not None
    assert gpus_answer.today == 16.0 and gpus_answer.unit_cost_usd is not None
    labels = ax.get_legend_handles_labels()[1]
    assert "today 16" in labels
    assert f"answer {gpus_answer.answer:,.0f}" in labels
    assert any(label.startswith("target 0.3 h") for label in labels)
    assert ax.get_xlabel() == "GPUs in cohort H800-r-0"
    section = plan_section(plan_data(gpus_answer))
    facts = dict(section.facts)
    assert facts["answer"] == f"16 GPUs → {gpus_answer.answer:,.0f} GPUs"
    extra = gpus_answer.answer - 16
    assert facts["what it costs"].startswith(f"{extra:,.0f} more GPUs, $")


def test_a_sweeps_p95_panel_carries_the_slo_and_readable_titles(sweep_rows: pd.DataFrame) -> None:
    rows = sweep_rows.assign(**{"wait_p95_h.paying": sweep_rows["wait_mean_h.all"] + 1.0})
    fig = plot.response(rows, ["utilisation", "wait_p95_h.paying"], slo_h={"paying": 2.0})
    wait = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("p95 wait"))
    assert wait.get_title(loc="left") == "p95 wait, paying (hours)"
    assert any(
        list(line.get_ydata()) == [2.0, 2.0] and line.get_label() == "SLO 2 h"
        for line in wait.get_lines()
    )


# -- small things ---------------------------------------------------------------------------------


def test_a_gpu_model_keeps_its_colour_across_figures(res: planner.RunResult) -> None:
    from matplotlib.colors import to_hex

    stacks = plot.in_service(res).axes[0].collections
    by_label = {c.get_label(): to_hex(c.get_facecolor()[0], keep_alpha=False) for c in stacks}
    lines = {ln.get_label(): to_hex(ln.get_color()) for ln in plot.prices(res).axes[0].lines}
    for model in ("H800", "A800"):
        assert by_label[model] == lines[model] == MODEL_COLOURS[model].lower()


def test_table_headers_read_as_words_with_units() -> None:
    assert header("capex_left_at_full_use_usd") == "capex left at full use (USD)"
    assert header("H800 usd_per_gpu_h") == "H800 (USD per GPU-hour)"
    assert header("credit p95_wait_h") == "credit p95 wait (hours)"
    assert header("param.scheduler.kind") == "scheduler.kind"


def test_the_contents_list_only_sections_with_a_figure(tmp_path: Path) -> None:
    d = review_dict()
    del d["failures"]
    calm = planner.simulate(planner.Scenario.model_validate(d), seed=0)
    built = sections(tmp_path, run=run_data(calm))
    html = page("t", "m", built)
    nav = html[html.index("<nav>") : html.index("</nav>")]
    assert "Goodput and GPUs down" not in nav and "Utilisation by pool and month" in nav
    assert re.search(r"Not shown: <span [^>]*>Failures are off", html)
    heads = re.findall(r"<th>([^<]*)</th>", html)
    assert heads and not [h for h in heads if re.search(r"_(usd|h|gpus)\b", h)]
