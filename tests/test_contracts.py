"""Take-or-pay contracts: a reservation the tenant pays for whether it uses it or not.

The tenant pays reserved GPUs x hours of the term (clipped to the horizon) x the contract price,
in cash; its runs inside the quota pay nothing more while the term lasts; its runs outside it,
the hours its runs go on past the term's end, and everyone else's runs are billed at list.
Contract revenue is reported apart from job revenue and agrees across the ledger, cohorts,
tenants and summary; it counts in payback, margin and cash flows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from tests.accounting import assert_tables_match_the_runs
from tests.conftest import base_dict, batch

PRICE = 1.5  # contract price per GPU-hour; the list price in base_dict is $2.00
LIST = 2.0
HOURS_PER_DAY = 24.0

runner = CliRunner()


def contract_world(reservation: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """The tiny 16-GPU world under quotas, ``acme`` holding 8 GPUs on take-or-pay, and a
    second paying tenant ``other``."""
    d = base_dict(**changes)
    d["scheduler"] = {"kind": "quota", "reclaim": False}
    d["tenants"][0]["reservation"] = {
        "gpus": 8,
        "model": "H800",
        "region": "r1",
        "take_or_pay": {"price_usd_per_gpu_h": PRICE},
        **(reservation or {}),
    }
    d["tenants"].append({"name": "other", "class": "paying", "models": ["H800"]})
    return d


def contract_usd_everywhere(res: planner.RunResult) -> dict[str, float]:
    return {
        "ledger": float(res.ledger["contract_revenue_usd"].sum()),
        "cohorts": float(res.cohorts["contract_revenue_usd"].sum()),
        "pools": float(res.pools["contract_revenue_usd"].sum()),
        "tenants": float(res.tenants.set_index("tenant").loc["acme", "contract_revenue_usd"]),
        "summary": float(res.summary()["revenue_contract_usd"]),
    }


# -- (a) the closed form ----------------------------------------------------------------------


def test_an_unused_contract_pays_gpus_times_hours_times_price() -> None:
    """No demand at all: 8 GPUs x 240 h x $1.50 = $2,880, to the cent, in every table."""
    res = planner.simulate(planner.Scenario.model_validate(contract_world()))
    assert len(res.jobs) == 0
    expected = 8 * 10 * HOURS_PER_DAY * PRICE
    for where, usd in contract_usd_everywhere(res).items():
        assert round(usd, 2) == round(expected, 2), where
    assert res.tenants.set_index("tenant").loc["other", "contract_revenue_usd"] == 0.0
    assert res.summary()["revenue_usd"] == 0.0  # job revenue stays apart


def test_the_term_is_clipped_to_the_horizon_and_split_by_calendar_month() -> None:
    """Term from 25 Jan to past the horizon (4 Feb): 7 days in January, 3 in February."""
    d = contract_world({"start": "2024-01-25", "end": "2024-03-01"}, start="2024-01-20",
                       horizon_days=15)  # fmt: skip
    res = planner.simulate(planner.Scenario.model_validate(d))
    by_month = res.ledger.groupby("month")["contract_revenue_usd"].sum()
    assert by_month.round(2).tolist() == [
        round(8 * 7 * HOURS_PER_DAY * PRICE, 2),
        round(8 * 3 * HOURS_PER_DAY * PRICE, 2),
    ]


def test_a_pools_cohorts_share_the_contract_by_gpus_in_service() -> None:
    """Two cohorts of 8 and 24 GPUs in service all along: a quarter and three quarters."""
    d = contract_world()
    d["regions"][0]["pod_gpus"] = 32
    d["fleet"] = [
        {"model": "H800", "region": "r1", "gpus": 8, "acquired": "2023-06-01"},
        {"model": "H800", "region": "r1", "gpus": 24, "acquired": "2023-06-01"},
    ]
    res = planner.simulate(planner.Scenario.model_validate(d))
    total = 8 * 10 * HOURS_PER_DAY * PRICE
    shares = res.cohorts["contract_revenue_usd"].to_numpy()
    np.testing.assert_allclose(shares, [total / 4, 3 * total / 4], rtol=1e-12)


def test_contract_revenue_counts_in_margin_payback_and_cash_flows() -> None:
    """Without demand, the same world without the contract differs by exactly its revenue."""
    with_it = planner.simulate(planner.Scenario.model_validate(contract_world()))
    d = contract_world()
    del d["tenants"][0]["reservation"]["take_or_pay"]
    without = planner.simulate(planner.Scenario.model_validate(d))
    paid = 8 * 10 * HOURS_PER_DAY * PRICE
    a, b = with_it.cohorts.iloc[0], without.cohorts.iloc[0]
    assert a["margin_usd"] - b["margin_usd"] == pytest.approx(paid, abs=0.01)
    assert (a["payback"] - b["payback"]) * a["capex_usd"] == pytest.approx(paid, abs=0.01)
    sa, sb = with_it.summary(), without.summary()
    assert sa["net_cash_flow_usd"] - sb["net_cash_flow_usd"] == pytest.approx(paid, abs=0.01)
    assert sa["npv_usd"] > sb["npv_usd"]
    assert "revenue_contract_usd" not in sb  # only a scenario with a contract reports it


# -- (b) which jobs pay ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_jobs_inside_the_quota_pay_nothing_more_and_the_rest_pay_list(engine: str) -> None:
    """acme holds 8 of 16 GPUs. Its first 8-GPU job runs inside the quota (covered); its
    second, 1 h later, finds the quota used and borrows the other node at list price; other's
    job, at 2 h, waits for a node and pays list too. Each runs 10 h (80 GPU-hours)."""
    sc = planner.Scenario.model_validate(contract_world())
    jobs = batch([(0.0, 8, 80.0), (1.0, 8, 80.0), (2.0, 8, 80.0)], tenant=[0, 0, 1])
    res = planner.simulate(sc, jobs=jobs, engine=engine)
    runs = res.runs.set_index("job_id")
    assert runs["in_quota"].tolist() == [True, False, False]
    list_usd = 8 * 10.0 * LIST
    assert res.jobs["revenue_usd"].tolist() == pytest.approx([0.0, list_usd, list_usd])
    assert res.jobs["cash_usd"].tolist() == pytest.approx([0.0, list_usd, list_usd])
    # Job revenue still agrees over jobs, ledger, cohorts and tenants; the contract is apart.
    job_usd = 2 * list_usd
    for total in (
        res.ledger["revenue_usd"].sum(),
        res.cohorts["revenue_usd"].sum(),
        res.tenants["revenue_usd"].sum(),
    ):
        assert total == pytest.approx(job_usd)
    for usd in contract_usd_everywhere(res).values():
        assert usd == pytest.approx(8 * 10 * HOURS_PER_DAY * PRICE)
    assert_tables_match_the_runs(res)  # and against a bill rebuilt from the runs table


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_run_in_quota_pays_list_for_the_hours_past_the_terms_end(engine: str) -> None:
    """The term ends at 48 h. acme's first job (0-10 h) lies inside it and pays nothing more;
    its second runs inside the quota from 40 h to 60 h: the contract covers 40-48 h and the
    12 h after are billed at list, 8 GPUs x 12 h x $2."""
    sc = planner.Scenario.model_validate(contract_world({"end": "2024-01-03"}))
    res = planner.simulate(sc, jobs=batch([(0.0, 8, 80.0), (40.0, 8, 160.0)]), engine=engine)
    assert res.runs["in_quota"].tolist() == [True, True]
    assert res.runs["to_h"].tolist() == [10.0, 60.0]
    past_term_usd = 8 * 12.0 * LIST
    assert res.jobs["revenue_usd"].tolist() == pytest.approx([0.0, past_term_usd])
    assert res.summary()["revenue_usd"] == pytest.approx(past_term_usd)
    for usd in contract_usd_everywhere(res).values():
        assert usd == pytest.approx(8 * 48.0 * PRICE)
    assert_tables_match_the_runs(res)


def test_without_take_or_pay_a_job_in_quota_pays_list() -> None:
    d = contract_world()
    del d["tenants"][0]["reservation"]["take_or_pay"]
    res = planner.simulate(planner.Scenario.model_validate(d), jobs=batch([(0.0, 8, 80.0)]))
    assert res.runs["in_quota"].tolist() == [True]
    assert res.jobs["revenue_usd"].tolist() == pytest.approx([8 * 10.0 * LIST])


# -- (c) bad input -----------------------------------------------------------------------------


def write_world(tmp_path: Path, d: dict[str, Any]) -> Path:
    file = tmp_path / "contract.json"
    file.write_text(json.dumps(d))
    return file


def test_take_or_pay_without_the_quota_scheduler_is_refused(tmp_path: Path) -> None:
    d = contract_world()
    d["scheduler"] = {"kind": "fifo"}
    file = write_world(tmp_path, d)
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    for fragment in (file.name, "tenants.acme.reservation.take_or_pay", "'quota'"):
        assert fragment in message


def test_take_or_pay_for_an_internal_tenant_is_refused() -> None:
    d = contract_world()
    d["tenants"][0]["class"] = "internal"
    with pytest.raises(planner.ScenarioError, match="class 'paying'"):
        planner.scenario.validate(d)


# -- (d) plan contract --------------------------------------------------------------------------


def busy_world() -> dict[str, Any]:
    """32 GPUs (four 8-GPU nodes) under quotas that do not lend: acme commits, other pays
    as it goes; both submit 8-GPU jobs."""
    d = contract_world(horizon_days=15)
    d["regions"][0]["pod_gpus"] = 32
    d["fleet"][0]["gpus"] = 32
    d["scheduler"] = {"kind": "quota", "lend": False, "reclaim": False}
    d["slo"] = {"wait_p95_h": {"paying": 30.0}}
    workload = {
        "gpus": {"kind": "constant", "value": 8},
        "work_gpu_h": {"kind": "exponential", "mean": 64},
    }
    d["tenants"][0]["workload"] = {"arrivals": {"kind": "poisson", "per_day": 3}, **workload}
    d["tenants"][1]["workload"] = {"arrivals": {"kind": "poisson", "per_day": 4}, **workload}
    return d


def test_plan_contract_answers_with_npv_at_every_candidate(tmp_path: Path) -> None:
    file = write_world(tmp_path, busy_world())
    out = tmp_path / "plan"
    result = runner.invoke(
        app,
        ["plan", "contract", str(file), "--tenant", "acme", "--reps", "3", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads((out / "answer.json").read_text())
    table = pd.read_csv(out / "evaluations.csv")
    assert answer["metric"] == "wait_p95_h_offered.paying_besides.acme"
    assert answer["target"] == 30.0
    assert table["objective_mean"].notna().all()  # the fleet NPV at every candidate
    # More GPUs held for acme leave the others less: their p95 wait never shrinks.
    by_gpus = table.sort_values("x")
    assert by_gpus["metric_mean"].is_monotonic_increasing
    # Bisection over whole nodes, from one node to the pool's 32 GPUs.
    assert set(table["x"]) <= {8.0, 16.0, 24.0, 32.0}
    assert table["x"].tolist()[:2] == [8.0, 32.0]
    if answer["answer"] is not None:
        meets = table.set_index("x")["meets"]
        assert meets[answer["answer"]]
        assert not meets[by_gpus["x"][by_gpus["x"] > answer["answer"]]].any()
