"""Fitting a synthetic workload to a trace, and the bursty arrivals it uses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.model.demand import bursty_arrivals
from planner.scenario.schema import BurstyArrivals, Workload
from planner.traces import Trace, read_trace
from planner.traces.fit import fit_trace
from tests.conftest import base_dict
from tests.test_traces import TRACES, needs_traces


@pytest.mark.parametrize("cv", [1.0, 4.0, 20.0])
def test_bursty_arrivals_have_the_asked_rate_and_variability(cv: float) -> None:
    """Over about a million gaps the rate is within four standard errors (a renewal count's
    relative error is about cv / sqrt(n)) and the gaps' CV within 10%: the sample CV of a
    mixture this skewed settles slowly (at cv 20, within 3% over six seeds tried)."""
    spec = BurstyArrivals(per_day=2000.0, cv=cv)
    times = bursty_arrivals(spec, 0.0, 24.0 * 500, np.random.default_rng(7))
    gaps = np.diff(times)
    assert len(times) / 500 == pytest.approx(2000.0, rel=4 * cv / math.sqrt(1_000_000))
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.10)


def synthetic(n: int = 20_000) -> Trace:
    rng = np.random.default_rng(3)
    times = bursty_arrivals(BurstyArrivals(per_day=500.0, cv=6.0), 0.0, 24.0 * 400, rng)[:n]
    gpus = rng.choice([1, 8, 64], size=len(times), p=[0.7, 0.25, 0.05])
    work = rng.lognormal(np.log(5.0), 1.5, len(times))
    jobs = pd.DataFrame({"submit_s": times * 3600, "duration_s": work / gpus * 3600, "gpus": gpus})
    return Trace("synthetic", jobs, ())


def test_a_fit_recovers_the_rate_variability_sizes_and_work_of_its_trace() -> None:
    trace = synthetic()
    fitted = fit_trace(trace)
    assert fitted.per_day == pytest.approx(500.0, rel=0.05)
    assert fitted.cv == pytest.approx(6.0, rel=0.15)
    assert fitted.sizes == pytest.approx({1: 0.7, 8: 0.25, 64: 0.05}, abs=0.01)
    report = fitted.report.set_index("quantity")
    trace_mean, model_mean = report.loc["work mean, GPU-h"]
    assert model_mean == pytest.approx(trace_mean, rel=1e-5)
    lognormal = fit_trace(trace, work_model="lognormal").workload()["work_gpu_h"]
    assert lognormal["median"] == pytest.approx(5.0, rel=0.05)
    assert lognormal["sigma"] == pytest.approx(1.5, rel=0.05)


def test_the_fitted_block_is_a_workload_a_scenario_runs() -> None:
    block = fit_trace(synthetic(2_000)).workload()
    Workload.model_validate(block)
    d = base_dict(horizon_days=3)
    d["regions"][0]["pod_gpus"] = 64
    d["fleet"][0]["gpus"] = 64
    d["tenants"][0]["workload"] = block
    summary = planner.simulate(planner.Scenario.model_validate(d)).summary()
    assert summary["jobs_submitted"] == pytest.approx(3 * block["arrivals"]["per_day"], rel=0.5)


@needs_traces
def test_philly_fits_its_published_rate_and_burstiness() -> None:
    """STATS.md: 111,549 jobs over 129.4 days, inter-arrival CV 19.83, 1.74 GPUs per job."""
    fitted = fit_trace(read_trace(TRACES / "philly-2017", "philly"))
    assert fitted.per_day == pytest.approx(111_548 / 129.4, rel=0.01)
    assert fitted.cv == pytest.approx(19.83, abs=0.01)
    report = fitted.report.set_index("quantity")
    assert report.loc["mean GPUs per job", "model"] == pytest.approx(1.74, abs=0.01)
    assert math.isnan(report.loc["KS distance, log work (lognormal)", "model"])


def test_trace_fit_prints_a_block_to_paste(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    synthetic(500).jobs.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["trace", "fit", str(path)])
    assert result.exit_code == 0, result.stderr
    block = yaml.safe_load(result.stdout)["workload"]
    assert block["arrivals"]["kind"] == "bursty"
    Workload.model_validate(block)
    assert "inter-arrival CV" in result.stderr
