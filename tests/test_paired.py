"""Paired differences between a sweep's points and a baseline point: replication by replication
on common random numbers, in the library, on the command line and in the sweep report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.cli.output import pct
from planner.experiments.paired import paired_differences
from planner.experiments.replicate import Replications
from planner.experiments.sweep import read_sweep, sweep
from planner.report.experiment_sections import sweep_section
from planner.report.inputs import read_sweep_dir

METRICS = ["utilisation", "wait_mean_h.all"]


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student t interval, computed here from the formula."""
    n = len(values)
    mean = values.sum() / n
    half = stats.t.ppf(0.975, n - 1) * math.sqrt(((values - mean) ** 2).sum() / (n - 1) / n)
    return mean, mean - half, mean + half


def hand_rows() -> pd.DataFrame:
    """Three points, three replications each, in no particular order; point 2 lacks rep 1 and
    has an infinite wait in rep 2."""
    rows = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1, 2, 2],
            "rep": [0, 1, 2, 0, 1, 2, 0, 2],
            "param.gpus": [16, 16, 16, 24, 24, 24, 32, 32],
            "utilisation": [0.9, 0.8, 0.85, 0.7, 0.65, 0.66, 0.5, 0.49],
            "wait_mean_h.all": [3.0, 4.0, 3.5, 1.0, 1.2, 0.9, 0.1, math.inf],
        }
    )
    return rows.sample(frac=1.0, random_state=np.random.default_rng(3)).reset_index(drop=True)


def test_each_difference_is_taken_replication_by_replication_against_the_baseline() -> None:
    rows = hand_rows()
    diffs = paired_differences(rows, METRICS, baseline=1)
    assert diffs[["point", "metric"]].to_numpy().tolist() == [
        [0, "utilisation"], [0, "wait_mean_h.all"], [2, "utilisation"], [2, "wait_mean_h.all"],
    ]  # fmt: skip
    assert diffs["param.gpus"].tolist() == [16, 16, 32, 32]
    got = diffs.set_index(["point", "metric"])
    util = np.array([0.9 - 0.7, 0.8 - 0.65, 0.85 - 0.66])
    mean, low, high = t_interval(util)
    assert got.loc[(0, "utilisation"), "n"] == 3
    assert got.loc[(0, "utilisation"), "mean"] == pytest.approx(mean)
    assert got.loc[(0, "utilisation"), "low"] == pytest.approx(low)
    assert got.loc[(0, "utilisation"), "high"] == pytest.approx(high)
    # Point 2 pairs only the replications it holds, 0 and 2.
    mean, low, high = t_interval(np.array([0.5 - 0.7, 0.49 - 0.66]))
    assert got.loc[(2, "utilisation"), "n"] == 2
    assert got.loc[(2, "utilisation"), ["mean", "low", "high"]].tolist() == pytest.approx(
        [mean, low, high]
    )
    # An infinite difference leaves the mean infinite and no interval.
    infinite = got.loc[(2, "wait_mean_h.all")]
    assert math.isinf(infinite["mean"]) and math.isnan(infinite["low"])


def test_a_baseline_outside_the_sweep_is_refused() -> None:
    with pytest.raises(ValueError, match=r"baseline point 5 is not among the sweep's points"):
        paired_differences(hand_rows(), METRICS, baseline=5)


@pytest.fixture(scope="module")
def fleet_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The M/M/c scenario for two days with 15 and 16 GPUs, five replications each: both points
    see the same arrivals and work in each replication."""
    out = tmp_path_factory.mktemp("sweep")
    sc = planner.load_scenario("mmc").with_overrides({"horizon_days": 2})
    sweep(sc, out, grid={"fleet.0.gpus": [15, 16]}, reps=5, executor="serial")
    return out


def test_pairing_on_common_random_numbers_is_narrower_than_comparing_unpaired(
    fleet_sweep: Path,
) -> None:
    """The paired interval of the difference is narrower than the unpaired two-sample one
    (pooled variance, 2n - 2 degrees of freedom) built from the same rows."""
    rows = read_sweep(fleet_sweep)
    diffs = paired_differences(rows, METRICS).set_index("metric")
    for metric in METRICS:
        base = rows.loc[rows["point"] == 0, metric].to_numpy(dtype=float)
        more = rows.loc[rows["point"] == 1, metric].to_numpy(dtype=float)
        mean, low, high = t_interval(more - base)
        assert diffs.loc[metric, ["mean", "low", "high"]].tolist() == pytest.approx(
            [mean, low, high]
        )
        n = len(base)
        pooled = (base.var(ddof=1) + more.var(ddof=1)) / 2
        unpaired_half = stats.t.ppf(0.975, 2 * n - 2) * math.sqrt(pooled * 2 / n)
        paired_half = (diffs.loc[metric, "high"] - diffs.loc[metric, "low"]) / 2
        assert paired_half < unpaired_half / 2, metric


def test_sweep_prints_each_points_intervals_and_its_paired_difference(
    fleet_sweep: Path, tmp_path: Path
) -> None:
    rows = read_sweep(fleet_sweep)
    out = tmp_path / "again"
    result = CliRunner().invoke(
        app,
        ["sweep", "mmc", "--grid", "fleet.0.gpus=15,16", "--reps", "5", "--workers", "1",
         "--set", "horizon_days=2", "--out", str(out), "--baseline", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    for point in (0, 1):
        # Each point's own interval is the one replications get (kept inside [0, 1] for a share).
        runs = rows[rows["point"] == point].drop(columns=["point", "param.fleet.0.gpus"])
        mean, low, high = Replications(runs).summary().loc["utilisation", ["mean", "low", "high"]]
        title = lines.index(f"point {point} (fleet.0.gpus={15 + point}): 5 replications")
        row = next(line.split() for line in lines[title:] if line.startswith("utilisation"))
        assert row[1:] == [pct(mean), f"[{pct(low)},", f"{pct(high)}]", "logit"]
    paired = next(
        i for i, line in enumerate(lines) if line.startswith("point 0 (fleet.0.gpus=15) -")
    )
    assert "baseline point 1 (fleet.0.gpus=16): paired over 5 replications" in " ".join(
        lines[paired : paired + 2]
    )
    mean, low, high = t_interval(
        rows.loc[rows["point"] == 0, "utilisation"].to_numpy(dtype=float)
        - rows.loc[rows["point"] == 1, "utilisation"].to_numpy(dtype=float)
    )
    row = next(line.split() for line in lines[paired:] if line.startswith("utilisation"))
    assert row[1:] == [pct(mean), f"[{pct(low)},", f"{pct(high)}]", "paired", "t"]
    assert "mean difference" in result.stdout and "p95 wait, paying" in result.stdout


def test_sweep_refuses_a_baseline_it_does_not_have(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sweep", "mmc", "--grid", "fleet.0.gpus=15,16", "--baseline", "2",
              "--out", str(tmp_path / "s")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "the sweep has points 0 to 1, not 2" in result.stderr
    assert not (tmp_path / "s" / "rows").exists()


def test_the_sweep_report_shows_paired_differences_under_readable_names(
    fleet_sweep: Path,
) -> None:
    rows = read_sweep(fleet_sweep)
    section = sweep_section(read_sweep_dir(fleet_sweep), metrics=["utilisation"], baseline=1)
    figure = next(f for f in section.figures if f.name == "paired")
    ((name, table),) = figure.tables
    assert name == "difference from point 1, per point"
    assert table["metric"].tolist() == ["utilisation"]
    diff = paired_differences(rows, ["utilisation"], baseline=1).iloc[0]

    def signed(value: float) -> str:
        return f"+{pct(value)}" if value > 0 else pct(value)

    assert table["mean difference"].tolist() == [signed(diff["mean"])]
    assert table["95% interval"].tolist() == [f"[{signed(diff['low'])}, {signed(diff['high'])}]"]
    assert "point 1 (fleet.0.gpus=16)" in figure.caption
    assert figure.png.startswith(b"\x89PNG")
