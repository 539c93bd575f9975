"""``python -m planner.cli``: the ``planner`` command line."""

from planner.cli import main

main()
