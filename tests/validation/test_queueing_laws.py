"""Distribution-free queueing laws on a gang-scheduled fleet: utilisation and Little's law.

Neither law needs exponential times or one-GPU jobs, so the workload here is mixed: jobs of 1, 2,
4, 8 or 16 GPUs (equally likely) on 64 H800s in eight 8-GPU nodes and two 32-GPU pods, with
exponential work per job. Strict FIFO with head-of-line blocking saturates well below full
utilisation on such a fleet (at about 0.70 for this mix, measured at an offered load of 1.5), so
the offered load is 0.55, below it.

Method, per replication (independent seeds via ``replication=r``):

* warm-up: the first 5% of the counted days are deleted (runs start empty);
* window: whole days ``[warm-up, D)``; the run goes two days past ``D`` so every job submitted in
  the window has started (asserted), and no wait is censored;
* time averages (GPUs busy, GPUs in service, jobs waiting) come from ``res.timeseries``, whose
  daily columns are exact time averages of the job table's levels; per-job figures (waits,
  arrivals) from ``res.jobs`` for jobs submitted in the window.

Across replications :func:`planner.stats.mean_ci` gives Student t intervals. Three intervals are
checked (utilisation; Little's law with the scenario's arrival rate; Little's law with the rate
measured in the window), each at 98.33%, so by Bonferroni the family-wise level is 95%. Power:
each interval must also exclude an answer 5% off (the offered load, or every replication's L,
scaled by 0.95 or 1.05). Run with ``-s`` for the figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import planner
from planner.scenario import HOURS_PER_DAY
from planner.stats import mean_ci, time_average

from . import MixedCase, MixedReplication, mixed_replication, run_all

CASE = MixedCase(load=0.55, replications=20, days=100, seed=5508)
CHECKS = 3
FAMILY_LEVEL = 0.95
LEVEL = 1.0 - (1.0 - FAMILY_LEVEL) / CHECKS


@pytest.fixture(scope="module")
def mixed_runs() -> list[MixedReplication]:
    reps = run_all(mixed_replication, [(CASE, r) for r in range(CASE.replications)])
    unstarted = sum(r.unstarted for r in reps)
    assert unstarted == 0, f"{unstarted} jobs submitted in the window never started"
    return reps


def _describe() -> str:
    return (
        f"{CASE.gpus} GPUs, load {CASE.load:g}, lam={CASE.lam:g}/h, R={CASE.replications}, "
        f"days [{CASE.warmup_days}, {CASE.count_days}) "
        f"of {CASE.scenario().horizon_days:g} simulated"
    )


@pytest.mark.statistical
def test_utilisation_equals_the_offered_load(
    mixed_runs: list[MixedReplication], record_property: Any
) -> None:
    """Busy over in-service GPU-hours equals lam·E[gpus x duration]/c = lam·E[work]/c.

    In a stable system every GPU-hour of work offered is served, whatever the job sizes and the
    scheduler, so the long-run utilisation is the offered load.
    """
    ci = mean_ci([r.utilisation for r in mixed_runs], level=LEVEL)
    line = (
        f"utilisation: offered={CASE.load:.6f} estimate={ci.mean:.6f} ±{ci.half_width:.6f} "
        f"({ci.level:.2%} CI) rel.err={ci.mean / CASE.load - 1:+.3%} "
        f"rel.half-width={ci.half_width / CASE.load:.3%}; {_describe()}"
    )
    record_property("utilisation", line)
    print("\n" + line)
    assert ci.contains(CASE.load), line


@pytest.mark.statistical
@pytest.mark.parametrize("rate", ["scenario", "measured"])
def test_littles_law_holds_for_the_queue(
    mixed_runs: list[MixedReplication], rate: str, record_property: Any
) -> None:
    """Time-average jobs waiting = arrival rate x mean wait, L and W from the same runs.

    With the scenario's rate lam, ``L - lam W`` has expectation zero in steady state, and the
    check covers the arrival process too. With the rate measured in the same window the law is
    almost an identity of the job table: only jobs waiting across the window's edges make
    ``L - lam W`` differ from zero, so this checks that the timeseries' queue level and the
    per-job waits are the same bookkeeping.
    """
    lam = CASE.lam if rate == "scenario" else None
    gap = mean_ci([r.little_gap(lam) for r in mixed_runs], level=LEVEL)
    lq = float(np.mean([r.queue_jobs for r in mixed_runs]))
    lam_w = lq - gap.mean
    p_wait = float(np.mean([r.p_wait for r in mixed_runs]))
    line = (
        f"Little (queue, {rate} lam): L={lq:.5f} lam*W={lam_w:.5f} ratio={lq / lam_w:.5f}; "
        f"L - lam*W = {gap.mean:+.2e} ±{gap.half_width:.2e} ({gap.level:.2%} CI, "
        f"half-width {gap.half_width / lq:.3%} of L); P(wait)={p_wait:.3f}; {_describe()}"
    )
    record_property(f"little_{rate}", line)
    print("\n" + line)
    assert lq > 0.5, f"too little queueing for Little's law to say anything: {line}"
    assert gap.contains(0.0), line


WRONG_BY = 0.05
"""The power checks: an answer this far off (relative) must fall outside the same interval."""


@pytest.mark.statistical
@pytest.mark.parametrize("sign", [-1, 1], ids=["low", "high"])
def test_a_utilisation_off_by_five_percent_is_rejected(
    mixed_runs: list[MixedReplication], sign: int
) -> None:
    """Power: the interval that holds the offered load excludes it scaled by 0.95 or 1.05."""
    ci = mean_ci([r.utilisation for r in mixed_runs], level=LEVEL)
    wrong = CASE.load * (1 + sign * WRONG_BY)
    assert not ci.contains(wrong), f"utilisation {wrong:.4f} not rejected by {ci}"


@pytest.mark.statistical
@pytest.mark.parametrize("rate", ["scenario", "measured"])
@pytest.mark.parametrize("sign", [-1, 1], ids=["low", "high"])
def test_a_queue_length_off_by_five_percent_breaks_littles_law(
    mixed_runs: list[MixedReplication], rate: str, sign: int
) -> None:
    """Power: with every replication's L scaled by 0.95 or 1.05, the interval for L - lam W,
    formed the same way as in the test above, excludes zero."""
    lam = CASE.lam if rate == "scenario" else None
    factor = 1 + sign * WRONG_BY
    gap = mean_ci(
        [r.little_gap(lam) + (factor - 1) * r.queue_jobs for r in mixed_runs], level=LEVEL
    )
    assert not gap.contains(0.0), f"L x {factor:g} - lam W = {gap} does not exclude 0"


def test_time_averages_agree_with_the_job_table_and_the_cohort_accounts() -> None:
    """Accounting identities over a whole run (no statistics): the tables tell one story.

    The daily ``jobs_queued`` and ``gpus_busy`` averaged over the horizon equal the time
    averages of the same levels rebuilt from ``res.jobs``; the cohorts' busy and in-service
    GPU-hours equal the timeseries' daily averages times 24 h.
    """
    days = 20
    res = planner.simulate(CASE.scenario(horizon_days=days), seed=CASE.seed, replication=999)
    jobs, ts, cohorts = res.jobs, res.timeseries, res.cohorts
    horizon_h = days * HOURS_PER_DAY
    assert (jobs["state"] == "running").any(), "want jobs still running at the horizon"

    submit = jobs["submit_h"].to_numpy()
    start = jobs["start_h"].dropna().to_numpy()
    end = jobs["end_h"].dropna().to_numpy()
    started_gpus = jobs.loc[jobs["start_h"].notna(), "gpus"].to_numpy(dtype=float)
    ended_gpus = jobs.loc[jobs["end_h"].notna(), "gpus"].to_numpy(dtype=float)

    def level(times: np.ndarray, deltas: np.ndarray) -> float:
        order = np.argsort(times, kind="stable")
        t = np.concatenate([[0.0], times[order]])
        v = np.concatenate([[0.0], np.cumsum(deltas[order])])
        return time_average(t, v, horizon_h, t_start=0.0)

    queued = level(np.r_[submit, start], np.r_[np.ones(len(submit)), -np.ones(len(start))])
    busy = level(np.r_[start, end], np.r_[started_gpus, -ended_gpus])
    assert float(ts["jobs_queued"].mean()) == pytest.approx(queued, rel=1e-9)
    assert float(ts["gpus_busy"].mean()) == pytest.approx(busy, rel=1e-9)
    assert float(cohorts["in_service_gpu_h"].sum()) == pytest.approx(
        float(ts["gpus_in_service"].sum()) * HOURS_PER_DAY, rel=1e-9
    )
    assert float(cohorts["busy_gpu_h"].sum()) == pytest.approx(busy * horizon_h, rel=1e-9), (
        "cohorts.busy_gpu_h disagrees with the busy GPU-hours of the job table"
    )
    assert float(jobs["gpu_h"].sum()) == pytest.approx(busy * horizon_h, rel=1e-9), (
        "jobs.gpu_h disagrees with the busy GPU-hours of the job table"
    )
