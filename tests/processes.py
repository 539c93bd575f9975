"""The command line run as a user runs it: a process of its own, with this checkout's planner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import planner

ROOT = Path(planner.__file__).resolve().parent.parent
PLANNER = [sys.executable, "-m", "planner.cli"]


def planner_env(drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This environment without the names in ``drop``, with this checkout first on the path."""
    env = {name: value for name, value in os.environ.items() if name not in drop}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env
