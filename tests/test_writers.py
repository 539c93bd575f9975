"""Writing a run to disk: Parquet tables that read back equal, JSON side files, nothing lost."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import planner
from planner.results import RunResult
from planner.writers import read_table, write_json, write_run, write_table

TINY: dict[str, Any] = {
    "name": "tiny",
    "start": "2024-01-01",
    "horizon_days": 10,
    "regions": [{"name": "r1", "pod_gpus": 64, "gpus_per_node": 8}],
    "fleet": [{"model": "H800", "region": "r1", "gpus": 64, "acquired": "2023-06-01"}],
    "tenants": [
        {
            "name": "acme",
            "class": "paying",
            "models": ["H800"],
            "workload": {
                "arrivals": {"kind": "poisson", "per_day": 40},
                "gpus": {"kind": "choice", "values": [1, 8, 16]},
                "work_gpu_h": {"kind": "exponential", "mean": 10},
            },
        },
        {
            "name": "moonshot",
            "class": "credit",
            "models": ["H800"],
            "credit": {"amount_usd": 1000, "granted": "2024-01-02", "expires": "2024-01-08"},
            "workload": {
                "arrivals": {"kind": "poisson", "per_day": 10},
                "gpus": {"kind": "constant", "value": 8},
                "work_gpu_h": {"kind": "lognormal", "median": 20, "sigma": 1},
            },
        },
    ],
}

TABLE_FILES = [f"{name}.parquet" for name in RunResult.table_names()]
JSON_FILES = ["scenario.json", "summary.json", "run.json"]


def tiny(**changes: Any) -> dict[str, Any]:
    """A copy of the tiny scenario with top-level fields replaced."""
    data = copy.deepcopy(TINY)
    data.update(changes)
    return data


def run(data: dict[str, Any], seed: int = 0) -> RunResult:
    return planner.simulate(planner.Scenario.model_validate(data), seed=seed)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in ``folder`` with its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def res() -> RunResult:
    return run(TINY)


def test_write_run_writes_each_table_as_parquet_and_three_json_files(
    res: RunResult, tmp_path: Path
) -> None:
    """One Parquet file per table plus scenario.json, summary.json and run.json, all returned."""
    out = tmp_path / "run"
    written = write_run(res, out)
    assert written == [out / name for name in TABLE_FILES + JSON_FILES]
    assert sorted(p.name for p in out.iterdir()) == sorted(TABLE_FILES + JSON_FILES)


@pytest.mark.parametrize("name", RunResult.table_names())
def test_every_table_reads_back_equal(res: RunResult, tmp_path: Path, name: str) -> None:
    """A table read back from Parquet equals the one the API returned."""
    write_run(res, tmp_path)
    back = pd.read_parquet(tmp_path / f"{name}.parquet")
    # Plain pandas gets every value back; planner's reader also restores every dtype exactly.
    pd.testing.assert_frame_equal(back, res.table(name), check_categorical=False, check_dtype=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / f"{name}.parquet"), res.table(name))


def test_a_run_without_deals_writes_an_empty_credit_ledger_that_reads_back_equal(
    tmp_path: Path,
) -> None:
    res = run(tiny(tenants=TINY["tenants"][:1]))
    assert res.credit_ledger.empty and list(res.credit_ledger["month"]) == []
    write_run(res, tmp_path)
    pd.testing.assert_frame_equal(read_table(tmp_path / "credit_ledger.parquet"), res.credit_ledger)


def test_jobs_still_queued_at_the_horizon_survive_the_round_trip(tmp_path: Path) -> None:
    """Queued jobs keep their row, with an empty start and no GPU model, after Parquet."""
    overloaded = tiny(
        fleet=[{"model": "H800", "region": "r1", "gpus": 16, "acquired": "2023-06-01"}]
    )
    res = run(overloaded)
    queued = res.jobs["state"] == "queued"
    assert queued.sum() > 0
    write_run(res, tmp_path)
    back = read_table(tmp_path / "jobs.parquet")
    pd.testing.assert_frame_equal(back, res.jobs)
    assert back.loc[queued, "start_h"].isna().all()
    assert back.loc[queued, "gpu_model"].isna().all()


def test_object_columns_holding_none_round_trip(tmp_path: Path) -> None:
    """Object columns holding None, alone or among strings, read back as they were written.

    pandas 3 reads Arrow strings as its ``str`` dtype, so ``read_table`` restores the columns that
    were ``object``; an all-None column needs no help.
    """
    frame = pd.DataFrame(
        {
            "label": pd.Series([None, "a", None], dtype=object),
            "nothing": pd.Series([None, None, None], dtype=object),
            "x": [1.0, math.nan, 3.0],
        }
    )
    write_table(frame, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), frame)
    plain = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_series_equal(plain["nothing"], frame["nothing"])
    assert plain["label"].isna().tolist() == [True, False, True]


@pytest.mark.parametrize("name", RunResult.table_names())
def test_read_table_gives_back_every_table_of_a_run(
    res: RunResult, tmp_path: Path, name: str
) -> None:
    write_run(res, tmp_path)
    pd.testing.assert_frame_equal(read_table(tmp_path / f"{name}.parquet"), res.table(name))


def test_orders_and_campaign_columns_with_none_round_trip(tmp_path: Path) -> None:
    """A delivered order has no export control and most jobs no campaign; both survive."""
    data = tiny(
        orders=[
            {"model": "H800", "region": "r1", "gpus": 64, "ordered": "2024-01-01", "lead_days": 2},
            {
                "name": "late",
                "model": "H800",
                "region": "r1",
                "gpus": 64,
                "ordered": "2024-01-01",
                "lead_days": 8,
            },
        ],
        export_controls=[{"effective": "2024-01-05", "ban": ["H800"]}],
    )
    data["tenants"][0]["campaigns"] = [
        {"name": "big", "submit": "2024-01-03", "gpus": 64, "days": 1}
    ]
    res = run(data)
    assert set(res.orders["status"]) == {"delivered", "cancelled"}
    assert res.jobs["campaign"].isna().any() and (res.jobs["campaign"] == "big").any()
    write_run(res, tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "orders.parquet"), res.orders)
    pd.testing.assert_frame_equal(read_table(tmp_path / "jobs.parquet"), res.jobs)


def test_summary_json_holds_every_metric_with_nan_as_null(tmp_path: Path) -> None:
    """With no GPU in service utilisation is NaN, written as null in strict JSON."""
    data = tiny(
        fleet=[],
        orders=[
            {"model": "H800", "region": "r1", "gpus": 64, "ordered": "2024-01-01", "lead_days": 120}
        ],
    )
    res = run(data)
    write_run(res, tmp_path)

    def no_constants(token: str) -> None:
        raise AssertionError(f"non-standard JSON constant {token}")

    summary = json.loads((tmp_path / "summary.json").read_text(), parse_constant=no_constants)
    assert list(summary) == list(res.summary().index)
    assert summary["utilisation"] is None
    assert summary["jobs_submitted"] == res.summary()["jobs_submitted"]


def test_scenario_json_validates_back_to_the_same_scenario(res: RunResult, tmp_path: Path) -> None:
    """scenario.json, by alias (``class``), is a scenario file that loads back unchanged."""
    write_run(res, tmp_path)
    data = json.loads((tmp_path / "scenario.json").read_text())
    assert data["tenants"][0]["class"] == "paying"
    assert planner.Scenario.model_validate(data) == res.scenario


def test_run_json_records_provenance(res: RunResult, tmp_path: Path) -> None:
    """run.json names the scenario, seed, planner version, wall time and when it was written."""
    write_run(res, tmp_path)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["scenario"] == "tiny"
    assert meta["seed"] == 0
    assert meta["planner_version"] == planner.__version__
    assert meta["wall_s"] == pytest.approx(res.wall_s)
    assert meta["written_at"]


def test_missing_out_dir_is_created_with_its_parents(res: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "run"
    write_run(res, out)
    assert (out / "jobs.parquet").is_file()


def test_rewriting_replaces_the_run_files_and_keeps_other_files(tmp_path: Path) -> None:
    """A second run into the same folder replaces the run's files; unrelated files stay."""
    write_run(run(TINY, seed=0), tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    write_run(run(TINY, seed=1), tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_failed_write_leaves_the_out_dir_untouched(res: RunResult, tmp_path: Path) -> None:
    """Nothing already written is lost: a table that cannot be written changes no file in out_dir.

    The bad table is the last one, so every other file is complete before the failure.
    """
    out = tmp_path / "run"
    write_run(res, out)
    before = snapshot(out)
    bad = pd.DataFrame({"x": pd.Series([1, "a"], dtype=object)})
    broken = RunResult(
        res.scenario, 7, dataclasses.replace(res.tables, credit_events=bad), wall_s=0.0
    )
    with pytest.raises(pa.lib.ArrowException):
        write_run(broken, out)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failed_first_write_creates_no_out_dir(res: RunResult, tmp_path: Path) -> None:
    bad = pd.DataFrame({"x": pd.Series([1, "a"], dtype=object)})
    broken = RunResult(res.scenario, 0, dataclasses.replace(res.tables, jobs=bad), wall_s=0.0)
    with pytest.raises(pa.lib.ArrowException):
        write_run(broken, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_write_json_writes_indented_json_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = write_json({"a": [1, 2]}, tmp_path / "x.json")
    assert path == tmp_path / "x.json"
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
