"""Scheduling-policy benchmark: the cost of one scheduler event with a long queue waiting.

Run from the repository root:

    python -m benchmarks.policies [--quick] [--out benchmarks/results/policies-latest.json]

Set-up, per queue length Q (0, 1,000, 3,000 and 10,000): one 4,096-GPU H800 pod of 8-GPU
nodes. At time zero an 8-GPU job starts that outlives the run, and a job that needs the whole
pod heads the queue behind it, with Q more jobs waiting. Then a stream of small jobs (8 GPUs,
exponential work with a mean of one hour on a node, offered load 0.6) flows past them. Cases:

- ``backfill, whole-pod queue`` (the whole queue looked at, ``max_scan: null``): the Q jobs
  each need the whole pod. The head reserves the pod
  from the blocker's end, beyond the run, and every stream job backfills.
- ``backfill, long-job queue``: the Q jobs need one node each but would run past the
  reservation, which holds every node, so none may backfill. This is EASY's worst case: each
  pass looks at every one of them (``max_scan: null``). Also timed with the default
  ``max_scan: 100``.
- ``quota``: the stream belongs to a tenant holding 2,048 GPUs in quota (its own queue); the
  whole-pod jobs wait in the shared queue, where only the head is looked at.

The reference, timed in the same run and interleaved, is ``fifo`` on the same stream with
only the blocker in the fleet and nothing waiting. Figures are wall-clock microseconds per
job event (an arrival or a completion) in ``Model.run()``, and their ratio to the reference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import REPO_ROOT, git_info, load_average, machine_info
from benchmarks.report import write_json
from planner.model.demand import JobBatch
from planner.model.engine import Model
from planner.scenario.schema import Scenario

POD_GPUS = 4096
NODE_GPUS = 8
STREAM_GPUS = 8
LOAD = 0.6
OUT = REPO_ROOT / "benchmarks" / "results" / "policies-latest.json"


def scenario(scheduler: dict[str, Any], horizon_days: int) -> Scenario:
    kind = scheduler["kind"]
    stream: dict[str, Any] = {"name": "stream", "class": "credit", "models": ["H800"]}
    stream["credit"] = {"amount_usd": 1.0, "granted": "2024-01-01", "expires": "2024-01-02"}
    if kind == "quota":
        stream["reservation"] = {"gpus": POD_GPUS // 2, "model": "H800", "region": "r"}
    return Scenario.model_validate(
        {
            "name": f"bench-{kind}",
            "start": "2024-01-01",
            "horizon_days": horizon_days,
            "regions": [{"name": "r", "gpus_per_node": NODE_GPUS, "pod_gpus": POD_GPUS}],
            "fleet": [{"model": "H800", "region": "r", "gpus": POD_GPUS, "acquired": "2023-06-01"}],
            "tenants": [{"name": "backlog", "class": "paying", "models": ["H800"]}, stream],
            "scheduler": scheduler,
        }
    )


def jobs(
    queued: int, stream_jobs: int, queued_gpus: int = POD_GPUS, head: bool = True, seed: int = 7
) -> JobBatch:
    """The blocker, a whole-pod head (if ``head``), ``queued`` jobs of ``queued_gpus`` GPUs
    that would run twice as long as the blocker, then the stream (tenant 1)."""
    rng = np.random.default_rng(seed)
    rate_per_h = LOAD * POD_GPUS / STREAM_GPUS  # stream work is one node-hour on average
    waiting = int(head) + queued
    submit = np.r_[np.zeros(1 + waiting), np.cumsum(rng.exponential(1 / rate_per_h, stream_jobs))]
    blocker_h = 1e7
    gpus = np.r_[
        NODE_GPUS,
        np.full(int(head), POD_GPUS),
        np.full(queued, queued_gpus),
        np.full(stream_jobs, STREAM_GPUS),
    ]
    work = np.r_[
        NODE_GPUS * blocker_h,
        np.full(int(head), POD_GPUS * blocker_h),
        np.full(queued, queued_gpus * 2 * blocker_h),
        rng.exponential(STREAM_GPUS * 1.0, stream_jobs),
    ]
    tenant = np.r_[np.zeros(1 + waiting), np.ones(stream_jobs)]
    return JobBatch(
        submit_h=submit.astype(np.float64),
        tenant=tenant.astype(np.int64),
        gpus=gpus.astype(np.int64),
        work_gpu_h=work.astype(np.float64),
    )


def time_run(scheduler: dict[str, Any], batch: JobBatch, stream_jobs: int) -> float:
    """Microseconds of ``Model.run()`` per stream job event (arrival or completion)."""
    # The horizon just covers the stream: the run ends soon after the last arrival.
    horizon_days = int(batch.submit_h[-1] // 24) + 1
    model = Model(scenario(scheduler, horizon_days), 0, jobs=batch)
    began = time.perf_counter()
    model.run()
    wall_s = time.perf_counter() - began
    finished = len(model.record().recorded.end_job)
    return wall_s / (stream_jobs + finished) * 1e6


CASES: tuple[tuple[str, dict[str, Any], int], ...] = (
    ("backfill, whole-pod queue", {"kind": "backfill", "max_scan": None}, POD_GPUS),
    ("backfill, long-job queue", {"kind": "backfill", "max_scan": None}, NODE_GPUS),
    ("backfill, long-job queue, max_scan 100", {"kind": "backfill", "max_scan": 100}, NODE_GPUS),
    ("quota", {"kind": "quota"}, POD_GPUS),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs and repeats")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    stream_jobs, repeats = (5_000, 2) if args.quick else (40_000, 3)
    queue_lengths = (0, 1_000, 3_000, 10_000)
    reference_batch = jobs(0, stream_jobs, head=False)
    fifo = {"kind": "fifo"}
    rows: list[dict[str, Any]] = []
    for case, scheduler, queued_gpus in CASES:
        for queued in queue_lengths:
            batch = jobs(queued, stream_jobs, queued_gpus)
            ratios, costs, refs = [], [], []
            for _ in range(repeats):  # interleaved with the reference, against machine noise
                ref = time_run(fifo, reference_batch, stream_jobs)
                cost = time_run(scheduler, batch, stream_jobs)
                refs.append(ref)
                costs.append(cost)
                ratios.append(cost / ref)
            row = {
                "case": case,
                "scheduler": scheduler,
                "queued": queued,
                "us_per_event": statistics.median(costs),
                "fifo_reference_us_per_event": statistics.median(refs),
                "ratio_to_fifo": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
            rows.append(row)
            print(
                f"{case:40s} Q={queued:6,d} {row['us_per_event']:9.1f} us/event "
                f"{row['ratio_to_fifo']:8.2f}x fifo [{min(ratios):.2f}-{max(ratios):.2f}]",
                flush=True,
            )
    for case, _, _ in CASES:
        mine = [r for r in rows if r["case"] == case]
        q = np.array([r["queued"] for r in mine], dtype=float)
        us = np.array([r["us_per_event"] for r in mine])
        slope, intercept = np.polyfit(q, us, 1)
        print(f"{case}: {intercept:.1f} us/event + {slope * 1000:.2f} us per 1,000 queued jobs")
        for r in mine:
            r["fit_us_per_1000_queued"] = slope * 1000
            r["fit_us_at_empty_queue"] = intercept
    write_json(
        args.out,
        {
            "benchmark": "policies",
            "stream_jobs": stream_jobs,
            "repeats": repeats,
            "machine": machine_info(),
            "git": git_info(),
            "load_average": load_average(),
            "rows": rows,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
