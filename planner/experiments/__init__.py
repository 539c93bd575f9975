"""Experiments: replications with confidence intervals, sweeps over parameters, planning
queries and sensitivity. Each runs :func:`~planner.experiments.evaluate.evaluate` many times.
"""
