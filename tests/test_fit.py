"""Fitting a synthetic workload to a trace, and the bursty arrivals it uses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.model.demand import bursty_arrivals
from planner.scenario.schema import BurstyArrivals, RateProfile, Workload
from planner.stats import mean_ci
from planner.traces import Trace, read_trace
from planner.traces.fit import fit_trace
from tests.conftest import base_dict
from tests.prerequisites import TRACES, needs_traces
from tests.validation import run_all


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


def test_a_rate_profile_sets_the_rate_window_by_window_and_repeats() -> None:
    """Two days at half the rate, one at double, over and over: each window's count is within
    four standard errors of its rate (a count's variance is about n x cv² for a renewal
    process), and a zero factor means no arrivals at all."""
    profile = RateProfile(window_h=24.0, factors=[0.5, 0.5, 2.0, 0.0])
    spec = BurstyArrivals(per_day=1000.0, cv=3.0, rate_profile=profile)
    times = bursty_arrivals(spec, 48.0, 48.0 + 24.0 * 400, np.random.default_rng(11))
    window = ((times - 48.0) // 24.0).astype(int) % 4
    for k, factor in enumerate(profile.factors):
        expected = 1000.0 * factor * 100
        count = int((window == k).sum())
        assert abs(count - expected) <= 4 * 3.0 * math.sqrt(max(expected, 1.0)), (k, count)
    assert not np.any(window == 3)


@settings(max_examples=60, deadline=None)
@given(
    factors=st.lists(st.sampled_from([0.0, 0.1, 1.0, 3.0]), min_size=1, max_size=6).filter(any),
    window_h=st.floats(0.5, 48.0),
    begin_h=st.floats(0.0, 100.0),
    length_h=st.floats(1.0, 500.0),
    cv=st.floats(1.0, 20.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_profiled_arrivals_are_ordered_inside_the_window_and_absent_where_the_rate_is_zero(
    factors: list[float],
    window_h: float,
    begin_h: float,
    length_h: float,
    cv: float,
    seed: int,
) -> None:
    profile = RateProfile(window_h=window_h, factors=factors)
    spec = BurstyArrivals(per_day=200.0, cv=cv, rate_profile=profile)
    times = bursty_arrivals(spec, begin_h, begin_h + length_h, np.random.default_rng(seed))
    assert np.all(np.diff(times) >= 0)
    assert np.all((times >= begin_h) & (times < begin_h + length_h))
    window = ((times - begin_h) // window_h).astype(int) % len(factors)
    assert all(factors[k] > 0 for k in window)


def test_work_follows_the_profile_and_the_jobs_size() -> None:
    """Work drawn by size: 1-GPU jobs do 2 GPU-hours and 8-GPU jobs 80; in the profile's second
    window the work is tripled."""
    d = base_dict(horizon_days=4)
    d["tenants"][0]["workload"] = {
        "arrivals": {
            "kind": "bursty",
            "per_day": 50,
            "cv": 1.0,
            "rate_profile": {"window_h": 48, "factors": [1, 1], "work_factors": [1, 3]},
        },
        "gpus": {"kind": "choice", "values": [1, 8], "weights": [1, 1]},
        "work_gpu_h": {
            "kind": "by_gpus",
            "by_gpus": {1: {"kind": "constant", "value": 2}, 8: {"kind": "constant", "value": 80}},
        },
    }
    jobs = planner.simulate(planner.Scenario.model_validate(d), seed=2).jobs
    per_gpu: pd.Series = jobs["work_gpu_h"] / jobs["gpus"] / np.where(jobs["submit_h"] < 48, 1, 3)
    assert set(jobs["gpus"]) == {1, 8}
    assert per_gpu.to_numpy() == pytest.approx(np.where(jobs["gpus"] == 1, 2.0, 10.0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"by_gpus": {1: {"kind": "constant", "value": 2}}}, r"no work for \[8\] GPUs"),
        ({"gpus_kind": "uniform"}, "needs 'gpus' to be a choice"),
        ({"work_factors": [1.0]}, "'work_factors' has 1 entry but 'factors' has 2"),
        ({"factors": [0.0, 0.0]}, "must not all be zero"),
    ],
)
def test_a_profile_or_work_by_size_that_does_not_add_up_is_refused(
    change: dict[str, object], message: str
) -> None:
    by_gpus = change.get("by_gpus", {n: {"kind": "constant", "value": 1} for n in (1, 8)})
    gpus: dict[str, object] = {"kind": "choice", "values": [1, 8]}
    if change.get("gpus_kind") == "uniform":
        gpus = {"kind": "uniform", "low": 1, "high": 8}
    profile = {"factors": change.get("factors", [1.0, 1.0])}
    if "work_factors" in change:
        profile["work_factors"] = change["work_factors"]
    block = {
        "arrivals": {"kind": "bursty", "per_day": 5, "cv": 2, "rate_profile": profile},
        "gpus": gpus,
        "work_gpu_h": {"kind": "by_gpus", "by_gpus": by_gpus},
    }
    d = base_dict()
    d["tenants"][0]["workload"] = block
    with pytest.raises(planner.ScenarioError, match=message):
        planner.scenario.validate(d)


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
    assert model_mean == pytest.approx(trace_mean, rel=1e-4)  # weights written to six digits
    lognormal = fit_trace(trace, work_model="lognormal").workload()["work_gpu_h"]
    assert lognormal["median"] == pytest.approx(5.0, rel=0.05)
    assert lognormal["sigma"] == pytest.approx(1.5, rel=0.05)


def test_a_fit_follows_the_traces_rate_and_work_over_time() -> None:
    """A trace at 100 jobs a day of 1 GPU-hour for 20 days, then 400 a day of 4 GPU-hours: the
    fitted profile's factors and work factors recover the two levels, and the steady fit does
    not."""
    rng = np.random.default_rng(5)
    quiet = np.sort(rng.uniform(0, 20 * 24, 2000))
    busy = np.sort(rng.uniform(20 * 24, 40 * 24, 8000))
    jobs = pd.DataFrame(
        {
            "submit_s": np.concatenate([quiet, busy]) * 3600,
            "duration_s": np.concatenate([np.full(2000, 1.0), np.full(8000, 4.0)]) * 3600,
            "gpus": 1,
        }
    )
    fitted = fit_trace(Trace("two-level", jobs, ()), window_h=24.0)
    assert fitted.profile is not None
    factors = np.array(fitted.profile["factors"])
    work = np.array(fitted.profile["work_factors"])
    mean_rate, mean_work = 250.0, (2000 * 1.0 + 8000 * 4.0) / 10_000
    assert fitted.per_day == pytest.approx(mean_rate, rel=0.05)
    assert factors[:19] == pytest.approx(100 / mean_rate, rel=0.35)
    assert factors[21:39] == pytest.approx(400 / mean_rate, rel=0.2)
    assert work[:19] == pytest.approx(1.0 / mean_work, rel=1e-3)
    assert work[21:39] == pytest.approx(4.0 / mean_work, rel=1e-3)
    assert fit_trace(Trace("two-level", jobs, ()), window_h=None).profile is None


def test_work_is_fitted_for_each_size_apart() -> None:
    """In the synthetic trace the work does not depend on size, so each size's fitted mean is
    near the common one; in Philly the 8-GPU jobs do far more work than the 1-GPU ones."""
    block = fit_trace(synthetic())
    per_size = {
        size: np.average(dist["values"], weights=dist["weights"])
        for size, dist in block.work["by_gpus"].items()
    }
    assert set(per_size) == {1, 8, 64}
    assert per_size[1] == pytest.approx(per_size[8], rel=0.15)


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
    """STATS.md: 111,549 jobs over 129.4 days, inter-arrival CV 19.83, 1.74 GPUs per job. The
    steady fit matches the rate and CV; with a weekly profile most of that CV is the rate's
    changes from week to week, and the gaps at a steady rate vary far less. Philly's 8-GPU jobs
    run over five times as long as its 1-GPU jobs (work per GPU), which a fit drawing work
    apart from size would lose."""
    trace = read_trace(TRACES / "philly-2017", "philly")
    steady = fit_trace(trace, window_h=None)
    assert steady.per_day == pytest.approx(111_548 / 129.4, rel=0.01)
    assert steady.cv == pytest.approx(19.83, abs=0.01)
    report = steady.report.set_index("quantity")
    assert report.loc["mean GPUs per job", "model"] == pytest.approx(1.74, abs=0.01)
    assert math.isnan(report.loc["KS distance, log work (lognormal)", "model"])
    profiled = fit_trace(trace)
    assert profiled.profile is not None and len(profiled.profile["factors"]) == 19
    assert 1.0 < profiled.cv < steady.cv / 4
    work = profiled.work["by_gpus"]
    mean_per_gpu = {
        n: np.average(work[n]["values"], weights=work[n]["weights"]) / n for n in (1, 8)
    }
    assert mean_per_gpu[8] > 5 * mean_per_gpu[1]


def philly_on(gpus: int, workload: dict[str, object], scheduler: str = "fifo") -> planner.Scenario:
    return planner.Scenario.model_validate(
        {
            "name": "philly",
            "start": "2017-08-14",
            "horizon_days": 130,
            "regions": [{"name": "philly", "gpus_per_node": 8, "pod_gpus": gpus}],
            "fleet": [
                {"model": "H800", "region": "philly", "gpus": gpus, "acquired": "2017-08-01"}
            ],
            "market": {"prices": {"H800": {"usd_per_gpu_h": 2.0}}, "successor_launches": []},
            "scheduler": {"kind": scheduler},
            "tenants": [
                {"name": "philly", "class": "paying", "models": ["H800"], "workload": workload}
            ],
        }
    )


FIT_REPLICATIONS, STEADY_REPLICATIONS = 30, 5
FIT_LEVEL = 1.0 - 0.05 / 3  # three intervals: by Bonferroni a 95% family-wise level


def philly_waits(task: tuple[dict[str, object], int]) -> tuple[float, float]:
    """The p50 and p95 waits of replication r of a workload block on Philly's 1,456 GPUs."""
    block, r = task
    summary = planner.simulate(philly_on(1456, block), seed=0, replication=r).summary()
    return summary["wait_p50_h.all"], summary["wait_p95_h.all"]


@pytest.mark.statistical
@needs_traces
def test_the_fitted_philly_workload_queues_like_the_replay(traces: Path) -> None:
    """On 1,456 GPUs (offered load about 0.8) under FIFO, the replay's p50 and p95 waits are
    348 h and 645 h. The replay is one history and the fit a distribution over histories, so
    the claim is about the fit's expected waits: over 30 replications, the interval for each
    ratio to the replay's lies inside a planning tolerance of 30% (measured: 0.83 ± 0.06 for
    both, single replications 0.62 to 1.20). Power: the steady fit, which matches the rate and
    the gaps' CV but not the heavy weeks, has its p50's interval below a tenth of the replay's.
    """
    trace = read_trace(traces / "philly-2017", "philly")
    path = str(traces / "philly-2017")
    replay_block = {"arrivals": {"kind": "trace", "format": "philly", "path": path}}
    replay = planner.simulate(philly_on(1456, replay_block)).summary()
    target = np.array([replay["wait_p50_h.all"], replay["wait_p95_h.all"]])
    assert target[0] > 200  # queues form: the check is not at an idle load

    fitted = fit_trace(trace).workload()
    ratios = np.array(run_all(philly_waits, [(fitted, r) for r in range(FIT_REPLICATIONS)]))
    ratios /= target
    for k, name in enumerate(("p50", "p95")):
        ci = mean_ci(ratios[:, k], level=FIT_LEVEL)
        low, high = ratios[:, k].min(), ratios[:, k].max()
        print(f"\nfitted {name} over the replay's: {ci}; replications {low:.2f} to {high:.2f}")
        assert ci.low >= 0.7 and ci.high <= 1.3, f"fitted {name} over the replay's: {ci}"
    steady = fit_trace(trace, window_h=None).workload()
    missed = np.array(run_all(philly_waits, [(steady, r) for r in range(STEADY_REPLICATIONS)]))
    ci = mean_ci(missed[:, 0] / target[0], level=FIT_LEVEL)
    print(f"steady p50 over the replay's: {ci}")
    assert ci.high < 0.1, f"steady p50 over the replay's: {ci}"


def test_trace_fit_prints_a_block_to_paste(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    synthetic(500).jobs.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["trace", "fit", str(path)])
    assert result.exit_code == 0, result.stderr
    block = yaml.safe_load(result.stdout)["workload"]
    assert block["arrivals"]["kind"] == "bursty"
    Workload.model_validate(block)
    assert "inter-arrival CV" in result.stderr
    assert "rate_profile" in block["arrivals"] and block["work_gpu_h"]["kind"] == "by_gpus"
    steady = CliRunner().invoke(app, ["trace", "fit", str(path), "--steady", "--work-apart"])
    assert steady.exit_code == 0, steady.stderr
    block = yaml.safe_load(steady.stdout)["workload"]
    assert "rate_profile" not in block["arrivals"] and block["work_gpu_h"]["kind"] == "choice"
