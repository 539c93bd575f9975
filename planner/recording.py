"""The recorder: append-only records of what happened in a run, nothing computed.

Components call its hooks as things happen. Columns are ``array.array`` of primitives rather than
lists of objects, so a million-job run stays small in memory; :mod:`planner.analysis` turns them
into tables.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """A change in a tenant's credit account other than a job's burn."""

    tenant: int
    kind: str  # granted | exhausted | expired
    t_h: float
    amount_usd: float


@dataclass(slots=True)
class Recorder:
    """Append-only event log of one run."""

    start_job: array[int] = field(default_factory=lambda: array("q"))
    start_h: array[float] = field(default_factory=lambda: array("d"))
    start_cohort: array[int] = field(default_factory=lambda: array("q"))
    end_job: array[int] = field(default_factory=lambda: array("q"))
    end_h: array[float] = field(default_factory=lambda: array("d"))
    skipped_job: array[int] = field(default_factory=lambda: array("q"))
    # One settlement per stretch of a job's run that was billed: [from_h, to_h) on a cohort.
    bill_job: array[int] = field(default_factory=lambda: array("q"))
    bill_cohort: array[int] = field(default_factory=lambda: array("q"))
    bill_from_h: array[float] = field(default_factory=lambda: array("d"))
    bill_to_h: array[float] = field(default_factory=lambda: array("d"))
    bill_revenue_usd: array[float] = field(default_factory=lambda: array("d"))
    bill_credit_usd: array[float] = field(default_factory=lambda: array("d"))
    in_service_cohort: array[int] = field(default_factory=lambda: array("q"))
    in_service_h: array[float] = field(default_factory=lambda: array("d"))
    credit_events: list[CreditEvent] = field(default_factory=list)

    def job_started(self, job: int, t_h: float, cohort: int) -> None:
        self.start_job.append(job)
        self.start_h.append(t_h)
        self.start_cohort.append(cohort)

    def job_ended(self, job: int, t_h: float) -> None:
        self.end_job.append(job)
        self.end_h.append(t_h)

    def job_skipped(self, job: int) -> None:
        """A would-be submission that did not happen (its tenant left or shrank)."""
        self.skipped_job.append(job)

    def billed(
        self,
        job: int,
        cohort: int,
        from_h: float,
        to_h: float,
        revenue_usd: float,
        credit_usd: float,
    ) -> None:
        self.bill_job.append(job)
        self.bill_cohort.append(cohort)
        self.bill_from_h.append(from_h)
        self.bill_to_h.append(to_h)
        self.bill_revenue_usd.append(revenue_usd)
        self.bill_credit_usd.append(credit_usd)

    def cohort_in_service(self, cohort: int, t_h: float) -> None:
        self.in_service_cohort.append(cohort)
        self.in_service_h.append(t_h)

    def credit_event(self, tenant: int, kind: str, t_h: float, amount_usd: float) -> None:
        self.credit_events.append(CreditEvent(tenant, kind, t_h, amount_usd))
