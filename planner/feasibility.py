"""Credit feasibility: can a credit grant be burned at all on the GPUs its tenant may use?

A grant's **ceiling** is the list value of every GPU-hour its tenant could use while the grant is
valid: each cohort of a model and region the tenant may use, from when it enters service (or the
grant, if later) to its retirement at obsolescence (when the market retires obsolete cohorts) or
the grant's expiry, at its cohort's list price, less the time an export-control bar keeps the
tenant out of the cohort's region. Cohorts are those the scenario plans (its fleet and the orders
delivered, licences drawn as at seed 0). A grant above its ceiling cannot be burned even with the
whole pool to itself, so part of it is forfeited by construction, not as a finding of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.market import Market
from planner.model.supply import plan_supply
from planner.scenario.schema import Scenario, Tenant


@dataclass(frozen=True)
class CreditCeiling:
    """One credit grant against the list value of everything its tenant may use meanwhile."""

    tenant: str
    granted_usd: float
    ceiling_usd: float

    @property
    def feasible(self) -> bool:
        return self.granted_usd <= self.ceiling_usd

    @property
    def warning(self) -> str:
        return (
            f"tenant '{self.tenant}': its credit grant of ${self.granted_usd:,.0f} exceeds the "
            f"${self.ceiling_usd:,.0f} list value of every GPU-hour it may use while the grant "
            "is valid"
        )


def credit_ceilings(sc: Scenario) -> list[CreditCeiling]:
    """Each credit grant of ``sc`` against its ceiling (see the module's docstring)."""
    market = Market(sc)
    cohorts, _ = plan_supply(sc)
    out = []
    for tenant in sc.tenants:
        if tenant.credit is None:
            continue
        begin = sc.hours_since_start(tenant.credit.granted)
        end = sc.hours_since_start(tenant.credit.expires)
        ceiling = 0.0
        for c in cohorts:
            if c.model not in tenant.models or not _may_enter(tenant, c.region):
                continue
            price = market.cohort_price(c.model, c.in_service_h, c.opex_usd_per_gpu_h)
            leaves = price.obsolete_at_h if sc.market.at_obsolescence == "retire" else end
            leaves = min(leaves, sc.sale_h(c.name))  # a sold cohort serves no one after
            until = min(end, leaves, _barred_from_h(sc, tenant, c.region))
            ceiling += c.gpus * price.integral(max(begin, c.in_service_h), until)
        out.append(CreditCeiling(tenant.name, tenant.credit.amount_usd, ceiling))
    return out


def infeasible_credit_warnings(sc: Scenario) -> list[str]:
    """One warning per credit grant larger than its ceiling, naming tenant, grant and ceiling."""
    return [c.warning for c in credit_ceilings(sc) if not c.feasible]


def _may_enter(tenant: Tenant, region: str) -> bool:
    return tenant.regions is None or region in tenant.regions


def _barred_from_h(sc: Scenario, tenant: Tenant, region: str) -> float:
    """When an export-control bar first keeps ``tenant`` out of ``region`` (``inf``: never)."""
    return min(
        (
            sc.hours_since_start(event.effective)
            for event in sc.export_controls
            for bar in event.restrict
            if tenant.name in bar.tenants and region in bar.regions
        ),
        default=float("inf"),
    )
