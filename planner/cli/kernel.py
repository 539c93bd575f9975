"""``planner compile``: build the fast engine's compiled kernel now rather than on a first run."""

from __future__ import annotations

import typer


def compile_command() -> None:
    """Compile the fast engine for this machine now (minutes, once), so that no later run waits
    for it: for an image build, a CI job or a new machine. Later runs load it from the cache."""
    from planner.model.fast.ahead import compile_kernel

    typer.echo("compiling the fast engine: the event loop of every built-in scenario", err=True)
    done = compile_kernel(lambda name: typer.echo(f"  {name}", err=True))
    state = "was compiled already; loaded" if done.was_cached else "compiled"
    typer.echo(
        f"the fast engine {state} in {done.elapsed_s:.0f} s ({len(done.scenarios)} scenarios);"
        f" cache: {done.cache_dir}"
    )
