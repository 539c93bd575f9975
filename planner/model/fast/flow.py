"""The job flow on the state arrays: arrivals, the FIFO pass, starts, ends and credit draws.

Each function mirrors the reference engine's (planner.model.engine.Model, policies.fifo.Fifo,
billing.Billing) of the same name, with the same float operations in the same order, so both
engines give identical tables. Python calls in only through :func:`advance`, :func:`dispatch`,
:func:`start_on` and :func:`draw_running`, at business events.

Order at one instant (planner.model.timing): run ends (priority 1) in the order the runs
started, then business events (2, in Python), then arrivals (3), then the daily samples (4).
"""

from __future__ import annotations

import math

import numpy as np

# The policies that may cut runs short call back into this module: a cycle of modules, not of
# calls (nothing there calls _submit or _dispatch), resolved when the kernel compiles.
from planner.model.fast import backfill, interrupt, queues, quota
from planner.model.fast.jit import kernel, kernel_inline
from planner.model.fast.placement import allocate, release
from planner.model.fast.sched import BACKFILL, QUOTA
from planner.model.fast.state import (
    ACTIVE,
    DONE,
    HEAP_SIZE,
    I64,
    KIND,
    N_CHURNED,
    N_DRAWS,
    N_ENDS,
    N_EXHAUSTED,
    N_SKIPS,
    N_STARTS,
    NEXT_ARRIVAL,
    NEXT_ARRIVAL_H,
    NOW,
    PENDING,
    PLAIN,
    Q_HEAD,
    Q_TAIL,
    QUEUED,
    QUEUED_WORK,
    RESTART_H,
    RUN_SEQ,
    RUNNING,
    SKIPPED,
    SPENT,
    TRACKING,
    WARM_STARTED,
    Accounts,
    Fleet,
    Flow,
    Jobs,
    Policy,
    Prices,
    Records,
    State,
    Tenants,
)

ENDS, ARRIVALS = 1, 3  # planner.model.timing's priorities
CREDIT_RULE, BALKED, CHURNED = 0, 1, 2  # recording.SKIP_REASONS
CASH, SHRINK = 0, 1  # state.AFTER_RULES


# -- the heap of run ends, ordered by (time, start sequence) -------------------------------------


@kernel
def _earlier(flow: Flow, a: int, b: int) -> bool:
    ta, tb = flow.heap_t[a], flow.heap_t[b]
    return bool(ta < tb or (ta == tb and flow.heap_seq[a] < flow.heap_seq[b]))


@kernel
def _swap(flow: Flow, a: int, b: int) -> None:
    flow.heap_t[a], flow.heap_t[b] = flow.heap_t[b], flow.heap_t[a]
    flow.heap_seq[a], flow.heap_seq[b] = flow.heap_seq[b], flow.heap_seq[a]
    flow.heap_job[a], flow.heap_job[b] = flow.heap_job[b], flow.heap_job[a]


@kernel
def _push_end(flow: Flow, t_h: float, job: int) -> None:
    i = flow.counters[HEAP_SIZE]
    flow.counters[HEAP_SIZE] += 1
    flow.heap_t[i] = t_h
    flow.heap_seq[i] = flow.counters[RUN_SEQ]
    flow.counters[RUN_SEQ] += 1
    flow.heap_job[i] = job
    while i > 0:
        parent = (i - 1) >> 1
        if not _earlier(flow, i, parent):
            break
        _swap(flow, i, parent)
        i = parent


@kernel
def _pop_end(flow: Flow) -> int:
    job = flow.heap_job[0]
    n = flow.counters[HEAP_SIZE] - 1
    flow.counters[HEAP_SIZE] = n
    if n > 0:
        _swap(flow, 0, n)
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and _earlier(flow, child + 1, child):
                child += 1
            if not _earlier(flow, child, i):
                break
            _swap(flow, i, child)
            i = child
    return int(job)


# -- prices and credits ----------------------------------------------------------------------------


@kernel
def _curve_integral(prices: Prices, curve: int, a_h: float, b_h: float) -> float:
    """PriceCurve.integral: revenue of one GPU held from ``a_h`` to ``b_h``."""
    if b_h <= a_h:
        return 0.0
    first = prices.curve_piece0[curve]
    n = prices.curve_pieces[curve]
    j = 0  # bisect_right over the step times (each piece's start after the first)
    while j < n - 1 and prices.piece_start[first + j + 1] <= a_h:
        j += 1
    total = 0.0
    for piece in range(first + j, first + n):
        start, end = prices.piece_start[piece], prices.piece_end[piece]
        if start >= b_h:
            break
        q, anchor, k = prices.piece_q[piece], prices.piece_anchor[piece], prices.piece_k[piece]
        lo = start if start > a_h else a_h
        hi = end if end < b_h else b_h
        width = hi - lo
        length = width if k == 0.0 else -math.expm1(-k * width) / k
        total += q * math.exp(-k * (lo - anchor)) * length
    return total


@kernel
def _cohort_integral(prices: Prices, cohort: int, a_h: float, b_h: float) -> float:
    """CohortPrice.integral: list price until obsolete, then the floor if there is one."""
    curve = prices.cohort_curve[cohort]
    floor = prices.cohort_floor_usd[cohort]
    if math.isnan(floor):
        return _curve_integral(prices, curve, a_h, b_h)
    obsolete = prices.cohort_obsolete_h[cohort]
    earned = _curve_integral(prices, curve, a_h, obsolete if obsolete < b_h else b_h)
    if b_h > obsolete:
        earned += floor * (b_h - (obsolete if obsolete > a_h else a_h))
    return earned


@kernel
def _draw(
    jobs: Jobs, acc: Accounts, prices: Prices, rec: Records, count: I64, job: int, to_h: float
) -> None:
    """Model._draw and Billing.draw: pay a credit tenant's running job up to ``to_h``."""
    tenant = jobs.tenant[job]
    from_h = jobs.drawn_to_h[job]
    jobs.drawn_to_h[job] = to_h
    if acc.state[tenant] != ACTIVE or to_h <= from_h:
        return
    held = jobs.gpus_per_node[job] * jobs.nodes[job]
    cost = held * _cohort_integral(prices, jobs.cohort[job], from_h, to_h)
    cost = cost * acc.tier_factor[tenant]
    balance = acc.balance_usd[tenant]
    credit = balance if balance < cost else cost
    acc.balance_usd[tenant] = balance - credit
    i = count[N_DRAWS]
    rec.credit_job[i] = job
    rec.credit_usd[i] = credit
    count[N_DRAWS] += 1
    if acc.balance_usd[tenant] <= 1e-9 * acc.amount_usd[tenant]:
        acc.state[tenant] = SPENT
        i = count[N_EXHAUSTED]
        rec.exhausted_tenant[i] = tenant
        rec.exhausted_h[i] = to_h
        count[N_EXHAUSTED] += 1


@kernel
def draw_running(s: State, order: I64, tenant: int, to_h: float) -> None:
    """Draw every running credit job (of ``tenant``, or of all when -1) up to ``to_h``, in the
    order the runs started (Model._credit_change, Model._finalise): ``order`` is the heap's
    entries sorted by start sequence (see :func:`runs_in_start_order`)."""
    flow, jobs, pays = s.flow, s.jobs, s.tenants.pays_credits
    for i in order:
        job = flow.heap_job[i]
        t = jobs.tenant[job]
        if pays[t] and (tenant < 0 or t == tenant):
            _draw(jobs, s.accounts, s.prices, s.records, flow.counters, job, to_h)


def runs_in_start_order(s: State) -> I64:
    """The heap's entries (running jobs) in the order their runs started."""
    n = int(s.flow.counters[HEAP_SIZE])
    return np.argsort(s.flow.heap_seq[:n], kind="stable")


# -- starts, ends and the FIFO pass ----------------------------------------------------------------


@kernel
def _count_long_wait(ten: Tenants, rec: Records, flow: Flow, tenant: int, wait_h: float) -> None:
    if wait_h > ten.churn_wait_h[tenant]:
        ten.long_waits[tenant] += 1
        if ten.long_waits[tenant] == ten.churn_after[tenant]:
            ten.churned[tenant] = 1
            count = flow.counters
            rec.churned_tenant[count[N_CHURNED]] = tenant
            rec.churned_h[count[N_CHURNED]] = flow.clock[NOW]
            count[N_CHURNED] += 1


@kernel
def try_start(
    fleet: Fleet,
    jobs: Jobs,
    ten: Tenants,
    flow: Flow,
    rec: Records,
    pol: Policy,
    job: int,
    only_pool: int,
) -> bool:
    """Model.try_start: place ``job`` on the first of its tenant's pools where it fits (or on
    ``only_pool`` if not -1) and start it. A job whose earlier run was cut short pays the
    restart from its checkpoint (Model.duration_h) and does not count its wait again."""
    gpus, tenant = jobs.gpus[job], jobs.tenant[job]
    n = 1 if only_pool >= 0 else ten.n_candidates[tenant]
    placed = False
    for k in range(n):
        pool = only_pool if only_pool >= 0 else ten.candidates[tenant, k]
        if allocate(fleet, jobs, job, pool, gpus):
            placed = True
            break
    if not placed:
        return False
    start_placed(fleet, jobs, ten, flow, rec, pol, job)
    return True


@kernel
def duration_h(fleet: Fleet, jobs: Jobs, pol: Policy, job: int, pool: int) -> float:
    """Model.duration_h: hours ``job`` would run if started on ``pool`` now, its work at the
    pool's rate, plus the restart from its checkpoint if an earlier run was cut short."""
    gpus = jobs.gpus[job]
    rate = gpus * fleet.pool_throughput[pool]  # Pool.work_rate
    if gpus > fleet.pool_node_gpus[pool]:
        rate = rate * fleet.pool_multinode[pool]
    duration = jobs.work_gpu_h[job] / rate
    if pol.flags[TRACKING] and pol.restarts[job] > 0:
        duration += pol.params[RESTART_H]
    return float(duration)


@kernel_inline
def start_placed(
    fleet: Fleet, jobs: Jobs, ten: Tenants, flow: Flow, rec: Records, pol: Policy, job: int
) -> None:
    """The rest of Model.try_start once ``job`` is placed: start it and schedule its end. A job
    whose earlier run was cut short does not count its wait again."""
    tenant = jobs.tenant[job]
    run_h = duration_h(fleet, jobs, pol, job, jobs.pool[job])
    restarted = pol.flags[TRACKING] and pol.restarts[job] > 0
    now = flow.clock[NOW]
    jobs.state[job] = RUNNING
    flow.clock[QUEUED_WORK] -= jobs.work_gpu_h[job]
    if ten.pays_credits[tenant]:
        jobs.drawn_to_h[job] = now
    if not math.isnan(ten.churn_wait_h[tenant]) and not restarted:
        _count_long_wait(ten, rec, flow, tenant, now - jobs.submit_h[job])
    count = flow.counters
    i = count[N_STARTS]
    rec.start_job[i] = job
    rec.start_h[i] = now
    rec.start_cohort[i] = jobs.cohort[job]
    rec.start_gpus[i] = jobs.gpus_per_node[job] * jobs.nodes[job]
    count[N_STARTS] += 1
    if pol.flags[TRACKING]:
        pol.run_start_h[job] = now
    _push_end(flow, now + run_h, job)


@kernel_inline
def _submit(s: State, job: int) -> None:
    """Fifo._submit: behind a blocked head an arrival cannot start either. Policies that may
    cut runs short keep their queues in planner.model.fast.queues."""
    if s.policy.flags[KIND] != PLAIN:
        queues.submit(s, job)
        return
    fleet, jobs, ten, flow, rec = s.fleet, s.jobs, s.tenants, s.flow, s.records
    if flow.counters[Q_TAIL] > flow.counters[Q_HEAD] or not try_start(
        fleet, jobs, ten, flow, rec, s.policy, job, -1
    ):
        jobs.state[job] = QUEUED
        flow.queue[flow.counters[Q_TAIL]] = job
        flow.counters[Q_TAIL] += 1


@kernel_inline
def _dispatch(s: State) -> None:
    """Fifo._dispatch: start jobs from the head until one does not fit."""
    if s.policy.flags[KIND] != PLAIN:
        queues.dispatch(s)
        return
    fleet, jobs, ten, flow, rec = s.fleet, s.jobs, s.tenants, s.flow, s.records
    count = flow.counters
    while count[Q_TAIL] > count[Q_HEAD] and try_start(
        fleet, jobs, ten, flow, rec, s.policy, flow.queue[count[Q_HEAD]], -1
    ):
        flow.counters[Q_HEAD] += 1


@kernel_inline
def _policy_submit(s: State, job: int) -> None:
    """Policy.submit: the scenario's policy takes an arriving job (a spot job joins the spot
    queue under backfill and quota too)."""
    kind = s.sched.kind[0]
    if kind == BACKFILL:
        if not queues.submit_spot(s, job):
            backfill.submit(s, job)
    elif kind == QUOTA:
        if not queues.submit_spot(s, job):
            quota.submit(s, job)
    else:
        _submit(s, job)


@kernel_inline
def _policy_dispatch(s: State) -> None:
    """Policy.dispatch: start whatever the scenario's policy allows now, then spot jobs."""
    kind = s.sched.kind[0]
    if kind == BACKFILL:
        backfill.dispatch(s)
        queues.dispatch_spot(s)
    elif kind == QUOTA:
        quota.dispatch(s)
        queues.dispatch_spot(s)
    else:
        _dispatch(s)


@kernel_inline
def _policy_ended(s: State, job: int) -> None:
    """Policy.ended, for the policies that follow runs (Model._on_end's ``_ended``)."""
    kind = s.sched.kind[0]
    if kind == BACKFILL:
        backfill.ended(s.flow, s.sched.backfill, job)
    elif kind == QUOTA:
        quota.ended(s.jobs, s.sched.quota, job)


@kernel_inline
def _on_end(s: State, job: int) -> None:
    """Model._on_end: give the GPUs back, draw on credits, record the end, dispatch. A run
    that began by restoring a checkpoint counts its restart as lost work."""
    fleet, jobs, ten, acc, prices, flow, rec, pol = s[:8]
    now = flow.clock[NOW]
    if pol.flags[TRACKING] and pol.restarts[job] > 0:
        held = jobs.gpus_per_node[job] * jobs.nodes[job]
        interrupt.record_lost(pol, job, jobs.cohort[job], pol.params[RESTART_H] * held)
    release(fleet, jobs, job)
    jobs.state[job] = DONE
    count = flow.counters
    if ten.pays_credits[jobs.tenant[job]]:
        _draw(jobs, acc, prices, rec, count, job, now)
    rec.end_job[count[N_ENDS]] = job
    rec.end_h[count[N_ENDS]] = now
    count[N_ENDS] += 1
    _policy_ended(s, job)
    _policy_dispatch(s)


@kernel
def _submits(acc: Accounts, tenant: int, keep_u: float) -> bool:
    """Billing.submits: whether a gated tenant submits a job, by its grant's ``after`` rule."""
    state = acc.state[tenant]
    if state in (PENDING, ACTIVE):
        return True
    after = acc.after[tenant]
    return bool(after == CASH or (after == SHRINK and keep_u < acc.shrink_factor[tenant]))


@kernel
def _refusal(jobs: Jobs, ten: Tenants, acc: Accounts, flow: Flow, job: int, tenant: int) -> int:
    """Model._refusal: why a screened tenant's job is not submitted, or -1."""
    if ten.churned[tenant]:
        return CHURNED
    if ten.gated[tenant] and not _submits(acc, tenant, jobs.keep_u[job]):
        return CREDIT_RULE
    balk = ten.balk_wait_h[tenant]
    if not math.isnan(balk):
        usable = ten.usable_gpus[tenant]
        if usable == 0 or flow.clock[QUEUED_WORK] / usable > balk:
            return BALKED
    return -1


@kernel_inline
def _on_arrival(s: State) -> None:
    """Model._on_arrival: every job due by now arrives in one event."""
    jobs, ten, acc, flow, rec = s.jobs, s.tenants, s.accounts, s.flow, s.records
    now = flow.clock[NOW]
    i, n = flow.counters[NEXT_ARRIVAL], len(jobs.submit_h)
    while i < n and jobs.submit_h[i] <= now:
        if jobs.warm[i]:
            # Already in the system at time zero: started then, or queued without screening.
            if jobs.warm[i] != WARM_STARTED:
                flow.clock[QUEUED_WORK] += jobs.work_gpu_h[i]
                _policy_submit(s, i)
            i += 1
            continue
        tenant = jobs.tenant[i]
        refused = _refusal(jobs, ten, acc, flow, i, tenant) if ten.screened[tenant] else -1
        if refused >= 0:
            jobs.state[i] = SKIPPED
            k = flow.counters[N_SKIPS]
            rec.skipped_job[k] = i
            rec.skipped_reason[k] = refused
            flow.counters[N_SKIPS] += 1
        else:
            flow.clock[QUEUED_WORK] += jobs.work_gpu_h[i]
            _policy_submit(s, i)
        i += 1
    flow.counters[NEXT_ARRIVAL] = i
    # The reference schedules the next arrival ``submit - now`` after now: the same float sum.
    flow.clock[NEXT_ARRIVAL_H] = now + (jobs.submit_h[i] - now) if i < n else math.inf


# -- entry points from Python ----------------------------------------------------------------------


@kernel
def advance(s: State, until_h: float, until_priority: int) -> None:
    """Handle every run end and arrival that comes before (``until_h``, ``until_priority``) in
    the order of events at one instant."""
    flow = s.flow
    while True:
        if s.policy.flags[TRACKING] and interrupt.records_low(s):
            return
        end_h = flow.heap_t[0] if flow.counters[HEAP_SIZE] > 0 else math.inf
        arrival_h = flow.clock[NEXT_ARRIVAL_H]
        if end_h <= arrival_h:  # ends come first at one instant
            if not (end_h < until_h or (end_h == until_h and until_priority > ENDS)):
                return
            flow.clock[NOW] = end_h
            _on_end(s, _pop_end(flow))
        else:
            if not (arrival_h < until_h or (arrival_h == until_h and until_priority > ARRIVALS)):
                return
            flow.clock[NOW] = arrival_h
            _on_arrival(s)


@kernel
def dispatch(s: State, now_h: float) -> None:
    """The policy's pass at a business event that added GPUs."""
    s.flow.clock[NOW] = now_h
    _policy_dispatch(s)


@kernel
def start_on(s: State, job: int, pool: int, now_h: float) -> bool:
    """Start ``job`` on ``pool`` now, outside the queue (a job running at time zero;
    Policy.start_on)."""
    s.flow.clock[NOW] = now_h
    kind = s.sched.kind[0]
    if kind == BACKFILL:
        return backfill.start(
            s.fleet, s.jobs, s.tenants, s.flow, s.records, s.policy, s.sched.backfill, job, pool
        )
    if kind == QUOTA:
        return quota.start_on(
            s.fleet, s.jobs, s.tenants, s.flow, s.records, s.policy, s.sched.quota, job, pool
        )
    return try_start(s.fleet, s.jobs, s.tenants, s.flow, s.records, s.policy, job, pool)
