"""Replaying traces as a tenant's workload: timing, load scaling, sizes and work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import planner
from planner.catalog import gpu_model
from planner.traces import read_trace
from tests.conftest import base_dict
from tests.prerequisites import TRACES, needs_traces


def replay(path: Path, **arrivals: Any) -> dict[str, Any]:
    d = base_dict()
    d["tenants"][0]["workload"] = {"arrivals": {"kind": "trace", "path": str(path), **arrivals}}
    return d


def trace_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("submit_s,duration_s,gpus\n0,3600,1\n1800,7200,8\n3600,0,12\n7200,3600,2\n")
    return path


def test_a_trace_replays_at_its_times_with_its_sizes_and_run_times(tmp_path: Path) -> None:
    res = planner.simulate(planner.Scenario.model_validate(replay(trace_file(tmp_path))))
    jobs = res.jobs
    assert jobs["submit_h"].tolist() == [0.0, 0.5, 1.0, 2.0]
    # 12 GPUs span two 8-GPU nodes, so the job holds 16; a zero run time becomes one second.
    assert jobs["gpus"].tolist() == [1, 8, 16, 2]
    assert (jobs["end_h"] - jobs["start_h"]).tolist() == pytest.approx([1.0, 2.0, 1 / 3600, 1.0])


def test_offset_and_time_scale_move_and_stretch_the_trace(tmp_path: Path) -> None:
    sc = planner.Scenario.model_validate(replay(trace_file(tmp_path), offset_h=24, time_scale=2))
    assert planner.simulate(sc).jobs["submit_h"].tolist() == [24.0, 25.0, 26.0, 28.0]


def test_run_times_are_on_the_reference_model(tmp_path: Path) -> None:
    """Measured on A800s, the work is smaller in H800 terms; on the H800 fleet it runs faster."""
    sc = planner.Scenario.model_validate(replay(trace_file(tmp_path), reference_model="A800"))
    jobs = planner.simulate(sc).jobs
    a800 = gpu_model("A800").throughput
    assert jobs["work_gpu_h"][0] == pytest.approx(1.0 * 1 * a800)
    assert (jobs["end_h"] - jobs["start_h"])[0] == pytest.approx(a800)


def test_load_scale_thins_or_repeats_the_trace(tmp_path: Path) -> None:
    many = tmp_path / "many.csv"
    rows = "\n".join(f"{60 * i},600,1" for i in range(2000))
    many.write_text("submit_s,duration_s,gpus\n" + rows + "\n")
    counts = {}
    for scale in (0.25, 1.0, 2.5):
        sc = planner.Scenario.model_validate(replay(many, load_scale=scale))
        counts[scale] = len(planner.simulate(sc, seed=4).jobs)
    assert counts[1.0] == 2000
    assert abs(counts[0.25] - 500) < 4 * np.sqrt(2000 * 0.25 * 0.75)
    assert abs(counts[2.5] - 5000) < 4 * np.sqrt(2000 * 0.25)


def test_a_trace_workload_takes_no_size_or_work_distributions(tmp_path: Path) -> None:
    d = replay(trace_file(tmp_path))
    d["tenants"][0]["workload"]["gpus"] = {"kind": "constant", "value": 1}
    with pytest.raises(planner.ScenarioError, match="'gpus' comes from the trace"):
        planner.scenario.validate(d)


def test_a_missing_trace_file_is_reported_with_its_tenant(tmp_path: Path) -> None:
    sc = planner.Scenario.model_validate(replay(tmp_path / "nowhere.csv"))
    with pytest.raises(planner.ScenarioError, match=r"tenants\.acme\.workload\.arrivals"):
        planner.simulate(sc)


def test_a_trace_job_larger_than_any_pod_is_reported(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("submit_s,duration_s,gpus\n0,60,64\n")
    with pytest.raises(planner.ScenarioError, match="64 GPUs can never fit"):
        planner.simulate(planner.Scenario.model_validate(replay(big)))


@needs_traces
def test_philly_on_its_cluster_runs_at_the_load_it_offers() -> None:
    """Philly's 111,549 jobs (3.62 M GPU-hours over 129.4 days) on 2,496 GPUs in 8-GPU nodes
    (about the 2,490 of the real cluster): every job finishes inside 130 days, so utilisation
    is the offered load, GPU-hours / (GPUs x 130 days) = 0.465 (STATS.md: 0.469 over the
    129.4-day arrival span on 2,490 GPUs). Sizes above 8 are already whole nodes in Philly, so
    rounding adds nothing."""
    sc = planner.Scenario.model_validate(
        {
            "name": "philly-replay",
            "start": "2017-08-14",
            "horizon_days": 130,
            "regions": [{"name": "philly", "gpus_per_node": 8, "pod_gpus": 2496}],
            "fleet": [
                {"model": "H800", "region": "philly", "gpus": 2496, "acquired": "2017-08-01"}
            ],
            "market": {"prices": {"H800": {"usd_per_gpu_h": 2.0}}, "successor_launches": []},
            "tenants": [
                {
                    "name": "philly",
                    "class": "paying",
                    "models": ["H800"],
                    "workload": {
                        "arrivals": {
                            "kind": "trace",
                            "format": "philly",
                            "path": str(TRACES / "philly-2017"),
                        }
                    },
                }
            ],
        }
    )
    trace = read_trace(TRACES / "philly-2017", "philly")
    offered = (trace.jobs["gpus"] * trace.jobs["duration_s"]).sum() / 3600 / (2496 * 130 * 24)
    summary = planner.simulate(sc).summary()
    assert summary["jobs_submitted"] == 111_549 and summary["jobs_running_at_horizon"] == 0
    assert summary["utilisation"] == pytest.approx(offered, rel=1e-3)
    assert summary["utilisation"] == pytest.approx(0.47, abs=0.01)


def test_a_relative_trace_path_is_read_from_the_scenario_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    trace_file(folder)
    d = replay(Path("t.csv"))
    (folder / "s.yaml").write_text(yaml.safe_dump(d))
    sc = planner.load_scenario(folder / "s.yaml")
    assert len(planner.simulate(sc).jobs) == 4
