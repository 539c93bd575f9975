"""Money and GPU-hours recomputed from the ``runs`` table, as a reference for the result tables.

The library prices each run in closed form, sums the runs per job and per cohort, and records
credit draws as the run goes. Here the same quantities are rebuilt another way, from what a
bill would show: each run's GPUs held and its hours, priced by numerical quadrature of the
price at each instant, and the credit rule applied to the totals (a grant pays for the GPU-hours
used inside its window until it is spent; everything else is cash). A test that compares the
tables with this reference fails if any of those paths is wrong, which comparing the tables
with each other could not show.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import planner
from planner.model.market import Market

FloatArray = NDArray[np.float64]

# Gauss-Legendre nodes on [-1, 1]: between price steps the price is exp(linear), which eight
# nodes integrate to rounding over any stretch a run can last.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)


@dataclass(frozen=True)
class Reference:
    """Per run: its value at the tenant's price; per credit tenant: the credits it must burn."""

    runs: pd.DataFrame  # the runs table with tenant, value_usd, credit_eligible_usd, gpu_h
    credits_burned_usd: pd.Series  # per credit tenant: min(grant, value used inside its window)

    def per_job(self, column: str) -> pd.Series:
        return self.runs.groupby("job_id")[column].sum()

    def per_cohort(self, column: str) -> pd.Series:
        return self.runs.groupby("cohort", observed=True)[column].sum()

    def per_tenant(self, column: str) -> pd.Series:
        return self.runs.groupby("tenant", observed=True)[column].sum()

    def cash_usd(self) -> pd.Series:
        """Per tenant: what it paid in cash (internal tenants pay nothing)."""
        value = self.per_tenant("value_usd")
        burned = self.credits_burned_usd.reindex(value.index, fill_value=0.0)
        return value - burned


def reference(res: planner.RunResult) -> Reference:
    """Value every run of ``res`` from its GPUs held, its hours and the scenario's prices."""
    sc = res.scenario
    runs = res.runs.copy()
    tenant_of = res.jobs.set_index("job_id")["tenant"].astype(str)
    runs["tenant"] = tenant_of.loc[runs["job_id"]].to_numpy()
    tenants = {t.name: t for t in sc.tenants}
    factor = {
        name: 0.0 if t.tenant_class == "internal" else float(getattr(sc.market.tiers, t.tier))
        for name, t in tenants.items()
    }
    market = Market(sc)
    cohorts = res.cohorts.set_index("cohort")
    floor = sc.market.floor_usd_per_gpu_h if sc.market.at_obsolescence == "floor" else None
    gpus = runs["gpus"].to_numpy(dtype=np.float64)
    a, b = runs["from_h"].to_numpy(), runs["to_h"].to_numpy()
    # A take-or-pay contract covers its tenant's runs inside the quota until its term ends:
    # they pay nothing more until then, and their tier's price for any hours after.
    for name, t in tenants.items():
        r = t.reservation
        if r is not None and r.take_or_pay is not None:
            term_end_h = min(sc.hours_since_start(r.end or sc.end), sc.horizon_h)
            covered = (runs["in_quota"] & (runs["tenant"] == name)).to_numpy()
            a = np.where(covered, np.minimum(np.maximum(a, term_end_h), b), a)
    per_gpu = np.zeros(len(runs))  # value of one GPU at list price over each run's window
    in_window = np.zeros(len(runs))  # the same, over the part inside the tenant's grant window
    lo, hi = _credit_windows(sc, runs["tenant"].to_numpy(), len(runs))
    for name, on in runs.groupby("cohort", observed=True).groups.items():
        rows = runs.index.get_indexer(on)
        cohort = cohorts.loc[name]
        price = _PointPrice(market, str(cohort["gpu_model"]), cohort["obsolete_at_h"], floor)
        per_gpu[rows] = price.integral(a[rows], b[rows])
        in_window[rows] = price.integral(
            np.maximum(a[rows], lo[rows]), np.minimum(b[rows], hi[rows])
        )
    paid = runs["tenant"].map(factor).to_numpy(dtype=np.float64, copy=True)
    runs["gpu_h"] = gpus * (runs["to_h"] - runs["from_h"]).to_numpy()
    runs["value_usd"] = gpus * per_gpu * paid
    runs["credit_eligible_usd"] = gpus * in_window * paid
    eligible = runs.groupby("tenant")["credit_eligible_usd"].sum()
    burned = {
        name: min(t.credit.amount_usd, float(eligible.get(name, 0.0)))
        for name, t in tenants.items()
        if t.credit is not None
    }
    return Reference(runs, pd.Series(burned, dtype=np.float64))


def _credit_windows(
    sc: planner.Scenario, tenant: NDArray[np.str_], n: int
) -> tuple[FloatArray, FloatArray]:
    """Each run's tenant's grant window [granted, expires) in hours, empty without a grant.

    A grant dated before the start is granted at the start.
    """
    lo, hi = np.zeros(n), np.zeros(n)
    for t in sc.tenants:
        if t.credit is None:
            continue
        mine = tenant == t.name
        lo[mine] = max(0.0, sc.hours_since_start(t.credit.granted))
        hi[mine] = sc.hours_since_start(t.credit.expires)
    return lo, hi


@dataclass(frozen=True)
class _PointPrice:
    """A cohort's price at each instant: its model's list price, or the floor once obsolete."""

    market: Market
    gpu_model: str
    obsolete_at_h: float
    floor_usd_per_gpu_h: float | None

    def at(self, t_h: FloatArray) -> FloatArray:
        list_price = self.market.curve(self.gpu_model).price_array(t_h)
        if self.floor_usd_per_gpu_h is None:
            return list_price
        return np.where(t_h >= self.obsolete_at_h, self.floor_usd_per_gpu_h, list_price)

    def integral(self, a_h: FloatArray, b_h: FloatArray) -> FloatArray:
        """Quadrature of :meth:`at` over each [a_h, b_h), split where the price jumps."""
        jumps = list(self.market.curve(self.gpu_model).step_times_h)
        if self.floor_usd_per_gpu_h is not None and math.isfinite(self.obsolete_at_h):
            jumps.append(self.obsolete_at_h)
        edges = np.r_[-np.inf, np.sort(jumps), np.inf]
        b_h = np.maximum(a_h, b_h)
        total = np.zeros(len(a_h))
        for start, end in itertools.pairwise(edges):
            lo, hi = np.clip(a_h, start, end), np.clip(b_h, start, end)
            some = hi > lo
            half = (hi[some] - lo[some]) / 2
            t = (lo[some] + half)[:, None] + half[:, None] * _NODES[None, :]
            total[some] += half * (self.at(t.ravel()).reshape(t.shape) @ _WEIGHTS)
        return total


def assert_tables_match_the_runs(res: planner.RunResult) -> None:
    """The result tables' revenue, credits, cash and busy GPU-hours equal the reference's.

    Per run, job and cohort: revenue and GPU-hours. Per credit tenant: credits burned are the
    grant or the value used inside its window, whichever is less, and cash is the rest of its
    value. Per job: credits never pay for more than its hours inside the window, and pay for
    all of them while the grant lasts.
    """
    ref = reference(res)
    jobs = res.jobs.set_index("job_id")
    _close(res.runs["revenue_usd"], ref.runs["value_usd"], "runs.revenue_usd")
    for column, expected in (("revenue_usd", "value_usd"), ("gpu_h", "gpu_h")):
        rebuilt = ref.per_job(expected).reindex(jobs.index, fill_value=0.0)
        _close(jobs[column], rebuilt, f"jobs.{column}")
    cohorts = res.cohorts.set_index("cohort")
    for column, expected in (("revenue_usd", "value_usd"), ("busy_gpu_h", "gpu_h")):
        rebuilt = ref.per_cohort(expected).reindex(cohorts.index, fill_value=0.0)
        _close(cohorts[column], rebuilt, f"cohorts.{column}")

    tenant = jobs["tenant"].astype(str)
    names = [t.name for t in res.scenario.tenants]
    burned = ref.credits_burned_usd.reindex(names, fill_value=0.0)
    credit = jobs.groupby(tenant)["credit_usd"].sum().reindex(names, fill_value=0.0)
    _close(credit, burned, "credits drawn per tenant (jobs.credit_usd)")
    deals = res.tenants.set_index("tenant")["credits_burned_usd"].reindex(names, fill_value=0.0)
    _close(deals, burned, "tenants.credits_burned_usd")
    cash = jobs.groupby(tenant)["cash_usd"].sum().reindex(names, fill_value=0.0)
    _close(cash, ref.cash_usd().reindex(names, fill_value=0.0), "cash per tenant (jobs.cash_usd)")

    contract = res.tenants.set_index("tenant")["contract_revenue_usd"].reindex(names)
    _close(contract, _contract_usd(res.scenario), "tenants.contract_revenue_usd")
    _close(
        pd.Series([res.ledger["contract_revenue_usd"].sum()]),
        pd.Series([_contract_usd(res.scenario).sum()]),
        "ledger.contract_revenue_usd",
    )

    eligible = ref.per_job("credit_eligible_usd").reindex(jobs.index, fill_value=0.0)
    assert (jobs["credit_usd"] <= eligible * (1 + 1e-9) + 1e-6).all(), "credits beyond the window"
    for t in res.scenario.tenants:
        if t.credit is None or burned[t.name] >= t.credit.amount_usd * (1 - 1e-8):
            continue  # spent: which job's hours the last credits paid for is the draw order's
        mine = (tenant == t.name).to_numpy()
        _close(jobs.loc[mine, "credit_usd"], eligible[mine], f"credits of {t.name}'s jobs")


def _contract_usd(sc: planner.Scenario) -> pd.Series:
    """Per tenant: reserved GPUs x the hours of its take-or-pay term inside the horizon x the
    contract price (zero without one)."""
    owed = {}
    for t in sc.tenants:
        r = t.reservation
        owed[t.name] = 0.0
        if r is not None and r.take_or_pay is not None:
            first = max(r.start or sc.start, sc.start)
            last = min(r.end or sc.end, sc.end)
            hours = max(0, (last - first).days) * 24.0
            owed[t.name] = r.gpus * hours * r.take_or_pay.price_usd_per_gpu_h
    return pd.Series(owed, dtype=np.float64)


def _close(actual: pd.Series, expected: pd.Series, what: str) -> None:
    """Equal to rounding: the library's closed forms against quadrature and other sums."""
    np.testing.assert_allclose(
        actual.to_numpy(dtype=np.float64),
        expected.to_numpy(dtype=np.float64),
        rtol=1e-9,
        atol=1e-6,
        err_msg=what,
    )
