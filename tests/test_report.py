"""The HTML report: each figure's data is checked against the run's tables (the data, not the
pixels), the page is self-contained, and the command line writes it for every kind of result."""

from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner, Result

import planner
from planner.cli import app
from planner.experiments import plan
from planner.report import (
    REPORT_FILE,
    cohort_value,
    credits,
    failures,
    fleet,
    prices,
    queue,
    response,
    run_data,
    search,
    sections,
    utilisation,
    waits,
    write_report,
)
from planner.report import sensitivity as tornado_data
from planner.report.figure import Figure, Note
from planner.report.formats import hours, usd
from planner.report.run_section import run_section

START = date(2024, 1, 15)
BAN = date(2024, 1, 20)
DELIVERY = date(2024, 1, 25)
LAUNCH = date(2024, 2, 4)
EXPIRY = date(2024, 2, 14)
RUN_FIGURES = (
    "in-service",
    "utilisation",
    "waits",
    "utilisation-heatmap",
    "queue",
    "credits",
    "prices",
    "value",
    "cash",
)


def review_dict(**changes: Any) -> dict[str, Any]:
    """Fifty days from 15 Jan 2024, so parts of three calendar months: 32 H800 and 16 A800 in one
    region; 16 more H800 delivered on 25 Jan; an A800 order the ban of 20 Jan cancels; B200
    launches on 4 Feb and cuts prices by 20%; a paying tenant and a credit start-up whose
    $20,000 grant runs from 18 Jan to 14 Feb; nodes fail."""
    d: dict[str, Any] = {
        "name": "review",
        "start": START.isoformat(),
        "horizon_days": 50,
        "regions": [{"name": "r1", "pod_gpus": 64, "gpus_per_node": 8}],
        "fleet": [
            {"model": "H800", "region": "r1", "gpus": 32, "acquired": "2023-06-01"},
            {"model": "A800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"},
        ],
        "orders": [
            {"model": "H800", "region": "r1", "gpus": 16, "ordered": "2024-01-15",
             "lead_days": 10},
            {"model": "A800", "region": "r1", "gpus": 16, "ordered": "2024-01-15",
             "lead_days": 30},
        ],
        "export_controls": [{"effective": BAN.isoformat(), "ban": ["A800"]}],
        "market": {
            "prices": {
                "H800": {"usd_per_gpu_h": 2.0, "annual_decline": 0.0},
                "A800": {"usd_per_gpu_h": 1.0, "annual_decline": 0.0},
            },
            "successor_launches": [{"name": "B200", "date": LAUNCH.isoformat(), "drop": 0.2}],
            "price_cuts": [],
        },
        "tenants": [
            {
                "name": "acme",
                "class": "paying",
                "models": ["H800", "A800"],
                "workload": {
                    "arrivals": {"kind": "poisson", "per_day": 24},
                    "gpus": {"kind": "choice", "values": [1, 8, 16]},
                    "work_gpu_h": {"kind": "exponential", "mean": 20},
                },
            },
            {
                "name": "startup",
                "class": "credit",
                "models": ["H800"],
                "credit": {"amount_usd": 20000, "granted": "2024-01-18",
                           "expires": EXPIRY.isoformat()},
                "workload": {
                    "arrivals": {"kind": "poisson", "per_day": 10},
                    "gpus": {"kind": "constant", "value": 8},
                    "work_gpu_h": {"kind": "exponential", "mean": 30},
                },
            },
        ],
        "failures": {
            "node_per_1000_node_days": 30,
            "repair_days": {"kind": "constant", "value": 1},
            "checkpoint": {"kind": "fixed", "interval_min": 30},
            "restart_min": 10,
        },
    }  # fmt: skip
    d.update(changes)
    return d


@pytest.fixture(scope="module")
def res() -> planner.RunResult:
    return planner.simulate(planner.Scenario.model_validate(review_dict()), seed=1)


def moment(t_h: float) -> datetime:
    return datetime(START.year, START.month, START.day) + timedelta(hours=t_h)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


# -- a run's figure data -------------------------------------------------------------------------


def test_gpus_in_service_by_model_add_up_to_the_fleet_each_day(res: planner.RunResult) -> None:
    series = fleet.in_service_by_model(res.pool_timeseries)
    per_day = series.groupby("date")["in_service_gpus"].sum().to_numpy()
    np.testing.assert_allclose(per_day, res.timeseries["gpus_in_service"].to_numpy())


def test_gpus_in_service_step_up_by_the_delivery_on_its_day(res: planner.RunResult) -> None:
    """H800: 32 GPUs until 25 Jan, then 48; the A800 order is cancelled, so 16 A800 throughout."""
    series = fleet.in_service_by_model(res.pool_timeseries).set_index(["date", "gpu_model"])
    gpus = series["in_service_gpus"]
    day_before, day_of = pd.Timestamp(DELIVERY - timedelta(days=1)), pd.Timestamp(DELIVERY)
    assert gpus[(day_before, "H800")] == 32 and gpus[(day_of, "H800")] == 48
    assert set(gpus.xs("A800", level="gpu_model")) == {16.0}


def test_fleet_events_mark_the_ban_the_delivery_the_cancelled_order_and_the_launch(
    res: planner.RunResult,
) -> None:
    events = fleet.fleet_events(res.scenario, res.orders, res.cohorts)
    found = {(row.kind, row.date.date(), row.label) for row in events.itertuples()}
    assert found == {
        ("export control", BAN, "ban A800"),
        ("order stopped", BAN, "16 A800 cancelled"),
        ("delivery", DELIVERY, "16 H800"),
        ("successor launch", LAUNCH, "B200"),
    }
    assert list(events["date"]) == sorted(events["date"])


def test_monthly_utilisation_per_pool_agrees_with_the_ledger(res: planner.RunResult) -> None:
    """The daily pool table and the monthly cohort ledger are built apart; per pool and month
    they must give the same busy and in-service GPU-hours."""
    monthly = utilisation.monthly_utilisation(res.pool_timeseries, res.scenario.horizon_h)
    ledger = res.ledger.assign(month=pd.to_datetime(res.ledger["month"].astype(str)))
    expected = ledger.groupby(["month", "gpu_model", "region"])[
        ["busy_gpu_h", "in_service_gpu_h"]
    ].sum()
    got = monthly.set_index(["month", "gpu_model", "region"])
    assert len(got) == len(expected) == 3 * 2
    for key, row in expected.iterrows():
        assert got.loc[key, "busy_gpu_h"] == pytest.approx(row["busy_gpu_h"], rel=1e-9)
        assert got.loc[key, "utilisation"] == pytest.approx(
            row["busy_gpu_h"] / row["in_service_gpu_h"], rel=1e-9
        )


def test_monthly_p95_wait_is_the_quantile_of_that_months_jobs(res: planner.RunResult) -> None:
    """Month of submission, computed here from calendar dates; a job still queued at the
    horizon waits until then."""
    monthly = waits.monthly_waits(res.jobs, res.scenario.start, res.scenario.horizon_h)
    jobs = res.jobs
    horizon_h = res.scenario.horizon_h
    month_of = [moment(t).strftime("%Y-%m") for t in jobs["submit_h"]]
    wait = [horizon_h - s if math.isnan(w) else w for s, w in zip(jobs["submit_h"],
            jobs["wait_h"], strict=True)]  # fmt: skip
    table = pd.DataFrame({"month": month_of, "cls": jobs["tenant_class"].astype(str), "w": wait})
    assert len(monthly) == table.groupby(["month", "cls"]).ngroups
    for row in monthly.itertuples():
        mine = table[(table["month"] == row.month.strftime("%Y-%m")) & (table["cls"] ==
                     row.tenant_class)]["w"]  # fmt: skip
        assert row.jobs == len(mine)
        assert row.p95_wait_h == pytest.approx(np.percentile(mine, 95))
        assert row.p50_wait_h == pytest.approx(np.percentile(mine, 50))


def test_queue_length_is_the_daily_timeseries_and_its_monthly_means(
    res: planner.RunResult,
) -> None:
    series = queue.queue_length(res.timeseries)
    np.testing.assert_array_equal(series["jobs_queued"], res.timeseries["jobs_queued"])
    monthly = queue.monthly_queue(series)
    february = res.timeseries[res.timeseries["date"].astype(str).str.startswith("2024-02")]
    row = monthly[monthly["month"] == pd.Timestamp("2024-02-01")].iloc[0]
    assert row["mean_jobs_queued"] == pytest.approx(february["jobs_queued"].mean())
    assert row["max_daily_jobs_queued"] == february["jobs_queued"].max()


def test_credit_balance_follows_the_ledger_and_forfeits_what_is_left_at_expiry(
    res: planner.RunResult,
) -> None:
    series = credits.burn_down(res.credit_ledger, res.credit_events, res.scenario.start)
    mine = series[series["tenant"] == "startup"]
    ledger = res.credit_ledger[res.credit_ledger["tenant"] == "startup"]
    ends = mine[mine["point"] == "month end"]
    spent = (
        ledger["credits_burned_usd"].cumsum() + ledger["credits_forfeited_usd"].cumsum()
    ).to_numpy()
    # To a micro-dollar: a balance spent to zero is a difference of cumulative sums.
    np.testing.assert_allclose(
        ends["left_usd"], ledger["credits_granted_usd"].cumsum() - spent, atol=1e-6
    )
    deal = res.tenants.set_index("tenant").loc["startup"]
    assert ends["left_usd"].iloc[-1] == pytest.approx(deal["credits_left_usd"], abs=1e-6)
    expired = mine[mine["point"] == "expired"]
    assert list(expired["date"]) == [pd.Timestamp(EXPIRY)] * 2
    assert expired["left_usd"].tolist() == pytest.approx([deal["credits_forfeited_usd"], 0.0])
    granted = mine[mine["point"] == "granted"]
    assert granted["left_usd"].tolist() == [0.0, 20000.0]
    deals = credits.credit_deals(res.scenario)
    assert deals.set_index("tenant").loc["startup", "expires"] == pd.Timestamp(EXPIRY)


def test_the_burn_down_table_shows_each_balance_under_the_month_it_closes(
    res: planner.RunResult,
) -> None:
    """The balance left at the end of a month, by the ledger's own months: granted less burned
    and forfeited in that month and every month before it."""
    table = credits.burn_down_table(
        credits.burn_down(res.credit_ledger, res.credit_events, res.scenario.start)
    )
    ledger = res.credit_ledger[res.credit_ledger["tenant"] == "startup"]
    left = (
        ledger["credits_granted_usd"]
        - ledger["credits_burned_usd"]
        - ledger["credits_forfeited_usd"]
    ).cumsum()
    by_month = dict(zip(pd.to_datetime(ledger["month"]).dt.to_period("M"), left, strict=True))
    shown = table.set_index(pd.to_datetime(table["month_end"]).dt.to_period("M"))
    assert list(shown.index) == list(by_month)
    for month, expected in by_month.items():
        assert shown.loc[month, "startup left_usd"] == pytest.approx(expected, abs=1e-6)


def test_price_curves_step_down_by_the_launch_drop_on_its_date(res: planner.RunResult) -> None:
    curves = prices.price_curves(res.scenario)
    launch_h = res.scenario.hours_since_start(LAUNCH)
    for model, list_usd in (("H800", 2.0), ("A800", 1.0)):
        mine = curves[curves["gpu_model"] == model]
        before = mine[mine["t_h"] < launch_h]["usd_per_gpu_h"]
        after = mine[mine["t_h"] >= launch_h]["usd_per_gpu_h"]
        assert set(before) == {list_usd}
        assert after.to_numpy() == pytest.approx(np.full(len(after), list_usd * 0.8))
    events = prices.price_events(res.scenario)
    assert events[["label", "models"]].to_numpy().tolist() == [["launch of B200", "H800, A800"]]
    assert events["date"].tolist() == [pd.Timestamp(LAUNCH)]


def test_price_curves_agree_with_what_the_ledger_says_full_use_would_earn(
    res: planner.RunResult,
) -> None:
    """Potential revenue per in-service GPU-hour is the month's mean list price."""
    curves = prices.price_curves(res.scenario, step_h=0.25)
    ledger = res.ledger[res.ledger["in_service_gpu_h"] > 0]
    for row in ledger.itertuples():
        if row.gpus_in_service != row.in_service_gpu_h / (row.to_h - row.from_h):
            continue  # a cohort entering service mid-month is priced over part of it
        mine = curves[(curves["gpu_model"] == row.gpu_model) & (curves["t_h"] >= row.from_h)
                      & (curves["t_h"] < row.to_h)]  # fmt: skip
        mean_usd = row.potential_revenue_usd / row.in_service_gpu_h
        assert mine["usd_per_gpu_h"].mean() == pytest.approx(mean_usd, rel=2e-3)


def test_value_bars_are_amounts_of_money_none_below_zero(res: planner.RunResult) -> None:
    """Capex beside revenue net of opex, internal value and resale or terminal value: every bar
    is at least zero, the axis starts at zero, and the share back is the cash flows' own."""
    table = cohort_value.value_table(res)
    flows = res.cash_flows.groupby("cohort")[["revenue_usd", "opex_usd", "resale_usd"]].sum()
    for row in table.itertuples():
        mine = flows.loc[row.cohort]
        assert row.revenue_usd == pytest.approx(mine["revenue_usd"])
        assert row.earned_net_of_opex_usd == max(0.0, row.revenue_usd - row.opex_usd)
        assert row.opex_not_covered_usd == max(0.0, row.opex_usd - row.revenue_usd)
        back = row.revenue_usd - row.opex_usd + row.resale_or_terminal_usd
        assert row.share_back == pytest.approx(back / row.capex_usd)
    assert table["capex_usd"].sum() == pytest.approx(res.summary()["capex_usd"])
    ax = cohort_value.value_bars(res).axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 4 * len(table) and min(heights) >= 0.0
    assert ax.get_ylim()[0] == 0.0


def test_cumulative_cash_ends_at_each_cohorts_net_cash_flow_and_marks_its_paybacks(
    res: planner.RunResult,
) -> None:
    wide = cohort_value.monthly_cumulative(res)
    for row in res.cohorts.itertuples():
        assert wide[row.cohort].iloc[-1] == pytest.approx(row.net_cash_flow_usd)
    ax = cohort_value.cumulative_cash(res).axes[0]
    dated = res.cohorts[["net_payback_date", "discounted_payback_date"]].notna().to_numpy().sum()
    markers = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert len(markers) == dated
    assert "cohorts paid back in cash" in cohort_value.cumulative_cash_caption(res)


def test_failure_figure_data_counts_every_failure_and_the_gpus_down(
    res: planner.RunResult,
) -> None:
    down = failures.gpus_down(res.timeseries)
    np.testing.assert_array_equal(down["gpus_down"], res.timeseries["gpus_down"])
    monthly = failures.monthly_failures(down, res.failures, res.scenario.start)
    assert len(res.failures) > 0
    assert monthly["node_failures"].sum() == len(res.failures)
    by_month = pd.Series([moment(t).strftime("%Y-%m") for t in res.failures["t_h"]])
    counts = by_month.value_counts()
    for row in monthly.itertuples():
        assert row.node_failures == counts.get(row.month.strftime("%Y-%m"), 0)
    goodput = failures.cohort_goodput(res.cohorts)
    assert goodput["goodput"].tolist() == res.cohorts["goodput"].tolist()


# -- experiments' figure data --------------------------------------------------------------------


def sweep_rows() -> pd.DataFrame:
    """Three points of one parameter, three replications each, written out by hand."""
    return pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1, 2, 2, 2],
            "rep": [0, 1, 2] * 3,
            "seed": [0] * 9,
            "param.fleet.0.gpus": [16] * 3 + [24] * 3 + [32] * 3,
            "utilisation": [0.9, 0.8, 0.85, 0.7, 0.65, 0.66, 0.5, 0.52, 0.49],
            "wait_p95_h.paying": [3.0, 4.0, 3.5, 1.0, 1.2, 0.9, 0.1, 0.0, math.inf],
        }
    )


def test_response_curve_band_of_a_share_is_the_logit_interval_over_replications() -> None:
    """Utilisation is a share: the t interval is formed for the logit of the mean."""
    rows = sweep_rows()
    curves = response.response_curves(rows, ["utilisation"])
    assert curves["point"].tolist() == [0, 1, 2]
    for row in curves.itertuples():
        values = rows[rows["point"] == row.point]["utilisation"].to_numpy()
        mean = values.sum() / 3
        half = stats.t.ppf(0.975, 2) * math.sqrt(((values - mean) ** 2).sum() / 2) / math.sqrt(3)
        logit, spread = math.log(mean / (1 - mean)), half / (mean * (1 - mean))
        low, high = (1 / (1 + math.exp(-(logit + k * spread))) for k in (-1, 1))
        assert row.n == 3
        assert row.mean == pytest.approx(mean)
        assert (row.low, row.high) == (pytest.approx(low), pytest.approx(high))
    assert curves["param.fleet.0.gpus"].tolist() == [16, 24, 32]
    assert response.x_parameter(rows) == "param.fleet.0.gpus"


def test_response_curve_has_no_band_where_a_replication_is_infinite_or_alone() -> None:
    rows = sweep_rows()
    curves = response.response_curves(rows, ["wait_p95_h.paying"])
    last = curves[curves["point"] == 2].iloc[0]
    assert math.isinf(last["mean"]) and math.isnan(last["low"]) and math.isnan(last["high"])
    alone = response.response_curves(rows[rows["rep"] == 0], ["utilisation"])
    assert alone["n"].tolist() == [1, 1, 1] and alone["low"].isna().all()
    assert alone["mean"].tolist() == [0.9, 0.7, 0.5]


def test_headline_metrics_are_those_the_rows_hold_with_a_finite_value() -> None:
    rows = sweep_rows().assign(revenue_usd=math.nan)
    assert response.headline_metrics(rows) == ["utilisation", "wait_p95_h.paying"]


def test_search_path_has_one_row_per_evaluation_in_the_order_made() -> None:
    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 2})
    answer = planner.plan.fewest_gpus(
        sc, "0", target=0.3, metric="wait_mean_h.all", low_gpus=13, high_gpus=24, reps=2
    )
    path = search.search_path(answer.table())
    assert path["step"].tolist() == list(range(len(answer.evaluations)))
    assert path["candidate"].tolist() == [c.x for c in answer.evaluations]
    assert path["meets"].tolist() == [c.meets for c in answer.evaluations]
    assert path["metric_high"].tolist() == [c.interval.high for c in answer.evaluations]
    as_written = pd.read_csv(StringIO(answer.table().to_csv(index=False)))
    pd.testing.assert_frame_equal(search.search_path(as_written), path)


def test_tornado_bars_span_each_parameters_two_ends_widest_swing_first() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["a", "b", "c"],
            "low_value": [1, 2, 3],
            "high_value": [4, 5, 6],
            "at_low": [10.0, 12.0, 9.0],
            "at_high": [11.0, 4.0, 13.0],
            "base": [10.5] * 3,
            "swing": [1.0, 8.0, 4.0],
        }
    )
    bars = tornado_data.tornado_bars(table)
    assert bars["parameter"].tolist() == ["b", "c", "a"]
    assert bars["left"].tolist() == [4.0, 9.0, 10.0]
    assert bars["right"].tolist() == [12.0, 13.0, 11.0]
    assert bars["at_low_half_width"].isna().all()


# -- captions, sections and the page --------------------------------------------------------------


def test_a_run_section_has_every_figure_and_captions_state_computed_numbers(
    res: planner.RunResult,
) -> None:
    section = run_section(run_data(res))
    names = [item.name for item in section.items if isinstance(item, Figure)]
    assert names == [*RUN_FIGURES, "failures"]
    caption = next(f.caption for f in section.figures if f.name == "waits")
    monthly = waits.monthly_waits(res.jobs, res.scenario.start, res.scenario.horizon_h)
    assert f"{hours(monthly['p95_wait_h'].max())} h" in caption
    assert "no SLO" in caption
    for item in section.figures:
        assert item.png.startswith(b"\x89PNG") and item.tables and item.caption


@pytest.fixture(scope="module")
def impatient() -> planner.RunResult:
    """The review with a paying tenant that balks at an expected wait over 3 h and leaves after
    30 waits that long: many of its jobs are turned away."""
    d = review_dict()
    d["tenants"][0]["patience"] = {"balk_wait_h": 3.0, "churn_wait_h": 3.0, "churn_after": 30}
    return planner.simulate(planner.Scenario.model_validate(d), seed=1)


def test_the_waits_figure_shows_the_wait_offered_beside_the_wait_served(
    impatient: planner.RunResult,
) -> None:
    """Per class, the served p95 (jobs submitted) beside the offered p95 (jobs turned away never
    start) and the count turned away, which the tenants table gives as balked + lost to churn."""
    summary, tenants = impatient.summary(), impatient.tenants
    section = run_section(run_data(impatient))
    figure = next(f for f in section.figures if f.name == "waits")
    tables = dict(figure.tables)
    by_class = tables["p95 wait served and offered over the horizon (hours)"].set_index(
        "tenant_class"
    )
    assert list(by_class.index) == ["paying", "credit"]
    for cls, row in by_class.iterrows():
        of_class = tenants[tenants["tenant_class"] == cls]
        away = int((of_class["jobs_balked"] + of_class["jobs_lost_to_churn"]).sum())
        assert row["jobs_turned_away"] == away
        assert row["served_p95_wait_h"] == summary[f"wait_p95_h.{cls}"]
        assert row["offered_p95_wait_h"] == summary[f"wait_p95_h_offered.{cls}"]
    paying = tenants[tenants["tenant_class"] == "paying"].iloc[0]
    away = by_class.loc["paying", "jobs_turned_away"]
    # More than 5% of the jobs offered never started, so their p95 wait is unbounded.
    assert away > 0.05 * (paying["jobs_submitted"] + away)
    assert math.isinf(by_class.loc["paying", "offered_p95_wait_h"])
    assert math.isfinite(by_class.loc["paying", "served_p95_wait_h"])
    assert f"paying ∞ ({away:,} turned away)" in figure.caption
    facts = dict(section.facts)
    assert facts["p95 wait offered, paying (jobs turned away never start)"] == "∞"
    assert facts["jobs turned away (balked or lost to churn)"] == f"{away:,}"


def test_the_waits_figure_counts_each_tenants_jobs_turned_away_by_reason(
    impatient: planner.RunResult,
) -> None:
    tenants = impatient.tenants
    figure = next(f for f in run_section(run_data(impatient)).figures if f.name == "waits")
    table = dict(figure.tables)["jobs turned away per tenant"]
    assert table["tenant"].tolist() == tenants["tenant"].tolist()
    for column in ("jobs_submitted", "jobs_balked", "jobs_lost_to_churn"):
        assert table[column].tolist() == tenants[column].tolist()
    assert table["jobs_balked"].iloc[0] > 0 and table["jobs_lost_to_churn"].iloc[0] > 0
    held = tenants["jobs_skipped"] - tenants["jobs_balked"] - tenants["jobs_lost_to_churn"]
    assert table["jobs_held_by_credit_rule"].tolist() == held.tolist()
    assert (table["jobs_turned_away"] == table["jobs_balked"] + table["jobs_lost_to_churn"]).all()


def test_the_report_says_how_much_revenue_was_cash_credits_and_escrow(
    res: planner.RunResult,
) -> None:
    """The fleet's cash and credits burned are the jobs table's, the escrow view adds every
    credit granted (the tenants table); per cohort, cash + credits is the cohort's revenue, the
    credits add up to the jobs', and the A800 cohort, which the credit start-up may not use,
    earned no credits."""
    jobs, tenants, cohorts = res.jobs, res.tenants, res.cohorts
    section = run_section(run_data(res))
    figure = next(f for f in section.figures if f.name == "value")
    tables = dict(figure.tables)
    fleet = tables["revenue by source, fleet"].set_index("source")["amount_usd"]
    cash, credit = jobs["cash_usd"].sum(), jobs["credit_usd"].sum()
    assert credit > 0
    assert fleet["cash"] == pytest.approx(cash)
    assert fleet["credits burned"] == pytest.approx(credit)
    assert fleet["revenue (cash + credits burned)"] == pytest.approx(jobs["revenue_usd"].sum())
    granted = tenants["credits_granted_usd"].sum()
    assert fleet["escrow view (cash + credits granted)"] == pytest.approx(cash + granted)
    per_cohort = tables["revenue by source, per cohort"].set_index("cohort")
    assert list(per_cohort.index) == cohorts["cohort"].tolist()
    revenue = cohorts.set_index("cohort")["revenue_usd"]
    assert per_cohort["revenue_usd"].to_numpy() == pytest.approx(revenue.to_numpy())
    both = per_cohort["cash_usd"] + per_cohort["credits_burned_usd"]
    assert both.to_numpy() == pytest.approx(revenue.to_numpy())
    assert per_cohort["credits_burned_usd"].sum() == pytest.approx(credit)
    assert per_cohort.loc["A800-r1-1", "credits_burned_usd"] == 0.0
    facts = dict(section.facts)
    assert facts["  of it, cash"] == usd(cash)
    assert facts["  of it, credits burned"] == usd(credit)
    assert f"cash {usd(cash)}, credits burned {usd(credit)}" in figure.caption


def test_an_slo_is_drawn_and_its_breaches_counted(res: planner.RunResult) -> None:
    section = run_section(run_data(res), slo_h=1.0)
    figure = next(f for f in section.figures if f.name == "waits")
    monthly = waits.monthly_waits(res.jobs, res.scenario.start, res.scenario.horizon_h)
    paying = monthly[monthly["tenant_class"] == "paying"]
    over = int((paying["p95_wait_h"] > 1.0).sum())
    assert f"paying (1 h) {over} of {len(paying)}" in figure.caption


def test_the_scenarios_slo_per_class_is_drawn_unless_overridden(res: planner.RunResult) -> None:
    d = review_dict()
    d["slo"] = {"wait_p95_h": {"paying": 2.0, "credit": 48.0}}
    sc = planner.Scenario.model_validate(d)
    data = run_data(res)
    data = replace(data, scenario=sc)
    caption = next(f.caption for f in run_section(data).figures if f.name == "waits")
    monthly = waits.monthly_waits(res.jobs, res.scenario.start, res.scenario.horizon_h)
    for cls, slo in (("paying", 2.0), ("credit", 48.0)):
        months = monthly[monthly["tenant_class"] == cls]
        over = int((months["p95_wait_h"] > slo).sum())
        assert f"{cls} ({slo:g} h) {over} of {len(months)}" in caption
    assert "internal (" not in caption
    overridden = next(f.caption for f in run_section(data, slo_h=1.0).figures if f.name == "waits")
    assert "credit (1 h)" in overridden


def test_a_grant_plan_takes_its_target_from_the_scenarios_slo_or_asks_for_one(
    review_yaml: Path,
) -> None:
    d = review_dict()
    d["slo"] = {"wait_p95_h": {"paying": 6.0}}
    sc = planner.Scenario.model_validate(d)
    assert plan.slo_target(sc, "wait_p95_h_offered.paying") == 6.0
    assert plan.slo_target(sc, "wait_p95_h.paying") == 6.0
    with pytest.raises(planner.ScenarioError, match=r"no service level for wait_mean_h\.paying"):
        plan.slo_target(sc, "wait_mean_h.paying")
    result = invoke("plan", "grant", review_yaml, "--tenant", "startup", "--reps", "2")
    assert result.exit_code == 2
    assert "no service level for wait_p95_h_offered.paying: give a target" in result.output


def test_without_failures_or_deals_their_figures_give_way_to_notes() -> None:
    d = review_dict()
    del d["failures"]
    d["tenants"] = d["tenants"][:1]
    res = planner.simulate(planner.Scenario.model_validate(d), seed=0)
    section = run_section(run_data(res))
    notes = {item.name: item.text for item in section.items if isinstance(item, Note)}
    assert set(notes) == {"failures", "credits"}
    assert "Failures are off" in notes["failures"]
    assert len(section.figures) == len(RUN_FIGURES) - 1


def test_the_page_is_self_contained_with_an_image_per_figure_png(
    res: planner.RunResult, tmp_path: Path
) -> None:
    page = write_report(tmp_path, run=run_data(res))
    text = page.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', text)
    files = sorted((tmp_path / "figures").glob("*.png"))
    assert len(images) == len(files) == len(RUN_FIGURES) + 1
    assert sorted(base64.b64decode(i) for i in images) == sorted(f.read_bytes() for f in files)
    assert not re.search(r"(src|href)=\"(?!data:|#)", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert text.count("<table") > len(images)


def test_a_second_report_drops_the_figures_it_no_longer_draws(
    res: planner.RunResult, tmp_path: Path
) -> None:
    write_report(tmp_path, run=run_data(res))
    assert (tmp_path / "figures" / "run-failures.png").exists()
    d = review_dict()
    del d["failures"]
    calm = planner.simulate(planner.Scenario.model_validate(d), seed=1)
    write_report(tmp_path, run=run_data(calm))
    assert len(pngs(tmp_path)) == image_count(tmp_path) == len(RUN_FIGURES)
    assert not (tmp_path / "figures" / "run-failures.png").exists()


def test_importing_planner_does_not_import_matplotlib() -> None:
    code = "import sys, planner, planner.report, planner.cli; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_sections_read_back_from_a_run_directory_match_those_from_memory(
    res: planner.RunResult, tmp_path: Path
) -> None:
    from planner.writers import write_run

    write_run(res, tmp_path)
    (read,) = sections(tmp_path)
    direct = run_section(run_data(res))
    assert [i.name for i in read.items] == [i.name for i in direct.items]
    for ours, theirs in zip(read.figures, direct.figures, strict=True):
        assert ours.caption == theirs.caption


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def review_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "review.yaml"
    path.write_text(json.dumps(review_dict()))
    return path


def pngs(folder: Path) -> list[Path]:
    return sorted((folder / "figures").glob("*.png"))


def image_count(folder: Path) -> int:
    return (folder / REPORT_FILE).read_text(encoding="utf-8").count("<img ")


def test_run_with_report_writes_the_page_and_its_figures(review_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke("run", review_yaml, "--report", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert REPORT_FILE in result.stdout
    assert len(pngs(out)) == image_count(out) == len(RUN_FIGURES) + 1
    assert (out / "jobs.parquet").exists()


def test_report_verb_on_a_run_directory(review_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("run", review_yaml, "--out", out, "-q").exit_code == 0
    assert not (out / REPORT_FILE).exists()
    result = invoke("report", out, "--slo-h", "2")
    assert result.exit_code == 0, result.stderr
    assert len(pngs(out)) == image_count(out) == len(RUN_FIGURES) + 1
    assert "SLO: credit (2 h)" in (out / REPORT_FILE).read_text()


MMC_SHORT = ("--set", "horizon_days=3")


def test_report_verb_on_sweep_plan_and_sensitivity_directories(tmp_path: Path) -> None:
    runs = {
        "paired response": ("sweep", "mmc", "--grid", "fleet.0.gpus=14,16,18", "--reps", "2",
                  "--workers", "1", *MMC_SHORT),
        "search": ("plan", "gpus", "mmc", "--cohort", "0", "--target", "0.3", "--metric",
                 "wait_mean_h.all", "--low-gpus", "13", "--high-gpus", "20", "--reps", "2",
                 *MMC_SHORT),
        "tornado": ("sensitivity", "mmc", "--range", "fleet.0.gpus=15,18", "--metric",
                        "wait_mean_h.all", "--reps", "2", *MMC_SHORT),
    }  # fmt: skip
    for figures, args in runs.items():
        out = tmp_path / args[0]
        made = invoke(*args, "--out", out)
        assert made.exit_code == 0, made.stderr
        result = invoke("report", out)
        assert result.exit_code == 0, result.stderr
        assert [p.name for p in pngs(out)] == [f"{args[0]}-{f}.png" for f in figures.split()]
        assert image_count(out) == len(figures.split())


def test_report_flag_on_experiments_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "tornado"
    result = invoke(
        "sensitivity", "mmc", "--range", "fleet.0.gpus=15,18", "--metric", "wait_mean_h.all",
        "--reps", "2", *MMC_SHORT, "--out", out, "--report",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    page = (out / REPORT_FILE).read_text()
    assert "wait_mean_h.all" in page and image_count(out) == 1


def test_report_on_a_directory_without_results_exits_2_naming_it(tmp_path: Path) -> None:
    result = invoke("report", tmp_path)
    assert result.exit_code == 2
    assert str(tmp_path) in result.stderr and "no results to report" in result.stderr
    assert "summary.json" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / REPORT_FILE).exists()


def test_report_on_a_run_directory_missing_a_table_names_the_file(
    review_yaml: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    assert invoke("run", review_yaml, "--out", out, "-q").exit_code == 0
    (out / "jobs.parquet").unlink()
    result = invoke("report", out)
    assert result.exit_code == 2
    assert "jobs.parquet" in result.stderr and "missing" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("run", "mmc", *MMC_SHORT),
        ("sensitivity", "mmc", "--range", "fleet.0.gpus=15,18", *MMC_SHORT),
        ("plan", "gpus", "mmc", "--cohort", "0", "--target", "0.3", *MMC_SHORT),
    ],
)
def test_report_flag_without_out_is_a_usage_error(args: tuple[str, ...]) -> None:
    result = invoke(*args, "--report")
    assert result.exit_code == 2
    assert "--out" in result.stderr and "Traceback" not in result.stderr


def test_report_flag_with_replications_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("run", "mmc", *MMC_SHORT, "--reps", "2", "--report", "--out", tmp_path)
    assert result.exit_code == 2 and "--report" in result.stderr
    assert not any(tmp_path.iterdir())
