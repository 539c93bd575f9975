"""The recorder: append-only records of what happened in a run, nothing computed.

Components call its hooks as things happen. Columns are ``array.array`` of primitives rather than
lists of objects, so a million-job run stays small in memory. Once the run is over they reach
:mod:`planner.analysis` as read-only numpy arrays over the same memory, in the run's record
(:class:`planner.model.record.Recorded`), and become tables there. Revenue is not recorded: it
follows from when each job held which GPUs, and is computed afterwards, vectorised. Only credit
draws, whose order matters, are logged as they happen.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

# Why a job was never submitted: its tenant's credit rule (shrink or leave), a balk at a long
# expected wait, or the tenant having churned.
SKIP_REASONS = ("credit_rule", "balked", "churned")
# How a run ended, in ``end_interrupted``: completed (0), cut by a node failure, or preempted.
FAILED, PREEMPTED = 1, 2


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """A change in a tenant's credit account other than a job's draw."""

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
    # GPUs the run holds: the job's own, or every GPU of the whole nodes it spans.
    start_gpus: array[int] = field(default_factory=lambda: array("q"))
    # Rows of the start columns whose run counts against its tenant's reservation (quota).
    quota_start: array[int] = field(default_factory=lambda: array("q"))
    end_job: array[int] = field(default_factory=lambda: array("q"))
    end_h: array[float] = field(default_factory=lambda: array("d"))
    # 1 where a run ended because a node failed (the job went back to the queue), else 0.
    end_interrupted: array[int] = field(default_factory=lambda: array("b"))
    lost_job: array[int] = field(default_factory=lambda: array("q"))
    lost_cohort: array[int] = field(default_factory=lambda: array("q"))
    lost_gpu_h: array[float] = field(default_factory=lambda: array("d"))
    failure_h: array[float] = field(default_factory=lambda: array("d"))
    failure_cohort: array[int] = field(default_factory=lambda: array("q"))
    failure_gpus: array[int] = field(default_factory=lambda: array("q"))
    failure_spare: array[int] = field(default_factory=lambda: array("b"))
    failure_cause: list[str] = field(default_factory=list)  # few: one per failure
    repair_h: array[float] = field(default_factory=lambda: array("d"))
    repair_cohort: array[int] = field(default_factory=lambda: array("q"))
    repair_gpus: array[int] = field(default_factory=lambda: array("q"))
    skipped_job: array[int] = field(default_factory=lambda: array("q"))
    skipped_reason: array[int] = field(default_factory=lambda: array("b"))
    credit_job: array[int] = field(default_factory=lambda: array("q"))
    credit_usd: array[float] = field(default_factory=lambda: array("d"))
    in_service_cohort: array[int] = field(default_factory=lambda: array("q"))
    in_service_h: array[float] = field(default_factory=lambda: array("d"))
    retired_cohort: array[int] = field(default_factory=lambda: array("q"))
    retired_h: array[float] = field(default_factory=lambda: array("d"))
    credit_events: list[CreditEvent] = field(default_factory=list)
    churned: dict[int, float] = field(default_factory=dict)  # tenant -> when it left
    # Daily per pool: (t_h, model, region, free GPUs, free GPUs no queued job fits, queued jobs).
    fragmentation: list[tuple[float, str, str, int, int, int]] = field(default_factory=list)

    def job_started(self, job: int, t_h: float, cohort: int, gpus_held: int) -> None:
        self.start_job.append(job)
        self.start_h.append(t_h)
        self.start_cohort.append(cohort)
        self.start_gpus.append(gpus_held)

    def run_in_quota(self) -> None:
        """The run started last counts against its tenant's reservation: the quota scheduler
        placed it inside the GPUs held for the tenant."""
        self.quota_start.append(len(self.start_job) - 1)

    def job_ended(self, job: int, t_h: float) -> None:
        self.end_job.append(job)
        self.end_h.append(t_h)
        self.end_interrupted.append(0)

    def job_interrupted(self, job: int, t_h: float, preempted: bool = False) -> None:
        """A run cut short by a node failure (or, if ``preempted``, stopped for another job);
        the job goes back to the queue."""
        self.end_job.append(job)
        self.end_h.append(t_h)
        self.end_interrupted.append(PREEMPTED if preempted else FAILED)

    def work_lost(self, job: int, cohort: int, gpu_h: float) -> None:
        """GPU time that bought no kept progress: restart overhead, work since a checkpoint."""
        self.lost_job.append(job)
        self.lost_cohort.append(cohort)
        self.lost_gpu_h.append(gpu_h)

    def node_failed(self, t_h: float, cohort: int, gpus: int, spare_used: bool, cause: str) -> None:
        self.failure_cause.append(cause)
        self.failure_h.append(t_h)
        self.failure_cohort.append(cohort)
        self.failure_gpus.append(gpus)
        self.failure_spare.append(int(spare_used))

    def node_repaired(self, t_h: float, cohort: int, gpus: int) -> None:
        self.repair_h.append(t_h)
        self.repair_cohort.append(cohort)
        self.repair_gpus.append(gpus)

    def job_skipped(self, job: int, reason: int) -> None:
        """A would-be submission that did not happen; ``reason`` is a ``SKIP_REASONS`` index."""
        self.skipped_job.append(job)
        self.skipped_reason.append(reason)

    def credit_drawn(self, job: int, usd: float) -> None:
        self.credit_job.append(job)
        self.credit_usd.append(usd)

    def cohort_in_service(self, cohort: int, t_h: float) -> None:
        self.in_service_cohort.append(cohort)
        self.in_service_h.append(t_h)

    def cohort_retired(self, cohort: int, t_h: float) -> None:
        self.retired_cohort.append(cohort)
        self.retired_h.append(t_h)

    def fragmentation_sampled(
        self, t_h: float, model: str, region: str, free: int, stranded: int, queued: int
    ) -> None:
        self.fragmentation.append((t_h, model, region, free, stranded, queued))

    def tenant_churned(self, tenant: int, t_h: float) -> None:
        self.churned[tenant] = t_h

    def credit_event(self, tenant: int, kind: str, t_h: float, amount_usd: float) -> None:
        self.credit_events.append(CreditEvent(tenant, kind, t_h, amount_usd))
