"""Scenario files: the validated, frozen description of one planning question."""

from planner.scenario.builtin import builtin_names, scenarios_dir
from planner.scenario.loading import load_scenario, validate
from planner.scenario.schema import HOURS_PER_DAY, HOURS_PER_YEAR, Scenario, Tenant

__all__ = [
    "HOURS_PER_DAY",
    "HOURS_PER_YEAR",
    "Scenario",
    "Tenant",
    "builtin_names",
    "load_scenario",
    "scenarios_dir",
    "validate",
]
