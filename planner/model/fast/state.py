"""The compiled engine's state: plain numpy arrays grouped by concept, built from a built Model.

Every group is a NamedTuple of arrays, so the compiled functions take it as one argument and
Python reads and writes the same memory. Scalars that change during the run (the clock, queue
ends, record counts) live in small arrays indexed by the named constants below.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from planner.model.engine import Model
    from planner.model.fast.sched import Sched

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]
U8 = NDArray[np.uint8]

WORD_BITS = 64

# Flow.clock: the time now, the next arrival event's time, the queued work in reference GPU-hours.
NOW, NEXT_ARRIVAL_H, QUEUED_WORK = 0, 1, 2
# Flow.counters: the FIFO queue's head and tail, the heap's size, run starts so far (the sequence
# that orders ends at equal times), the next job to arrive, and the record counts.
Q_HEAD, Q_TAIL, HEAP_SIZE, RUN_SEQ, NEXT_ARRIVAL = 0, 1, 2, 3, 4
N_STARTS, N_ENDS, N_SKIPS, N_DRAWS, N_EXHAUSTED, N_CHURNED = 5, 6, 7, 8, 9, 10

# Jobs.warm of a job started at time zero (1: queued at time zero).
WARM_STARTED = 2
# Jobs.state.
NEW, QUEUED, RUNNING, DONE, SKIPPED = 0, 1, 2, 3, 4
# Accounts.state, in the order of billing.AccountState.
ACCOUNT_STATES = ("pending", "active", "spent", "expired")
PENDING, ACTIVE, SPENT, EXPIRED = range(4)
# Accounts.after, in the order of CreditGrant.after's values.
AFTER_RULES = ("cash", "shrink", "leave")


class Fleet(NamedTuple):
    """Pools, pods and nodes. Nodes are numbered per pool in install order (``local``) and
    globally as ``pool_node0[pool] + local``; pods likewise per pool and globally."""

    pool_node0: I64
    pool_nodes: I64  # nodes installed so far
    pool_pod0: I64
    pool_pods: I64  # pods installed so far
    pool_node_gpus: I64
    pool_free_gpus: I64
    pool_throughput: F64
    pool_multinode: F64  # throughput factor of a job spanning nodes
    # partial[pool, f]: bitmap over local nodes with exactly f free GPUs (0 < f < node size).
    partial: U64
    partial_count: I64
    # whole[pool]: bitmap over local nodes with every GPU free.
    whole: U64
    pod_first: I64  # local node
    pod_size: I64  # nodes
    pod_cohort: I64
    pod_whole: I64  # whole free nodes
    node_free: I64
    node_pod: I64  # global pod
    # The next node of the same multi-node allocation (-1: the last): a whole node belongs
    # to one job at a time, so the nodes of every running job form a list through it.
    node_next: I64
    cohort_retired: U8
    # The within_pool rule (planner.model.fleet): 1 spread, 0 pack. A pool's cohorts in install
    # order are pool_cohort_list[pool_cohort0[pool] + k] for k < pool_cohorts[pool].
    pool_spread: U8
    pool_cohort0: I64
    pool_cohorts: I64  # cohorts installed so far
    pool_cohort_list: I64
    # Per cohort: its pods (global, contiguous), its nodes (local, contiguous), its GPUs and
    # the GPUs its running jobs hold.
    cohort_pod0: I64
    cohort_pods: I64
    cohort_node0: I64
    cohort_nodes: I64
    cohort_gpus: I64
    cohort_busy: I64


class Jobs(NamedTuple):
    """Every job's inputs, and where each running job sits."""

    submit_h: F64
    tenant: I64
    gpus: I64
    work_gpu_h: F64
    keep_u: F64
    warm: U8  # in the system at time zero (initial_state): 1 queued, WARM_STARTED running
    state: U8
    pool: I64
    first_node: I64  # global
    nodes: I64
    gpus_per_node: I64
    cohort: I64
    drawn_to_h: F64  # how far a credit tenant's running job has drawn on its credits


class Tenants(NamedTuple):
    """Per tenant: where it may run now, and how it reacts to queues."""

    candidates: I64  # [tenant, k]: the k-th pool it tries
    n_candidates: I64
    usable_gpus: F64  # throughput-weighted GPUs of its candidate pools
    screened: U8
    pays_credits: U8
    gated: U8
    balk_wait_h: F64  # NaN: never balks
    churn_wait_h: F64  # NaN: never churns
    churn_after: I64
    long_waits: I64
    churned: U8


class Accounts(NamedTuple):
    """Credit accounts per tenant (unused entries for tenants without a grant)."""

    state: U8
    balance_usd: F64
    amount_usd: F64
    after: U8
    shrink_factor: F64
    tier_factor: F64


class Prices(NamedTuple):
    """Each cohort's price (CohortPrice) with its curve's pieces (PriceCurve._pieces) flat."""

    cohort_curve: I64
    cohort_obsolete_h: F64
    cohort_floor_usd: F64  # NaN: retired when obsolete, no floor
    curve_piece0: I64
    curve_pieces: I64
    piece_start: F64
    piece_end: F64
    piece_q: F64
    piece_anchor: F64
    piece_k: F64


class Flow(NamedTuple):
    """The FIFO queue, the heap of run ends ordered by (time, start sequence), the clock."""

    queue: I64
    heap_t: F64
    heap_seq: I64
    heap_job: I64
    clock: F64
    counters: I64


class Records(NamedTuple):
    """What the run recorded, in order; copied into the Recorder at each business event."""

    start_job: I64
    start_h: F64
    start_cohort: I64
    start_gpus: I64
    start_in_quota: U8  # 1 where the run counts against its tenant's reservation
    end_job: I64
    end_h: F64
    skipped_job: I64
    skipped_reason: I64
    credit_job: I64
    credit_usd: F64
    exhausted_tenant: I64
    exhausted_h: F64
    churned_tenant: I64
    churned_h: F64


# Policy.flags: which policy runs the queues (PLAIN: the Flow's FIFO array, nothing ever cut
# short), whether runs are tracked so they can be cut short, whether the policy may preempt,
# aging and preemption of lower levels (priority), the number of non-spot queues, the count of
# lost-work records, and whether a kernel call stopped early to let Python grow the records.
KIND, TRACKING, PREEMPTS, AGING, PREEMPT_LOWER, N_LEVELS, N_LOST, RECORDS_LOW = range(8)
PLAIN, FIFO, PRIORITY = 0, 1, 2
# Policy.params: restart overhead, fixed checkpoint interval (NaN: Young/Daly), checkpoint write
# time, failures per node-hour, hours of waiting per level of aging.
RESTART_H, INTERVAL_H, WRITE_H, FAIL_RATE_H, AGING_H = range(5)


class Policy(NamedTuple):
    """Queues of the policies that may cut runs short (fifo with failures or spot, priority),
    each run's restart bookkeeping, and what interruptions recorded (priority queues without
    anything cut short track nothing).

    Queues are doubly linked lists over job ids (a job waits in one queue at a time): one per
    priority level in ascending level order (fifo has one), then the spot queue. Arrays sized
    per job hold one entry when the run needs no tracking."""

    flags: I64
    params: F64
    tenant_queue: I64  # the tenant's level queue, or the spot queue
    tenant_level: I64  # the tenant's priority level (lower runs first)
    tenant_spot: U8
    q_head: I64  # -1: empty
    q_tail: I64
    q_next: I64  # per job
    q_prev: I64
    restarts: I64  # per job: runs cut short so far
    run_start_h: F64  # per job: when its current run started
    end_kind: U8  # per end record: 0, FAILED or PREEMPTED (recording)
    lost_job: I64
    lost_cohort: I64
    lost_gpu_h: F64
    # Scratch for preemption: victims (a heap, then the chosen ones), the free GPUs a replay
    # of releases adds per node, whole nodes it adds per pod, and what it touched.
    victims: I64
    chosen: I64
    extra_free: I64
    pod_new_whole: I64
    touched: I64


class State(NamedTuple):
    fleet: Fleet
    jobs: Jobs
    tenants: Tenants
    accounts: Accounts
    prices: Prices
    flow: Flow
    records: Records
    policy: Policy
    sched: Sched  # the policy's own state beyond FIFO (planner.model.fast.sched)


def _words(nodes: int) -> int:
    return max(1, -(-nodes // WORD_BITS))


def _starts(sizes: list[int]) -> I64:
    """Where each of consecutive blocks of ``sizes`` starts."""
    return np.array([sum(sizes[:i]) for i in range(len(sizes))], np.int64)


def pool_keys(model: Model) -> list[tuple[str, str]]:
    """Every (model, region) pool the run may ever have, in the order of its first cohort."""
    return list(dict.fromkeys((c.model, c.region) for c in model.cohorts))


def build_fleet(model: Model) -> Fleet:
    """Room for every cohort the run may install, all pools empty."""
    sc = model.scenario
    keys = pool_keys(model)
    node_gpus = [sc.region(region).gpus_per_node for _, region in keys]
    pod_nodes = [
        sc.region(region).pod_gpus // sc.region(region).gpus_per_node for _, region in keys
    ]
    nodes, pods, cohorts = [0] * len(keys), [0] * len(keys), [0] * len(keys)
    for c in model.cohorts:
        p = keys.index((c.model, c.region))
        n = c.gpus // node_gpus[p]
        nodes[p] += n
        pods[p] += -(-n // pod_nodes[p])
        cohorts[p] += 1
    n_cohorts = len(model.cohorts)
    n_pools = len(keys)
    max_gpus = max(node_gpus, default=1)
    words = _words(max(nodes, default=1))
    n_nodes, n_pods = sum(nodes), sum(pods)
    return Fleet(
        pool_node0=_starts(nodes),
        pool_nodes=np.zeros(n_pools, np.int64),
        pool_pod0=_starts(pods),
        pool_pods=np.zeros(n_pools, np.int64),
        pool_node_gpus=np.array(node_gpus, np.int64),
        pool_free_gpus=np.zeros(n_pools, np.int64),
        pool_throughput=np.zeros(n_pools, np.float64),
        pool_multinode=np.ones(n_pools, np.float64),
        partial=np.zeros((n_pools, max_gpus, words), np.uint64),
        partial_count=np.zeros((n_pools, max_gpus), np.int64),
        whole=np.zeros((n_pools, words), np.uint64),
        pod_first=np.zeros(n_pods, np.int64),
        pod_size=np.zeros(n_pods, np.int64),
        pod_cohort=np.zeros(n_pods, np.int64),
        pod_whole=np.zeros(n_pods, np.int64),
        node_free=np.zeros(n_nodes, np.int64),
        node_pod=np.zeros(n_nodes, np.int64),
        node_next=np.full(n_nodes, -1, np.int64),
        cohort_retired=np.zeros(n_cohorts, np.uint8),
        pool_spread=np.array(
            [sc.placement.within(m, r) == "spread" for m, r in keys], np.uint8
        ).reshape(n_pools),
        pool_cohort0=_starts(cohorts),
        pool_cohorts=np.zeros(n_pools, np.int64),
        pool_cohort_list=np.full(max(n_cohorts, 1), -1, np.int64),
        cohort_pod0=np.zeros(n_cohorts, np.int64),
        cohort_pods=np.zeros(n_cohorts, np.int64),
        cohort_node0=np.zeros(n_cohorts, np.int64),
        cohort_nodes=np.zeros(n_cohorts, np.int64),
        cohort_gpus=np.zeros(n_cohorts, np.int64),
        cohort_busy=np.zeros(n_cohorts, np.int64),
    )


def build_jobs(model: Model) -> Jobs:
    jobs = model.jobs
    n = len(jobs)
    warm = np.zeros(n, np.uint8)
    warm[list(model._warm.all)] = 1
    warm[model._warm.running] = WARM_STARTED
    return Jobs(
        submit_h=_read_only(jobs.submit_h, np.float64),
        tenant=_read_only(jobs.tenant, np.int64),
        gpus=_read_only(jobs.gpus, np.int64),
        work_gpu_h=np.array(jobs.work_gpu_h, np.float64),  # a run cut short leaves less
        keep_u=_read_only(jobs.keep_u, np.float64),
        warm=warm,
        state=np.zeros(n, np.uint8),
        pool=np.full(n, -1, np.int64),
        first_node=np.full(n, -1, np.int64),
        nodes=np.zeros(n, np.int64),
        gpus_per_node=np.zeros(n, np.int64),
        cohort=np.full(n, -1, np.int64),
        drawn_to_h=np.zeros(n, np.float64),
    )


def _read_only(values: ArrayLike, dtype: type[np.generic]) -> NDArray[Any]:
    """``values`` as a read-only contiguous array, without a copy where they are one already.

    numba compiles the kernel once per type of its arguments, and a read-only array is another
    type: the batch's inputs are read-only whether the batch was generated or given, so that
    every run uses the one compiled kernel."""
    view = np.ascontiguousarray(values, dtype).view()
    view.flags.writeable = False
    return view


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def build_tenants(model: Model) -> Tenants:
    sc = model.scenario
    n = len(sc.tenants)
    patience = [t.patience for t in sc.tenants]
    # A tenant tries at most every (model, region) it names, repeats included.
    most = max((len(keys) for keys in model._pool_keys), default=1)
    return Tenants(
        candidates=np.full((n, max(most, 1)), -1, np.int64),
        n_candidates=np.zeros(n, np.int64),
        usable_gpus=np.zeros(n, np.float64),
        screened=np.array([i in model._screened for i in range(n)], np.uint8),
        pays_credits=np.array(model._pays_credits, np.uint8),
        gated=np.array([i in model.billing.gated for i in range(n)], np.uint8),
        balk_wait_h=np.array([_or_nan(b) for b in model._balk_wait_h], np.float64),
        churn_wait_h=np.array([_or_nan(c) for c in model._churn_wait_h], np.float64),
        churn_after=np.array([p.churn_after if p else 0 for p in patience], np.int64),
        long_waits=np.zeros(n, np.int64),
        churned=np.zeros(n, np.uint8),
    )


def build_accounts(model: Model) -> Accounts:
    from planner.model.billing import tier_price_factor

    sc = model.scenario
    n = len(sc.tenants)
    accounts = Accounts(
        state=np.zeros(n, np.uint8),
        balance_usd=np.zeros(n, np.float64),
        amount_usd=np.zeros(n, np.float64),
        after=np.zeros(n, np.uint8),
        shrink_factor=np.zeros(n, np.float64),
        tier_factor=np.array([tier_price_factor(sc, t) for t in sc.tenants], np.float64),
    )
    for i, account in model.billing.accounts.items():
        accounts.amount_usd[i] = account.grant.amount_usd
        accounts.after[i] = AFTER_RULES.index(account.grant.after)
        accounts.shrink_factor[i] = account.grant.shrink_factor
    push_accounts(model, accounts)
    return accounts


def push_accounts(model: Model, accounts: Accounts) -> None:
    """Copy the billing accounts' balances and states into the arrays."""
    for i, account in model.billing.accounts.items():
        accounts.state[i] = ACCOUNT_STATES.index(account.state)
        accounts.balance_usd[i] = account.balance_usd


def pull_accounts(model: Model, accounts: Accounts) -> None:
    """Copy the arrays' balances and states back into the billing accounts."""
    for i, account in model.billing.accounts.items():
        account.state = ACCOUNT_STATES[accounts.state[i]]  # type: ignore[assignment]
        account.balance_usd = float(accounts.balance_usd[i])


def build_prices(model: Model) -> Prices:
    # Cohorts of one model share its curve.
    index: dict[int, int] = {}
    pieces: list[list[tuple[float, float, float, float, float]]] = []
    curve_of = []
    for price in model.prices:
        if id(price.curve) not in index:
            index[id(price.curve)] = len(pieces)
            pieces.append(price.curve._pieces)
        curve_of.append(index[id(price.curve)])
    flat = [piece for curve in pieces for piece in curve]
    starts, ends, q, anchor, k = (np.array([p[f] for p in flat], np.float64) for f in range(5))
    counts = np.array([len(c) for c in pieces], np.int64)
    return Prices(
        cohort_curve=np.array(curve_of, np.int64),
        cohort_obsolete_h=np.array([p.obsolete_at_h for p in model.prices], np.float64),
        cohort_floor_usd=np.array([_or_nan(p.floor_usd_per_gpu_h) for p in model.prices]),
        curve_piece0=_starts(counts.tolist()),
        curve_pieces=counts,
        piece_start=starts,
        piece_end=ends,
        piece_q=q,
        piece_anchor=anchor,
        piece_k=k,
    )


def build_flow(n_jobs: int) -> Flow:
    size = max(n_jobs, 1)
    clock = np.zeros(3, np.float64)
    clock[NEXT_ARRIVAL_H] = math.inf
    return Flow(
        queue=np.zeros(size, np.int64),
        heap_t=np.zeros(size, np.float64),
        heap_seq=np.zeros(size, np.int64),
        heap_job=np.zeros(size, np.int64),
        clock=clock,
        counters=np.zeros(11, np.int64),
    )


def build_records(model: Model) -> Records:
    n = max(len(model.jobs), 1)
    sc = model.scenario
    # A job draws on credits when it ends, and every running job when a grant starts or ends
    # and at the horizon; no more jobs run at once than there are GPUs.
    gpus = sum(c.gpus for c in model.cohorts)
    changes = 2 * len(model.billing.accounts) + 1
    draws = n + changes * min(n, max(gpus, 1))
    tenants = len(sc.tenants)
    return Records(
        start_job=np.zeros(n, np.int64),
        start_h=np.zeros(n, np.float64),
        start_cohort=np.zeros(n, np.int64),
        start_gpus=np.zeros(n, np.int64),
        start_in_quota=np.zeros(n, np.uint8),
        end_job=np.zeros(n, np.int64),
        end_h=np.zeros(n, np.float64),
        skipped_job=np.zeros(n, np.int64),
        skipped_reason=np.zeros(n, np.int64),
        credit_job=np.zeros(draws, np.int64),
        credit_usd=np.zeros(draws, np.float64),
        # An account is exhausted at most once: a grant is given once.
        exhausted_tenant=np.zeros(tenants, np.int64),
        exhausted_h=np.zeros(tenants, np.float64),
        churned_tenant=np.zeros(tenants, np.int64),
        churned_h=np.zeros(tenants, np.float64),
    )


def build_state(model: Model) -> State:
    from planner.model.fast.sched import build_sched

    fleet = build_fleet(model)
    return State(
        fleet=fleet,
        jobs=build_jobs(model),
        tenants=build_tenants(model),
        accounts=build_accounts(model),
        prices=build_prices(model),
        flow=build_flow(len(model.jobs)),
        records=build_records(model),
        policy=build_policy(model, fleet),
        sched=build_sched(model, fleet),
    )


def build_policy(model: Model, fleet: Fleet) -> Policy:
    from planner.scenario.schema import FixedCheckpoint, PriorityScheduler

    sc = model.scenario
    n_jobs, n_tenants = len(model.jobs), len(sc.tenants)
    spec = sc.scheduler
    levels = [0] * n_tenants
    if isinstance(spec, PriorityScheduler):  # as planner.model.policies.make_policy
        levels = [
            t.priority if t.priority is not None else spec.class_order.index(t.tenant_class)
            for t in sc.tenants
        ]
    ranks = sorted(set(levels))
    spot = [t.tier == "spot" for t in sc.tenants]
    tracking = bool(model._tracking)
    per_job = max(n_jobs, 1) if tracking else 1
    flags = np.zeros(8, np.int64)
    flags[KIND] = PRIORITY if isinstance(spec, PriorityScheduler) else FIFO if tracking else PLAIN
    flags[TRACKING] = tracking
    flags[PREEMPTS] = model.policy.preempts
    flags[N_LEVELS] = len(ranks)
    params = np.full(5, math.nan, np.float64)
    checkpoints = model.checkpoints
    params[RESTART_H] = checkpoints.restart_h
    if isinstance(checkpoints.spec, FixedCheckpoint):
        params[INTERVAL_H] = checkpoints.spec.interval_min / 60.0
    else:
        params[WRITE_H] = checkpoints.spec.write_min / 60.0
    params[FAIL_RATE_H] = checkpoints.rate_per_node_h
    if isinstance(spec, PriorityScheduler):
        flags[AGING] = spec.aging_h is not None
        flags[PREEMPT_LOWER] = spec.preempt
        params[AGING_H] = math.nan if spec.aging_h is None else spec.aging_h
    queues = len(ranks) + 1
    queued = max(n_jobs, 1) if flags[KIND] != PLAIN else 1
    ends = len(model.jobs) + 1 if tracking else 1
    return Policy(
        flags=flags,
        params=params,
        tenant_queue=np.array(
            [len(ranks) if s else ranks.index(lv) for s, lv in zip(spot, levels, strict=True)],
            np.int64,
        ),
        tenant_level=np.array(levels, np.int64),
        tenant_spot=np.array(spot, np.uint8),
        q_head=np.full(queues, -1, np.int64),
        q_tail=np.full(queues, -1, np.int64),
        q_next=np.full(queued, -1, np.int64),
        q_prev=np.full(queued, -1, np.int64),
        restarts=np.zeros(per_job, np.int64),
        run_start_h=np.zeros(per_job, np.float64),
        end_kind=np.zeros(ends, np.uint8),
        lost_job=np.zeros(ends, np.int64),
        lost_cohort=np.zeros(ends, np.int64),
        lost_gpu_h=np.zeros(ends, np.float64),
        victims=np.zeros(per_job, np.int64),
        chosen=np.zeros(per_job, np.int64),
        extra_free=np.zeros(len(fleet.node_free) if tracking else 1, np.int64),
        pod_new_whole=np.zeros(len(fleet.pod_whole) if tracking else 1, np.int64),
        touched=np.zeros(len(fleet.node_free) + len(fleet.pod_whole) + 1, np.int64),
    )
