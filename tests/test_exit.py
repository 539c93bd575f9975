"""The exit query (``planner plan exit``) against a closed form.

One cohort of 16 H800 bought at the start for $40,000 each; one 8-GPU job keeps half of it busy
for the whole horizon at a flat $4 list price, with $0.30 opex per GPU-hour, so it nets an even
``A = 8 x 4 - 16 x 0.30`` dollars an hour. Its resale share falls log-linearly from 1.0 new to
0.9 at one year and 0.1 at two (its service life), so with continuous discounting at
``delta = ln(1 + r)`` a year, selling at time t is worth

    NPV(t) = -C + A (1 - exp(-delta t)) / delta + C s(t) exp(-delta t).

Holding pays while ``A`` exceeds what holding costs, ``C s(t) (delta + k)`` with k the resale
curve's rate of decline: true through the first year (k = ln(1/0.9)), false early in the second
(k = ln 9), so the best month is near the first birthday, not at either end.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.scenario.schema import HOURS_PER_YEAR
from tests.conftest import base_dict

GPUS, BUSY_GPUS, UNIT_CAPEX, PRICE, OPEX, RATE = 16, 8, 40_000.0, 4.0, 0.30, 0.12
CAPEX = GPUS * UNIT_CAPEX
A_USD_PER_H = BUSY_GPUS * PRICE - GPUS * OPEX
SHARES = [1.0, 0.9, 0.1]
LIFE_H = 731 * 24.0  # to 2026-01-01, a month's first day
COHORT = "H800-r1-0"


def scenario_dict() -> dict[str, Any]:
    d = base_dict(horizon_days=1096)
    d["fleet"][0].update(acquired="2024-01-01", unit_capex_usd=UNIT_CAPEX)
    d["market"] = {
        "prices": {
            "H800": {"usd_per_gpu_h": PRICE, "annual_decline": 0.0, "opex_usd_per_gpu_h": OPEX}
        },
        "successor_launches": [],
        "service_life_years": LIFE_H / HOURS_PER_YEAR,
        "resale": {"H800": {"share_by_year": SHARES}},
    }
    d["finance"] = {"cost_of_capital": RATE}
    # The job: 8 GPUs from hour 0, more work than the horizon holds.
    d["initial_state"] = {
        "running": [
            {"tenant": "acme", "gpus": BUSY_GPUS, "model": "H800", "region": "r1",
             "remaining_work_gpu_h": 1e9},
        ]
    }  # fmt: skip
    return d


def share(t_h: float) -> float:
    years = t_h / HOURS_PER_YEAR
    return math.exp(float(np.interp(years, [0.0, 1.0, 2.0], np.log(SHARES))))


def closed_form_npv(t_h: float) -> float:
    delta = math.log1p(RATE) / HOURS_PER_YEAR
    return (
        -CAPEX
        + A_USD_PER_H * -math.expm1(-delta * t_h) / delta
        + CAPEX * share(t_h) * math.exp(-delta * t_h)
    )


def test_the_best_month_and_every_npv_match_the_closed_form() -> None:
    sc = planner.Scenario.model_validate(scenario_dict())
    answer = planner.plan.best_exit(sc, COHORT)
    curve = answer.curve
    # Sold on the first of each month of its two-year life, then kept to its end of life.
    assert len(curve) == 24 + 1
    assert list(curve["exit"].iloc[:-1].unique()) == ["sold"]
    assert curve["exit"].iloc[-1] == "kept: end of service life"
    expected = np.array([closed_form_npv(t) for t in curve["exit_at_h"]])
    np.testing.assert_allclose(curve["npv_usd"], expected, rtol=0, atol=0.01)  # to the cent
    best = int(expected.argmax())
    assert 0 < best < len(curve) - 1  # an answer inside the life, not at either end
    assert answer.best_exit_date == curve["exit_date"].iloc[best].date()
    assert answer.best_npv_usd == pytest.approx(expected[best], abs=0.01)
    assert answer.kept_npv_usd == pytest.approx(closed_form_npv(LIFE_H), abs=0.01)
    assert answer.best_exit == "sold"


def test_a_dated_sale_of_the_cohort_itself_does_not_shorten_the_curve() -> None:
    d = scenario_dict()
    d["finance"]["sell"] = [{"cohort": COHORT, "date": "2024-06-01"}]
    answer = planner.plan.best_exit(planner.Scenario.model_validate(d), COHORT)
    assert len(answer.curve) == 25


def test_the_exit_curve_is_the_npv_a_sale_gives() -> None:
    """Asked of the run itself: a dated sale on the answer's date gives the answer's NPV."""
    sc = planner.Scenario.model_validate(scenario_dict())
    answer = planner.plan.best_exit(sc, COHORT)
    sold = sc.with_overrides(
        {"finance.sell": [{"cohort": COHORT, "date": answer.best_exit_date.isoformat()}]}
    )
    res = planner.simulate(sold)
    assert res.cohorts.loc[0, "npv_usd"] == pytest.approx(answer.best_npv_usd, abs=0.01)


def write_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "one-cohort.yaml"
    path.write_text(yaml.safe_dump(scenario_dict()))
    return path


def test_cli_prints_the_answer_and_writes_the_curve_and_its_report(tmp_path: Path) -> None:
    out = tmp_path / "exit"
    done = CliRunner().invoke(
        app,
        ["plan", "exit", str(write_scenario(tmp_path)), "--cohort", COHORT, "--out", str(out),
         "--report"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    answer = json.loads((out / "exit.json").read_text())
    assert f"sell {COHORT} on {answer['best_exit_date']}" in done.stdout
    assert "NPV against exit month" in done.stdout
    curve = (out / "exit_curve.csv").read_text().splitlines()
    assert curve[0].startswith("exit_date,") and len(curve) == 1 + 25
    assert (out / "report.html").is_file() and (out / "figures" / "exit-exit.png").is_file()
    assert answer["best_exit_date"] in (out / "report.html").read_text()


def test_cli_names_an_unknown_cohort_and_exits_2(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["plan", "exit", str(write_scenario(tmp_path)), "--cohort", "H800-r9-0"]
    )
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "unknown cohort 'H800-r9-0'" in done.stderr and COHORT in done.stderr


def test_report_figure_is_a_matplotlib_figure_with_the_best_month_ringed() -> None:
    from planner.report.exit import exit_caption, exit_figure

    answer = planner.plan.best_exit(planner.Scenario.model_validate(scenario_dict()), COHORT)
    fig = exit_figure(answer.curve, COHORT)
    assert len(fig.axes) == 1
    assert f"sell on {answer.best_exit_date.isoformat()}" in exit_caption(answer.curve, COHORT)


def test_selling_a_cohort_the_day_it_arrives_mid_month_is_worth_nothing() -> None:
    """Acquired on 15 Jan and sold the same day at its full price: no flows, NPV zero (the
    month's revenue accrues from the acquisition, not from the month's first day)."""
    d = scenario_dict()
    d["fleet"][0]["acquired"] = "2024-01-15"
    del d["initial_state"]
    d["tenants"][0]["campaigns"] = [{"name": "c", "submit": "2024-01-15", "gpus": 8, "days": 60}]
    answer = planner.plan.best_exit(planner.Scenario.model_validate(d), COHORT)
    first = answer.curve.iloc[0]
    assert first["exit_at_h"] == 14 * 24.0 and first["resale_usd"] == CAPEX
    assert first["npv_usd"] == pytest.approx(0.0, abs=0.01)


def busy_world() -> planner.Scenario:
    """The one-cohort scenario over a year, rented by random demand instead of one long job, so
    each replication earns a different amount."""
    d = scenario_dict()
    d["horizon_days"] = 366
    del d["initial_state"]
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": 2},
        "gpus": {"kind": "constant", "value": 8},
        "work_gpu_h": {"kind": "exponential", "mean": 96},
    }
    return planner.Scenario.model_validate(d)


def test_replications_of_a_deterministic_cohort_agree_with_the_closed_form() -> None:
    one = planner.plan.best_exit(planner.Scenario.model_validate(scenario_dict()), COHORT)
    three = planner.plan.best_exit(planner.Scenario.model_validate(scenario_dict()), COHORT, reps=3)
    expected = np.array([closed_form_npv(t) for t in three.curve["exit_at_h"]])
    np.testing.assert_allclose(three.curve["npv_usd"], expected, rtol=0, atol=0.01)
    # Nothing varies, so every interval is its mean, and every replication picks one month.
    np.testing.assert_allclose(three.curve["npv_low_usd"], three.curve["npv_usd"], atol=1e-6)
    np.testing.assert_allclose(three.curve["npv_high_usd"], three.curve["npv_usd"], atol=1e-6)
    assert three.curve["best_share"].max() == 1.0
    assert three.best_exit_date == one.best_exit_date and three.gain is not None
    assert three.gain.mean == pytest.approx(one.gain_usd, abs=0.01)


def test_a_replicated_curve_is_the_mean_of_each_replications_own_curve() -> None:
    """Recomputed from each replication's own run: the mean NPV at every exit, the share of
    replications whose best exit each is, and the best exit's paired gain over keeping."""
    from planner.analysis.finance import exit_curve

    sc, reps = busy_world(), 4
    answer = planner.plan.best_exit(sc, COHORT, seed=3, reps=reps)
    curves = []
    for r in range(reps):
        res = planner.simulate(sc, 3, replication=r)
        curves.append(exit_curve(sc, res.cohorts, res.ledger, res.runs, res.jobs, COHORT))
    npv = np.stack([c["npv_usd"].to_numpy(float) for c in curves])
    assert np.ptp(npv, axis=0).max() > 1.0  # the replications differ
    np.testing.assert_allclose(answer.curve["npv_usd"], npv.mean(axis=0), rtol=1e-12)
    # A sale the day it arrives is worth nothing in every replication: a point; the rest vary.
    varies = np.ptp(npv, axis=0) > 0
    assert not varies[0] and varies[1:].all()
    low, mean, high = (
        answer.curve[c].to_numpy() for c in ("npv_low_usd", "npv_usd", "npv_high_usd")
    )
    assert (low[varies] < mean[varies]).all() and (mean[varies] < high[varies]).all()
    assert low[0] == mean[0] == high[0] == 0.0
    wins = np.bincount(npv.argmax(axis=1), minlength=npv.shape[1]) / reps
    np.testing.assert_allclose(answer.curve["best_share"], wins)
    best = int(npv.mean(axis=0).argmax())
    assert answer.best_npv_usd == pytest.approx(npv[:, best].mean(), rel=1e-12)
    assert answer.gain is not None and answer.gain.n == reps
    assert answer.gain.mean == pytest.approx((npv[:, best] - npv[:, -1]).mean(), rel=1e-9)
    assert answer.gain.low <= answer.gain.mean <= answer.gain.high


def test_replications_on_worker_processes_give_the_same_answer() -> None:
    here = planner.plan.best_exit(busy_world(), COHORT, reps=2)
    there = planner.plan.best_exit(busy_world(), COHORT, reps=2, workers=2)
    pd.testing.assert_frame_equal(here.curve, there.curve, check_exact=True)


def test_cli_with_replications_prints_the_intervals_and_the_paired_gain(tmp_path: Path) -> None:
    out = tmp_path / "exit"
    path = tmp_path / "busy.yaml"
    path.write_text(yaml.safe_dump(busy_world().model_dump(mode="json", by_alias=True)))
    done = CliRunner().invoke(
        app, ["plan", "exit", str(path), "--cohort", COHORT, "--reps", "3", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "mean of 3 replications" in done.stdout and "95% interval" in done.stdout
    answer = json.loads((out / "exit.json").read_text())
    assert answer["reps"] == 3 and answer["gain_low_usd"] <= answer["gain_high_usd"]
    curve = pd.read_csv(out / "exit_curve.csv")
    assert {"npv_low_usd", "npv_high_usd", "best_share"} <= set(curve.columns)
