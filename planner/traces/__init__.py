"""Public GPU-cluster traces: read them into one generic job table, and write it as CSV.

The generic form is a CSV with one job per line and the columns ``submit_s`` (seconds from
the trace's start), ``duration_s`` (run time in seconds, queueing excluded), ``gpus``, and
optionally ``tenant`` and ``gpu_model`` (a model, or several allowed ones joined by ``|``).
"""

from planner.traces.generic import GENERIC_COLUMNS, Trace, TraceError, read_generic, write_generic
from planner.traces.readers import FORMATS, read_trace

__all__ = [
    "FORMATS",
    "GENERIC_COLUMNS",
    "Trace",
    "TraceError",
    "read_generic",
    "read_trace",
    "write_generic",
]
