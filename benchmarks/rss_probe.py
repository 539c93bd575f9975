"""Peak-RSS probe, run as a fresh child process by the harness.

`python -m benchmarks.rss_probe ENGINE JOBS GPUS SEED` draws the workload, runs one simulation on
ENGINE (`naive_upfront`, `naive_source`, `planner_engine` or `planner_simulate`; `baseline` runs
none) and prints one JSON line with the process's peak resident set size. Engine modules are
imported only when asked for, so the baseline shows the cost of the interpreter, numpy and the
workload arrays alone.

On Linux the peak is read from VmHWM in /proc/self/status: `ru_maxrss` survives fork and exec,
so in a child of the harness it reports at least the harness's own RSS. `ru_maxrss` is kept
beside it in the record, and used where /proc is absent.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

from benchmarks.workload import draw_workload

ENGINES = (
    "baseline",
    "naive_upfront",
    "naive_source",
    "planner_engine",
    "planner_simulate",
    "fast_simulate",
)


def _vm_hwm_mib() -> float | None:
    """Return VmHWM (this process image's peak RSS) from /proc/self/status, or None."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _ru_maxrss_mib() -> float:
    """Return `ru_maxrss` of this process in MiB (on Linux it includes the parent's at fork)."""
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bytes_per_unit = 1 if sys.platform == "darwin" else 1024
    return max_rss * bytes_per_unit / 2**20


def peak_rss() -> dict[str, Any]:
    """Return this process's peak resident set size in MiB and where it was read."""
    vm_hwm_mib = _vm_hwm_mib()
    if vm_hwm_mib is not None:
        return {"peak_rss_mib": vm_hwm_mib, "source": "VmHWM", "ru_maxrss_mib": _ru_maxrss_mib()}
    return {"peak_rss_mib": _ru_maxrss_mib(), "source": "ru_maxrss"}


def _simulate(engine: str, n_jobs: int, n_gpus: int, seed: int) -> None:
    """Draw the workload and run it once on `engine`, importing only that engine's modules."""
    workload = draw_workload(n_jobs, n_gpus, seed)
    if engine.startswith("naive_"):
        from benchmarks import naive_simpy

        run = {
            "naive_upfront": naive_simpy.simulate_naive_upfront,
            "naive_source": naive_simpy.simulate_naive_source,
        }[engine]
        run(workload)
    elif engine == "planner_engine":
        from benchmarks import engine_adapter

        engine_adapter.run_model(engine_adapter.build_model(workload))
    elif engine == "planner_simulate":
        from benchmarks import engine_adapter

        engine_adapter.run_simulate(engine_adapter.prepare(workload))
    elif engine == "fast_simulate":
        from benchmarks import engine_adapter

        engine_adapter.run_simulate_fast(engine_adapter.prepare(workload))


def probe(engine: str, n_jobs: int, n_gpus: int, seed: int) -> dict[str, Any]:
    """Run one probe; return its status and peak RSS."""
    try:
        _simulate(engine, n_jobs, n_gpus, seed)
    except Exception as exc:
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", **peak_rss()}


def main(argv: list[str]) -> int:
    """Parse `ENGINE JOBS GPUS SEED`, run the probe and print its JSON line."""
    if len(argv) != 4 or argv[0] not in ENGINES:
        print(f"usage: python -m benchmarks.rss_probe {{{','.join(ENGINES)}}} JOBS GPUS SEED")
        return 2
    engine, n_jobs, n_gpus, seed = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    print(json.dumps(probe(engine, n_jobs, n_gpus, seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
