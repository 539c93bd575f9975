"""Credit accounts: credit tenants pay for GPU time from their grant while it is valid.

Revenue itself needs no bookkeeping during the run (it is the price integrated over the hours a
job held its GPUs, computed afterwards). Credits do, because which job drains a grant depends on
the order things happen. A stretch drawn on credits never straddles a grant or an expiry: the
engine draws for running jobs up to those instants first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planner.model.market import CohortPrice
from planner.recording import Recorder
from planner.scenario.schema import CreditGrant, Scenario, Tenant

AccountState = Literal["pending", "active", "spent", "expired"]


@dataclass(slots=True)
class CreditAccount:
    """A tenant's credit grant: its state, balance and validity window in hours."""

    grant: CreditGrant
    granted_h: float
    expires_h: float
    balance_usd: float = 0.0
    state: AccountState = "pending"


def tier_price_factor(sc: Scenario, tenant: Tenant) -> float:
    """What a tenant pays per GPU-hour as a factor on the list price, by its contract tier."""
    return float(getattr(sc.market.tiers, tenant.tier))


class Billing:
    """The credit accounts of a run and the rules that follow from them."""

    def __init__(self, sc: Scenario, recorder: Recorder) -> None:
        self._recorder = recorder
        self._tier_factor = [tier_price_factor(sc, t) for t in sc.tenants]
        self.accounts: dict[int, CreditAccount] = {
            i: CreditAccount(
                t.credit,
                max(0.0, sc.hours_since_start(t.credit.granted)),
                sc.hours_since_start(t.credit.expires),
            )
            for i, t in enumerate(sc.tenants)
            if t.credit is not None
        }
        # Tenants whose submissions depend on their account (after: shrink or leave).
        self.gated = frozenset(i for i, a in self.accounts.items() if a.grant.after != "cash")

    def grant(self, tenant: int, t_h: float) -> None:
        account = self.accounts[tenant]
        account.balance_usd = account.grant.amount_usd
        account.state = "active"
        self._recorder.credit_event(tenant, "granted", t_h, account.grant.amount_usd)

    def expire(self, tenant: int, t_h: float) -> None:
        """End the grant; whatever is left is forfeited. A grant already spent stays 'spent'."""
        account = self.accounts[tenant]
        self._recorder.credit_event(tenant, "expired", t_h, account.balance_usd)
        account.balance_usd = 0.0
        if account.state != "spent":
            account.state = "expired"

    def draw(
        self, job: int, tenant: int, price: CohortPrice, gpus: int, from_h: float, to_h: float
    ) -> None:
        """Pay for ``gpus`` GPUs priced by ``price`` over [from_h, to_h) from credits."""
        account = self.accounts[tenant]
        if account.state != "active" or to_h <= from_h:
            return
        cost = gpus * price.integral(from_h, to_h) * self._tier_factor[tenant]
        credit = min(cost, account.balance_usd)
        account.balance_usd -= credit
        self._recorder.credit_drawn(job, credit)
        # Float dust must not keep an account alive that is spent in all but rounding.
        if account.balance_usd <= 1e-9 * account.grant.amount_usd:
            account.state = "spent"
            self._recorder.credit_event(tenant, "exhausted", to_h, 0.0)

    def submits(self, tenant: int, keep_u: float) -> bool:
        """Whether a tenant submits a job now, given its grant's ``after`` rule.

        Before its grant and while credits last a tenant submits everything; once credits are
        spent or expired it keeps paying cash, submits a ``shrink_factor`` share, or leaves.
        """
        account = self.accounts.get(tenant)
        if account is None or account.state in ("pending", "active"):
            return True
        after = account.grant.after
        return after == "cash" or (after == "shrink" and keep_u < account.grant.shrink_factor)
