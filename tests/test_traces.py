"""Reading the four public traces and the generic CSV form.

The traces live beside the project in ``../shared/data/traces`` (not in it); tests that need
them are skipped where that folder is absent, and fail under CI (tests/prerequisites.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.traces import Trace, TraceError, read_generic, read_trace, write_generic
from tests.prerequisites import TRACES, needs_traces


@needs_traces
@pytest.mark.parametrize(
    ("fmt", "folder", "jobs", "gpu_hours"),
    [
        # Job counts from each trace's README; GPU-hours from STATS.md (ITP also upstream).
        ("philly", "philly-2017", 111_549, 3_622_169),
        ("itp", "msft-itp-2021", 69_351, 1_632_720),
        ("crux", "crux-2023", 2_498, 313_061),
    ],
)
def test_each_trace_imports_with_its_published_job_count(
    fmt: str, folder: str, jobs: int, gpu_hours: int
) -> None:
    trace = read_trace(TRACES / folder, fmt)
    assert len(trace) == jobs and trace.skipped_rows == 0
    assert (trace.jobs["gpus"] * trace.jobs["duration_s"]).sum() / 3600 == pytest.approx(
        gpu_hours, abs=1
    )
    assert trace.jobs["submit_s"].is_monotonic_increasing


@needs_traces
def test_openb_keeps_the_scheduled_gpu_pods_with_their_constraints_and_waits() -> None:
    """README: 8,152 pods, of which 6,203 are scheduled GPU pods; ~2,388 carry a GPU-type
    constraint in the gpuspec33 list."""
    trace = read_trace(TRACES / "alibaba-openb-2023", "openb")
    assert len(trace) == 6_203
    assert trace.notes == ("1,088 CPU-only pods left out", "861 GPU pods never scheduled left out")
    assert 1088 + 861 + 6_203 == 8_152
    constrained = trace.jobs["gpu_model"].notna().sum()
    assert 2_000 < constrained <= 2_388
    assert (trace.jobs["recorded_wait_s"] >= 0).all()


@needs_traces
def test_itp_tenants_are_its_clusters() -> None:
    trace = read_trace(TRACES / "msft-itp-2021", "itp")
    counts = trace.jobs["tenant"].value_counts()
    assert len(counts) == 10 and counts["cluster04"] == 15_802


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_malformed_row_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "t.csv", "submit_s,duration_s,gpus\n0,10,1\nx,5,2\n3,-1,4\n5,1,0\n")
    with pytest.raises(TraceError) as caught:
        read_generic(bad)
    message = caught.value.message()
    assert message.startswith(f"{bad}: 3 problems in the trace")
    assert "line 3: submit_s 'x' is not a number" in message
    assert "line 4: duration_s is negative" in message
    assert "line 5: gpus is below 1" in message


def test_skipping_malformed_rows_counts_them(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "t.csv", "submit_s,duration_s,gpus\n0,10,1\nx,5,2\n3,-1,4\n")
    trace = read_generic(bad, skip_bad=True)
    assert len(trace) == 1 and trace.skipped_rows == 2


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "t.csv", "submit_s,gpus\n0,1\n")
    with pytest.raises(TraceError, match="header: no column 'duration_s'"):
        read_generic(bad)


def test_the_generic_form_round_trips_with_its_optional_columns(tmp_path: Path) -> None:
    jobs = pd.DataFrame(
        {
            "submit_s": [0.0, 5.0],
            "duration_s": [60.0, 0.0],
            "gpus": [8, 1],
            "tenant": ["a", "b"],
            "gpu_model": ["H800", "A800|H800"],
        }
    )
    path = tmp_path / "g.csv"
    write_generic(Trace("t", jobs, ()), path)
    back = read_generic(path)
    pd.testing.assert_frame_equal(back.jobs, jobs, check_dtype=False)


def test_an_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="unknown trace format 'swf'"):
        read_trace(tmp_path, "swf")


def test_trace_import_writes_the_generic_csv_or_exits_2(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "in.csv", "submit_s,duration_s,gpus\n0,10,1\n2,5,8\n")
    out = tmp_path / "out.csv"
    runner = CliRunner()
    result = runner.invoke(
        app, ["trace", "import", str(good), "--format", "generic", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert "2 jobs" in result.stdout and len(read_generic(out)) == 2
    bad = write_csv(tmp_path / "bad.csv", "submit_s,duration_s,gpus\nx,1,1\n")
    result = runner.invoke(
        app, ["trace", "import", str(bad), "--format", "generic", "--out", str(out)]
    )
    assert result.exit_code == 2 and "line 2" in result.stderr and "Traceback" not in result.stderr
    assert len(read_generic(out)) == 2  # the earlier output is untouched
