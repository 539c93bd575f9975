"""The scenario schema: every field, its unit and its default, validated once and then frozen.

Dates are calendar dates; the model converts them once to hours since ``start``
(see :meth:`Scenario.hours_since_start`). Money is US dollars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from planner.scenario.base import Spec
from planner.scenario.distributions import (
    Choice,
    Constant,
    Distribution,
    Exponential,
    WorkByGpus,
    WorkDistribution,
)
from planner.wording import counted

HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 8766.0  # 365.25 days, so annual rates do not drift over leap years

Name = str
CalendarDate = date


class Region(Spec):
    """A region: its GPUs sit in nodes of ``gpus_per_node``, grouped in pods (RDMA domains)."""

    name: Name = Field(min_length=1)
    pod_gpus: PositiveInt = Field(
        default=1024,
        description="GPUs in one pod (RDMA domain); a multi-node job stays inside one pod. "
        "Alibaba HPN segments are 1,024 GPUs (domain.md §7).",
    )
    gpus_per_node: PositiveInt = Field(
        default=8, description="GPUs per server; 8 per HGX baseboard (domain.md §1, §7)"
    )
    max_gpus: PositiveInt | None = Field(
        default=None, description="GPUs the region can hold; deliveries beyond it are refused"
    )
    max_power_mw: PositiveFloat | None = Field(
        default=None,
        description="facility power for GPU servers (TDP x server factor x PUE); deliveries "
        "beyond it are refused",
    )

    @model_validator(mode="after")
    def _pod_holds_whole_nodes(self) -> Self:
        if self.pod_gpus % self.gpus_per_node:
            raise ValueError(
                f"pod_gpus ({self.pod_gpus}) is not a multiple of gpus_per_node "
                f"({self.gpus_per_node})"
            )
        return self


class Cohort(Spec):
    """GPUs of one model bought together and installed in one region."""

    name: Name | None = Field(default=None, description="defaults to MODEL-REGION-INDEX")
    model: Name
    region: Name
    gpus: PositiveInt
    acquired: date = Field(description="in service from this date (or from start, if earlier)")
    unit_capex_usd: PositiveFloat | None = Field(
        default=None, description="all-in price per GPU; defaults to the catalogue's reference"
    )
    opex_usd_per_gpu_h: NonNegativeFloat | None = Field(
        default=None, description="operating cost per GPU-hour; defaults to the market's"
    )


class Order(Spec):
    """GPUs on order: they become a cohort ``lead_days`` after ``ordered``, unless banned."""

    name: Name | None = Field(default=None, description="defaults to order-MODEL-INDEX")
    model: Name
    region: Name
    gpus: PositiveInt
    ordered: date
    lead_days: NonNegativeFloat | Distribution = Field(
        default=90.0, description="days from order to (first) delivery: a number or a distribution"
    )
    channel: Literal["official", "grey"] = Field(
        default="official",
        description="'grey': bought through third parties while a grey market is open; not "
        "stopped by bans, but dearer, slower and capped in volume",
    )
    tranches: PositiveInt = Field(default=1, description="delivered in this many equal parts")
    tranche_every_days: NonNegativeFloat = Field(
        default=30.0, description="days between one tranche and the next"
    )
    unit_capex_usd: PositiveFloat | None = None
    opex_usd_per_gpu_h: NonNegativeFloat | None = None

    @property
    def expected_due(self) -> date:
        """When the first tranche is due at the mean lead time."""
        lead = self.lead_days if isinstance(self.lead_days, float | int) else self.lead_days.mean()
        return self.ordered + timedelta(days=lead)


class Licence(Spec):
    """From the event on, each undelivered order of ``models`` needs an export licence: it is
    denied with ``deny_probability`` (never delivered), else granted after ``delay_days``
    (delivery waits for it). A later event that lists a model in ``lift`` ends the requirement
    for orders due after it. The H20 episode: licences required from 9 Apr 2025, sales resumed
    with licences in Jul 2025 (domain.md §3).
    """

    models: list[Name] = Field(min_length=1)
    delay_days: Distribution = Field(
        default_factory=lambda: Constant.model_validate({"value": 90.0}),
        description="assumption: a quarter, about the Apr-Jul 2025 H20 pause (domain.md §3)",
    )
    deny_probability: float = Field(default=0.0, ge=0.0, le=1.0)


class GreyMarket(Spec):
    """Banned models still reach the country through third parties, at a premium, more slowly
    and in limited volume (domain.md §2a: A800 grey-market premium "surged over 50%" in Aug 2023,
    Nikkei; single H800 cards via middlemen at 350-400 k CNY in Oct 2023, Caixin)."""

    models: list[Name] = Field(min_length=1)
    premium: float = Field(default=0.5, ge=0.0, description="on the unit capex")
    extra_lead_days: NonNegativeFloat = Field(
        default=60.0, description="assumption: two months longer than an official order"
    )
    cap_gpus_per_quarter: PositiveInt = Field(
        default=1024, description="assumption: grey GPUs obtainable per calendar quarter"
    )


class RegionBar(Spec):
    """``tenants`` may start no job in ``regions`` (jobs already running finish)."""

    tenants: list[Name] = Field(min_length=1)
    regions: list[Name] = Field(min_length=1)


class ExportControl(Spec):
    """An export-control event: from ``effective``, deliveries of ``ban`` models stop.

    Orders of a banned model not yet delivered are cancelled, or frozen until a later event lists
    the model in ``lift``. Stock already installed becomes scarcer: its price may carry a
    ``scarcity_premium`` for ``scarcity_days`` (after the Oct 2023 rule, an 8xH800 server went
    from 2.3 to over 2.7 M CNY, about +17%: domain.md §2a, Caixin via caihuicloud.com [N]).
    """

    name: Name | None = None
    effective: date
    ban: list[Name] = Field(default_factory=list)
    lift: list[Name] = Field(default_factory=list)
    undelivered: Literal["cancel", "freeze"] = "cancel"
    licence: Licence | None = Field(
        default=None, description="deliveries of these models need a licence from 'effective'"
    )
    restrict: list[RegionBar] = Field(
        default_factory=list, description="tenants barred from regions from 'effective'"
    )
    grey_market: GreyMarket | None = Field(
        default=None, description="a grey market for banned models opens from 'effective'"
    )
    scarcity_premium: float = Field(
        default=0.0, ge=0.0, description="fractional price rise of the banned models"
    )
    scarcity_days: PositiveFloat = Field(default=365.0, description="how long the premium lasts")

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        if not (self.ban or self.lift or self.licence or self.restrict or self.grey_market):
            raise ValueError(
                "an export-control event needs a 'ban', 'lift', 'licence', 'restrict' or "
                "'grey_market'"
            )
        return self


class ModelMarket(Spec):
    """The market for one GPU model: its rental price curve and its operating cost."""

    usd_per_gpu_h: PositiveFloat = Field(description="list price per GPU-hour at 'as_of'")
    annual_decline: float = Field(
        default=0.35,
        ge=0.0,
        lt=1.0,
        description="fractional price fall per year, compounded continuously between dates; "
        "-35%/yr after a successor ships (domain.md §8)",
    )
    as_of: date | None = Field(default=None, description="date of 'usd_per_gpu_h'; default start")
    opex_usd_per_gpu_h: NonNegativeFloat | None = Field(
        default=None, description="default: power at the market's tariff plus fixed opex"
    )


class SuccessorLaunch(Spec):
    """A newer generation ships: older models' prices step down by ``drop`` on ``date``."""

    name: Name
    date: date
    drop: float = Field(ge=0.0, lt=1.0)
    models: list[Name] | None = Field(
        default=None, description="models repriced; default every model launched before 'date'"
    )
    annual_decline_after: float | None = Field(
        default=None,
        ge=0.0,
        lt=1.0,
        description="from 'date' on, the repriced models decline at this rate a year instead "
        "(domain.md §8: -35%/yr after a successor ships); default: unchanged",
    )


class PriceCut(Spec):
    """A dated price step: prices step down by ``cut`` on ``date``, or up when ``cut`` is
    negative (H100 rent rose about 40% from Oct 2025 to Mar 2026, domain.md §4b: ``cut: -0.4``).
    """

    name: Name | None = None
    date: date
    cut: float = Field(
        gt=-10.0,
        lt=1.0,
        description="fractional price fall on 'date'; negative for a rise (-0.4 = +40%)",
    )
    models: list[Name] | None = Field(default=None, description="models repriced; default all")

    @model_validator(mode="after")
    def _moves_the_price(self) -> Self:
        if self.cut == 0.0:
            raise ValueError("'cut' of 0 leaves the price unchanged; give a fall or a rise")
        return self


def _expand_presets(value: Any, presets: Mapping[str, dict[str, Any]], what: str) -> Any:
    """Replace preset names in a list by the sourced entries they stand for."""
    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        if isinstance(item, str):
            if item not in presets:
                raise ValueError(f"unknown {what} preset '{item}'; presets: {', '.join(presets)}")
            out.append(dict(presets[item]))
        else:
            out.append(item)
    return out


def _preset_cuts(value: Any) -> Any:
    """Let ``price_cuts`` name presets (``alibaba-2024-02``) beside full entries."""
    from planner.presets import PRICE_CUTS

    return _expand_presets(value, PRICE_CUTS, "price-cut")


def _preset_controls(value: Any) -> Any:
    """Let ``export_controls`` name presets (``bis-2023-10``) beside full entries."""
    from planner.presets import EXPORT_CONTROLS

    return _expand_presets(value, EXPORT_CONTROLS, "export-control")


def _default_launches() -> list[SuccessorLaunch]:
    from planner.presets import SUCCESSOR_LAUNCHES

    return [SuccessorLaunch.model_validate(item) for item in SUCCESSOR_LAUNCHES]


class TierPrices(Spec):
    """What each contract tier pays, as a factor on the list price.

    Assumptions: domain.md §2b has one-year contracts 30-45% below on-demand (H100: $2.99
    on-demand in Oct 2024, $1.70-2.35 on one-year terms in 2025-26); spot is taken at 60% off.
    """

    reserved: float = Field(default=0.7, gt=0.0, le=1.0)
    on_demand: float = Field(default=1.0, gt=0.0)
    spot: float = Field(default=0.4, gt=0.0, le=1.0)


class Resale(Spec):
    """What a GPU fetches on the second-hand market, as a share of its unit capex.

    The share falls with age along ``share_by_year`` (log-linear between whole years, held
    after the last) and steps down by ``successor_step`` whenever a new architecture ships
    (see :mod:`planner.resale`). Defaults: planner.catalog, from domain.md §4b (low confidence).
    """

    share_by_year: list[Annotated[float, Field(gt=0.0, le=1.0)]] | None = Field(
        default=None,
        min_length=1,
        description="share of unit capex at ages 0, 1, 2, ... years, not increasing; default "
        "the catalogue's (domain.md §4b H100 resale: 60-65% at 12 months, 40-45% at 24, 25-35% "
        "at 36; low confidence)",
    )
    successor_step: float | None = Field(
        default=None,
        ge=0.0,
        lt=1.0,
        description="share of the value lost when a new architecture ships; default the "
        "catalogue's 0.25 (domain.md §4b: 'step down 20-30%'; low confidence)",
    )

    @model_validator(mode="after")
    def _not_rising(self) -> Self:
        shares = self.share_by_year or []
        if any(later > earlier for earlier, later in pairwise(shares)):
            raise ValueError("'share_by_year' must not increase with age")
        return self


class Market(Spec):
    """Prices, operating costs and asset lives.

    Models without an entry in ``prices`` use the catalogue's reference rental price at its
    reference date with ``default_annual_decline``.
    """

    prices: dict[Name, ModelMarket] = Field(default_factory=dict)
    default_annual_decline: float = Field(default=0.35, ge=0.0, lt=1.0)
    power_usd_per_kwh: NonNegativeFloat = Field(
        default=0.08, description="assumption: industrial tariff; domain.md has no source"
    )
    pue: float = Field(default=1.3, ge=1.0, description="assumption: data-centre PUE")
    server_power_factor: float = Field(
        default=1.5,
        ge=1.0,
        description="assumption: server draw (CPUs, NICs, fans) per watt of GPU TDP",
    )
    fixed_opex_usd_per_gpu_h: NonNegativeFloat = Field(
        default=0.15, description="assumption: network, space, staff and spares per GPU-hour"
    )
    book_life_years: PositiveFloat = Field(
        default=6.0, description="straight-line depreciation life (domain.md §4a, §8)"
    )
    service_life_years: PositiveFloat = Field(
        default=6.0, description="end of life: a cohort is obsolete by this age at the latest"
    )
    successor_launches: list[SuccessorLaunch] = Field(
        default_factory=_default_launches,
        description="default: H200 Q2 2024, B200 late 2024, B300 H2 2025, Rubin H2 2026 "
        "(planner.presets, domain.md §3)",
    )
    price_cuts: Annotated[list[PriceCut], BeforeValidator(_preset_cuts)] = Field(
        default_factory=list, description="entries, or preset names such as 'alibaba-2024-02'"
    )
    tiers: TierPrices = Field(
        default_factory=TierPrices, description="price factor per contract tier"
    )
    at_obsolescence: Literal["retire", "floor"] = Field(
        default="retire",
        description="an obsolete cohort leaves service, or stays and earns 'floor_usd_per_gpu_h'",
    )
    floor_usd_per_gpu_h: NonNegativeFloat = Field(
        default=0.0, description="price an obsolete cohort earns when kept at a floor"
    )
    resale: dict[Name, Resale] = Field(
        default_factory=dict,
        description="resale curve per GPU model, overriding the catalogue's (domain.md §4b)",
    )


class Poisson(Spec):
    """Poisson arrivals at ``per_day`` jobs a day, growing by ``annual_growth`` a year.

    The rate at time t is ``per_day * (1 + annual_growth) ** years_since_start``.
    """

    kind: Literal["poisson"] = "poisson"
    per_day: PositiveFloat
    annual_growth: float = Field(default=0.0, gt=-1.0)


class RateProfile(Spec):
    """The arrival rate over time: in the k-th window of ``window_h`` from the workload's start
    the rate is ``per_day x factors[k]`` (so ``per_day`` is the mean rate when the factors
    average 1, as ``planner trace fit`` writes them), the profile starting over when it runs
    out. A trace's
    busy weeks build its queues, which a steady rate with the same gaps does not reproduce."""

    window_h: PositiveFloat = 24.0
    factors: list[Annotated[float, Field(ge=0.0)]] = Field(min_length=1)
    work_factors: list[PositiveFloat] | None = Field(
        default=None,
        description="work per job in the k-th window is multiplied by work_factors[k]; as "
        "many as 'factors'",
    )

    @model_validator(mode="after")
    def _some_rate(self) -> Self:
        if sum(self.factors) <= 0:
            raise ValueError("'factors' must not all be zero")
        if self.work_factors is not None and len(self.work_factors) != len(self.factors):
            raise ValueError(
                f"'work_factors' has {counted(len(self.work_factors), 'entry', 'entries')} but "
                f"'factors' has {len(self.factors)}"
            )
        return self


class BurstyArrivals(Spec):
    """A renewal process whose inter-arrival times mix two exponentials (hyperexponential,
    balanced means): ``per_day`` jobs a day on average with inter-arrival coefficient of
    variation ``cv`` (at least 1; 1 is Poisson). Real GPU clusters show 4 to 20
    (shared/data/traces/STATS.md), and Poisson arrivals understate their queues."""

    kind: Literal["bursty"] = "bursty"
    per_day: PositiveFloat
    cv: float = Field(ge=1.0, description="std / mean of the inter-arrival times")
    rate_profile: RateProfile | None = Field(
        default=None,
        description="the rate over time; 'cv' is then the variability at a steady rate, and "
        "the profile adds its own (see 'planner trace fit')",
    )


class TraceArrivals(Spec):
    """Jobs replayed from a public trace or a generic trace CSV (see ``planner trace import``).

    A trace job submitted ``s`` seconds into the trace arrives at ``offset_h + s / 3600 x
    time_scale`` hours into the scenario (and only inside the workload's active window). Its
    GPUs are the trace's, rounded up to whole nodes when larger than one; its work is its run
    time on ``reference_model`` GPUs, so on that model it runs as long as it did. ``load_scale``
    thins the trace (below 1: each job kept with that chance) or repeats it (above 1: whole
    copies, plus one more with the fractional chance), every copy arriving with its original.
    """

    kind: Literal["trace"] = "trace"
    path: str = Field(
        description="the trace: a file or a trace directory; a relative path is read from "
        "the scenario file's folder (from the working directory for a scenario built in code)"
    )
    format: Literal["generic", "philly", "itp", "crux", "openb"] = "generic"
    offset_h: NonNegativeFloat = 0.0
    time_scale: PositiveFloat = Field(
        default=1.0, description="stretches (above 1) or compresses (below 1) the trace's time"
    )
    load_scale: PositiveFloat = 1.0
    reference_model: Name = Field(
        default="H800", description="GPU model the trace's run times are taken as measured on"
    )
    trace_tenants: list[str] | None = Field(
        default=None, description="keep only jobs of these trace tenants (ITP: clusters)"
    )
    trace_gpu_models: list[str] | None = Field(
        default=None,
        description="keep only jobs whose GPU model or GPU-type constraint in the trace is one "
        "of these, written as the trace writes it (openb: 'V100M16|V100M32'); '' keeps the jobs "
        "with none. A tenant per constraint, allowed the regions that hold those GPUs, replays "
        "a trace's constraints",
    )
    min_duration_s: PositiveFloat = Field(
        default=1.0, description="shorter run times (a zero in a trace) are raised to this"
    )


Arrivals = Annotated[Poisson | BurstyArrivals | TraceArrivals, Field(discriminator="kind")]


class Workload(Spec):
    """A tenant's stream of jobs: arrivals, GPUs per job and work per job."""

    arrivals: Arrivals
    gpus: Distribution | None = Field(
        default=None,
        description="GPUs per job; draws are rounded up to a whole GPU, and a job larger than "
        "one node is rounded up to whole nodes. Not with trace arrivals (the trace's are used)",
    )
    work_gpu_h: WorkDistribution | None = Field(
        default=None,
        description="work per job in reference-GPU-hours (H800 = 1.0): duration = "
        "work / (gpus x throughput); 'by_gpus' draws it by the job's size. Not with trace "
        "arrivals",
    )
    active_from: date | None = Field(default=None, description="default: scenario start")
    active_until: date | None = Field(default=None, description="default: the horizon's end")
    price_elasticity: float = Field(
        default=0.0,
        ge=0.0,
        le=10.0,
        description="arrivals scale by (price / reference price) ** -elasticity, the price being "
        "that of the tenant's first model; 0 for demand that ignores price. At most 10 (a 10% "
        "cut would then raise demand 2.9 times)",
    )
    reference_usd_per_gpu_h: PositiveFloat | None = Field(
        default=None, description="price at which demand is 'arrivals'; default: price at start"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.active_from and self.active_until and self.active_from >= self.active_until:
            raise ValueError(
                f"active_from ({self.active_from}) must be before active_until "
                f"({self.active_until})"
            )
        replay = isinstance(self.arrivals, TraceArrivals)
        for name in ("gpus", "work_gpu_h"):
            given = getattr(self, name) is not None
            if replay and given:
                raise ValueError(f"'{name}' comes from the trace: leave it out")
            if not replay and not given:
                raise ValueError(f"'{name}' is required with {self.arrivals.kind} arrivals")
        if isinstance(self.work_gpu_h, WorkByGpus):
            sizes = self.gpus.values if isinstance(self.gpus, Choice) else None
            if sizes is None or any(v != int(v) for v in sizes):
                raise ValueError("'by_gpus' work needs 'gpus' to be a choice of whole GPU counts")
            missing = sorted({int(v) for v in sizes} - set(self.work_gpu_h.by_gpus))
            if missing:
                raise ValueError(f"'work_gpu_h.by_gpus' has no work for {missing} GPUs")
        if not isinstance(self.arrivals, Poisson) and self.price_elasticity > 0:
            raise ValueError(
                f"{self.arrivals.kind} arrivals do not respond to price: price_elasticity is 0"
            )
        return self


class Patience(Spec):
    """How a tenant reacts to queues: it balks at long expected waits and churns after
    repeated long waits.

    The expected wait a tenant sees at submission is the work queued ahead divided by the
    capacity it may use, both in H800-equivalent GPU-hours (a queue display's figure).
    """

    balk_wait_h: PositiveFloat | None = Field(
        default=None, description="a job is not submitted if the expected wait is longer"
    )
    churn_wait_h: PositiveFloat | None = Field(
        default=None, description="a wait longer than this counts towards churn"
    )
    churn_after: PositiveInt = Field(
        default=3, description="the tenant leaves after this many long waits"
    )


class Campaign(Spec):
    """A planned job: ``gpus`` GPUs and ``work_gpu_h`` of work (or ``days`` on H800s)."""

    name: Name | None = None
    submit: date
    gpus: PositiveInt
    work_gpu_h: PositiveFloat | None = None
    days: PositiveFloat | None = Field(
        default=None, description="shorthand: work = gpus x days x 24 reference-GPU-hours"
    )

    @model_validator(mode="after")
    def _one_size(self) -> Self:
        if (self.work_gpu_h is None) == (self.days is None):
            raise ValueError("give exactly one of 'work_gpu_h' and 'days'")
        return self

    @property
    def work(self) -> float:
        if self.work_gpu_h is not None:
            return self.work_gpu_h
        if self.days is None:
            raise ValueError("a campaign needs work_gpu_h or days")
        return self.gpus * self.days * HOURS_PER_DAY


class CreditGrant(Spec):
    """Cloud credits given as (part of) an investment, drawn at list price as GPU-hours are used.

    The grant is sized one way: ``amount_usd``, or ``investment_usd`` with ``credit_share``
    (amount = investment x share; Moonshot: about $800 M, just under half as credits). Either
    way ``amount_usd`` holds the credits granted; when it is derived it is not written back out,
    so a dumped scenario validates again and overrides of the investment or share take effect.

    Outside [granted, expires) or once spent, the tenant follows ``after``: it pays ``cash``,
    ``shrink``s its new submissions to ``shrink_factor`` of the rate, or ``leave``s.
    Credits left at expiry are forfeited.
    """

    @staticmethod
    def _sized_either_way_in_json_schema(schema: dict[str, Any]) -> None:
        """``amount_usd`` is not required in the JSON Schema: the investment may size the grant."""
        schema["required"] = [f for f in schema.get("required", []) if f != "amount_usd"]

    model_config = ConfigDict(json_schema_extra=_sized_either_way_in_json_schema)

    amount_usd: PositiveFloat = Field(
        description="credits granted; give this, or 'investment_usd' and 'credit_share'"
    )
    investment_usd: PositiveFloat | None = Field(
        default=None, description="the whole investment, cash and credits"
    )
    credit_share: float | None = Field(
        default=None, gt=0.0, le=1.0, description="the share of 'investment_usd' paid as credits"
    )
    granted: date
    expires: date
    after: Literal["cash", "shrink", "leave"] = "cash"
    shrink_factor: float = Field(default=0.5, gt=0.0, lt=1.0)

    @model_validator(mode="wrap")
    @classmethod
    def _sized_one_way(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Exactly one sizing; a grant sized by investment gets ``amount_usd`` = its product."""
        if not isinstance(data, dict):
            return handler(data)
        sizing = ("amount_usd", "investment_usd", "credit_share")
        given = {k for k in sizing if data.get(k) is not None}
        if "amount_usd" in given and len(given) > 1:
            raise ValueError(
                "give either 'amount_usd' or 'investment_usd' with 'credit_share', not both"
            )
        if "amount_usd" in given:
            return handler(data)
        if not given:
            raise ValueError("give 'amount_usd', or 'investment_usd' and 'credit_share'")
        if len(given) == 1:
            (alone,) = given
            other = "credit_share" if alone == "investment_usd" else "investment_usd"
            raise ValueError(f"'{alone}' needs '{other}' (or give 'amount_usd' instead)")
        # A stand-in amount lets every field validate (errors name their own field); the real
        # amount is the product of the validated investment and share.
        grant = handler({**data, "amount_usd": 1.0})
        if grant.investment_usd is None or grant.credit_share is None:
            raise ValueError("a grant needs amount_usd, or investment_usd and credit_share")
        return grant.model_copy(update={"amount_usd": grant.investment_usd * grant.credit_share})

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.expires <= self.granted:
            raise ValueError("'expires' must be after 'granted'")
        return self

    @model_serializer(mode="wrap")
    def _without_derived_amount(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.investment_usd is not None:
            data.pop("amount_usd", None)
        return data


class Lease(Spec):
    """Idle capacity leased wholesale (to other clouds) at a floor price.

    The lessee takes ``share`` of the idle GPU-hours of the models and regions it may use. It is
    preemptible: it gives GPUs back the moment anyone else needs them, so it earns from idle
    time and never delays another tenant's job.
    """

    usd_per_gpu_h: PositiveFloat
    share: float = Field(default=1.0, gt=0.0, le=1.0)


TenantClass = Literal["credit", "paying", "internal", "wholesale"]
Tier = Literal["reserved", "on_demand", "spot"]


class TakeOrPay(Spec):
    """A take-or-pay commitment on a reservation: the tenant pays for every reserved GPU-hour
    of the term at a fixed price, used or not, and its jobs inside the quota pay nothing more
    until the term ends."""

    price_usd_per_gpu_h: PositiveFloat


class Reservation(Spec):
    """GPUs of one model in one region held for a tenant over a period, as a deal promises.

    Only the ``quota`` scheduler enforces it; other schedulers ignore it, so the same scenario
    can be compared across schedulers (a ``take_or_pay`` reservation needs the ``quota``
    scheduler, which alone says which jobs run inside the quota it pays for).
    """

    gpus: PositiveInt
    model: Name
    region: Name
    start: date | None = Field(default=None, description="default: scenario start")
    end: date | None = Field(default=None, description="default: the horizon's end")
    take_or_pay: TakeOrPay | None = Field(
        default=None,
        description="the tenant pays gpus x hours of the term x this price, used or not; "
        "its jobs inside the quota pay nothing more (paying tenants, quota scheduler only)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start and self.end and self.start >= self.end:
            raise ValueError("'start' must be before 'end'")
        return self


class Tenant(Spec):
    """A customer: credit-funded start-up, paying customer or internal team."""

    name: Name = Field(min_length=1)
    tenant_class: TenantClass = Field(alias="class")
    models: list[Name] = Field(
        min_length=1, description="GPU models its jobs may run on, most preferred first"
    )
    regions: list[Name] | None = Field(default=None, description="allowed regions; default all")
    workload: Workload | None = None
    campaigns: list[Campaign] = Field(default_factory=list)
    credit: CreditGrant | None = None
    patience: Patience | None = None
    lease: Lease | None = Field(default=None, description="for class 'wholesale' only")
    priority: int | None = Field(
        default=None, description="for the priority scheduler: lower runs first; default by class"
    )
    tier: Tier = Field(
        default="on_demand",
        description="contract tier: sets the price factor (market.tiers); 'spot' jobs only take "
        "idle GPUs and are preempted first",
    )
    placement: Literal["preference", "cost"] = Field(
        default="preference",
        description="which allowed pool a job tries first: 'models' order, or the lowest "
        "current price per unit of work",
    )
    reservation: Reservation | None = Field(
        default=None, description="GPUs held for this tenant under the 'quota' scheduler"
    )

    @field_validator("models", "regions")
    @classmethod
    def _each_once(cls, names: list[str] | None) -> list[str] | None:
        # A model listed twice would make the tenant's pools count twice wherever its usable
        # GPUs are summed (the expected wait it balks at, its credit ceiling).
        repeated = sorted({n for n in names or () if (names or []).count(n) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return names

    @model_validator(mode="after")
    def _credit_matches_class(self) -> Self:
        if self.tenant_class == "credit" and self.credit is None:
            raise ValueError("a tenant of class 'credit' needs a 'credit' grant")
        if self.tenant_class != "credit" and self.credit is not None:
            raise ValueError(f"a tenant of class '{self.tenant_class}' cannot hold a credit grant")
        if (self.tenant_class == "wholesale") != (self.lease is not None):
            raise ValueError("a 'lease' goes with class 'wholesale', and only with it")
        if self.tenant_class == "wholesale" and (self.workload or self.campaigns):
            raise ValueError("a wholesale tenant leases idle GPUs; it submits no jobs")
        return self


def _preset_causes(value: Any) -> Any:
    from planner.presets import LLAMA3_FAILURE_CAUSES

    if value == "llama3":
        return dict(LLAMA3_FAILURE_CAUSES)
    if isinstance(value, str):
        raise ValueError(f"unknown failure-cause preset '{value}'; presets: llama3")
    return value


class FixedCheckpoint(Spec):
    """Checkpoint every ``interval_min`` minutes of progress (15-30 min is common at scale:
    domain.md §5c)."""

    kind: Literal["fixed"] = "fixed"
    interval_min: PositiveFloat = 30.0


class YoungDalyCheckpoint(Spec):
    """Checkpoint at the Young/Daly optimum, sqrt(2 x write time x the job's MTBF), where the
    job's MTBF falls with the nodes it holds (domain.md §5c)."""

    kind: Literal["young_daly"] = "young_daly"
    write_min: PositiveFloat = Field(default=2.0, description="time to write one checkpoint")


Checkpoint = Annotated[FixedCheckpoint | YoungDalyCheckpoint, Field(discriminator="kind")]


class Failures(Spec):
    """Node failures under load: each node fails at a constant rate and goes to repair.

    A job on a failed node loses the work since its last checkpoint, pays a restart overhead
    and goes back to the head of the queue. Spare nodes, held back from scheduling, replace a
    failed node at once; the repaired node becomes a spare.
    """

    node_per_1000_node_days: NonNegativeFloat = Field(
        default=5.0,
        le=1000.0,
        description="domain.md §5a/§8: 3.8 (Llama 3), 6.5 (Meta RSC-1), ~16 (OPT on cloud "
        "A100); at most 1,000, every node failing once a day",
    )
    repair_days: Distribution = Field(
        default_factory=lambda: Exponential.model_validate({"mean": 3.0}),
        description="domain.md §5c/§8: 3 days; 1 with on-site spares, up to 14 business days RMA",
    )
    checkpoint: Checkpoint = Field(default_factory=FixedCheckpoint)
    restart_min: NonNegativeFloat = Field(
        default=10.0, description="domain.md §5c/§8: 2.5 (FlashRecovery) to 120 (manual)"
    )
    spare_fraction: float = Field(
        default=0.0, ge=0.0, le=0.5, description="domain.md §5c: 5% (Delta), ~10% (OPT)"
    )
    causes: Annotated[dict[Name, PositiveFloat] | None, BeforeValidator(_preset_causes)] = Field(
        default=None,
        description="relative weights of failure causes, each failure drawing one; the preset "
        "'llama3' is the Llama 3 405B table (domain.md §5b)",
    )


class FifoScheduler(Spec):
    """Strict first-in-first-out: while the head job cannot start, no job starts."""

    kind: Literal["fifo"] = "fifo"


def _default_class_order() -> list[TenantClass]:
    return ["paying", "credit", "internal", "wholesale"]


class PriorityScheduler(Spec):
    """Strict priority: jobs start by their tenant's priority level, first in first out within
    a level. While the head of the highest waiting level cannot start, no job starts.

    A tenant's level is its ``priority`` if set, else its class's position in ``class_order``
    (first = highest). With ``aging_h``, a waiting job climbs one level per ``aging_h`` waited,
    so low levels are not starved. With ``preempt``, a blocked head stops running jobs of lower
    levels (latest started first) when that makes room; they lose their work since their last
    checkpoint.
    """

    kind: Literal["priority"] = "priority"
    class_order: list[TenantClass] = Field(
        default_factory=_default_class_order,
        description="tenant classes from highest priority to lowest",
    )
    aging_h: PositiveFloat | None = Field(
        default=None, description="hours of waiting that raise a job one level; default off"
    )
    preempt: bool = Field(default=False, description="a blocked head may preempt lower levels")


class ExactEstimate(Spec):
    """Runtime estimates equal true runtimes."""

    kind: Literal["exact"] = "exact"


class NoisyEstimate(Spec):
    """Each job's estimate is its true runtime times a factor drawn uniformly from
    [1, ``max_factor``]: users ask for more time than they need, never less."""

    kind: Literal["noisy"] = "noisy"
    max_factor: float = Field(default=3.0, ge=1.0)


RuntimeEstimate = Annotated[ExactEstimate | NoisyEstimate, Field(discriminator="kind")]


class BackfillScheduler(Spec):
    """EASY backfilling over a FIFO queue.

    The head job holds a reservation: the earliest time and nodes it can start on, given the
    running jobs' estimated ends. A later job may start now only if it does not delay that
    reservation: it ends (by its estimate) before the reservation begins, or it uses none of
    the reserved nodes.
    """

    kind: Literal["backfill"] = "backfill"
    estimate: RuntimeEstimate = Field(default_factory=ExactEstimate)
    max_scan: PositiveInt | None = Field(
        default=100,
        description="jobs looked at per scheduling pass, the head included; null for the whole "
        "queue. A pass runs at every arrival and completion, as Slurm's event-triggered "
        "scheduling does, which looks at 100 jobs by default (default_queue_depth); Microsoft "
        "HPC Pack's backfill looks ahead 1,000",
    )


class QuotaScheduler(Spec):
    """Tenants' ``reservation``s are honoured: a tenant's jobs within its reserved GPUs go first
    and start on its reserved pool; the rest share what is left, first in first out.

    With ``lend``, reserved GPUs a tenant is not using may run other jobs; with ``reclaim``
    too, the owner takes them back by preempting those jobs (latest started first).
    """

    kind: Literal["quota"] = "quota"
    lend: bool = True
    reclaim: bool = True


Scheduler = Annotated[
    FifoScheduler | PriorityScheduler | BackfillScheduler | QuotaScheduler,
    Field(discriminator="kind"),
]


WithinPool = Literal["spread", "pack"]


class PoolPlacement(Spec):
    """How jobs are spread over the cohorts of one pool (a GPU model in a region)."""

    model: Name
    region: Name
    within_pool: WithinPool


class Placement(Spec):
    """How jobs are placed on GPUs beyond the per-pool best fit."""

    capped_nvlink_multinode_throughput: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="throughput factor for jobs spanning nodes of a capped-NVLink model (A800, "
        "H800); domain.md §8: 0.85-1.0 for communication-bound jobs",
    )
    within_pool: WithinPool = Field(
        default="spread",
        description="how jobs are spread over the cohorts of one pool (model and region): "
        "'spread' places each job of at most one node in the cohort with the lowest share of "
        "its GPUs busy where it fits (best fit inside it), so identical cohorts are used "
        "alike; 'pack' places it by best fit over the whole pool, ties to the cohort "
        "installed first; jobs spanning nodes are placed as under 'pack' either way",
    )
    pools: list[PoolPlacement] = Field(
        default_factory=list, description="pools that take another 'within_pool' rule"
    )

    def within(self, model: str, region: str) -> WithinPool:
        """The rule of the pool of ``model`` in ``region``."""
        for pool in self.pools:
            if pool.model == model and pool.region == region:
                return pool.within_pool
        return self.within_pool


class RunningJob(Spec):
    """A job running at time zero, on a given pool, with the work it has left."""

    tenant: Name
    gpus: PositiveInt
    model: Name
    region: Name
    remaining_work_gpu_h: PositiveFloat = Field(description="reference-GPU-hours left")


class QueuedJob(Spec):
    """A job waiting at time zero."""

    tenant: Name
    gpus: PositiveInt
    work_gpu_h: PositiveFloat
    waiting_h: NonNegativeFloat = Field(default=0.0, description="how long it has waited so far")


class InitialState(Spec):
    """The fleet's state at time zero: the jobs running and the queue, oldest first."""

    running: list[RunningJob] = Field(default_factory=list)
    queue: list[QueuedJob] = Field(default_factory=list)


class ServiceLevels(Spec):
    """The service each tenant class is promised: reports draw it, and planning queries hold a
    class's p95 wait to it when no other target is given."""

    wait_p95_h: dict[TenantClass, PositiveFloat] = Field(
        default_factory=dict,
        description="p95 wait from submission to start, in hours, by tenant class",
    )


class InternalTransfer(Spec):
    """The price at which internal tenants' GPU-hours are valued: a share of the list price
    they would have paid, or a fixed price per GPU-hour. Give exactly one."""

    share_of_list: float | None = Field(
        default=None, gt=0.0, description="factor on the cohort's list price (1.0 = list)"
    )
    usd_per_gpu_h: PositiveFloat | None = Field(default=None, description="USD per GPU-hour")

    @model_validator(mode="after")
    def _one_price(self) -> Self:
        if (self.share_of_list is None) == (self.usd_per_gpu_h is None):
            raise ValueError("give exactly one of 'share_of_list' and 'usd_per_gpu_h'")
        return self


class Sale(Spec):
    """A decision to sell cohort ``cohort`` on ``date`` at its resale value."""

    cohort: Name = Field(description="a fleet cohort's name, or an order's (or tranche's)")
    date: date


class Finance(Spec):
    """How cash flows are valued: the cost of capital, tax, internal use and sale decisions.

    Cash flows are revenue (and lease and, if counted, internal value) less opex, less capex at
    acquisition, plus resale at exit, less tax; see :mod:`planner.analysis.finance`.
    """

    cost_of_capital: float = Field(
        default=0.10,
        ge=0.0,
        lt=1.0,
        description="annual discount rate; assumption: 10%, as domain.md gives no cost of "
        "capital for a cloud provider",
    )
    tax_rate: float = Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="tax on profit after depreciation and on resale gains over book value; "
        "ignored unless given",
    )
    internal_transfer: InternalTransfer | None = Field(
        default=None, description="value of internal tenants' GPU-hours; default none ($0)"
    )
    internal_in_payback: bool = Field(
        default=False,
        description="count internal value in net cash flows, NPV, IRR and paybacks",
    )
    sell: list[Sale] = Field(
        default_factory=list,
        description="dated sales: the cohort leaves service then (its running jobs finish, as "
        "at a retirement) and realises its resale value; its cash flows end",
    )

    @model_validator(mode="after")
    def _each_cohort_sold_once(self) -> Self:
        names = [sale.cohort for sale in self.sell]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"cohorts sold more than once: {', '.join(twice)}")
        return self


class Directive(Spec):
    """A state directive: from ``date`` until ``until``, ``share`` of the GPUs of ``model`` in
    ``region`` is held for ``tenants``.

    It is carried out through reservations (see :mod:`planner.scenario.directives`): each named
    tenant gets an even part of the share, in whole nodes, of the pool's GPUs installed by
    ``date``; so it needs the ``quota`` scheduler, which enforces reservations.
    """

    preset: Name | None = Field(
        default=None,
        description="a built-in directive (planner.presets) giving the fields left out: "
        "beijing-agi-2023",
    )
    name: Name = Field(min_length=1)
    # CalendarDate: the field named "date" shadows the type inside the class body.
    date: CalendarDate = Field(description="in force from this date, inside the horizon")
    until: CalendarDate | None = Field(
        default=None, description="in force until this date (exclusive); default the horizon's end"
    )
    region: Name
    model: Name
    share: float = Field(gt=0.0, le=1.0, description="share of the pool's GPUs held")
    tenants: list[Name] = Field(
        min_length=1, description="tenants it holds GPUs for, the share split evenly among them"
    )
    source: str = Field(
        min_length=1, description="where the directive comes from, or that it is an assumption"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_preset(cls, data: Any) -> Any:
        """Fields the entry leaves out come from its preset; the scenario gives the pool and
        the tenants, and may override any of the preset's fields."""
        from planner.presets import DIRECTIVES

        if not isinstance(data, dict) or data.get("preset") is None:
            return data
        preset = DIRECTIVES.get(data["preset"])
        if preset is None:
            raise ValueError(
                f"unknown directive preset '{data['preset']}'; presets: {', '.join(DIRECTIVES)}"
            )
        return {**preset, **data}


class Scenario(Spec):
    """A whole planning scenario: fleet, supply, market, demand and scheduling over a horizon."""

    name: Name = Field(min_length=1)
    description: str = ""
    start: date
    horizon_days: PositiveInt = Field(description="whole days simulated from 'start'")
    regions: list[Region] = Field(min_length=1)
    fleet: list[Cohort] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    export_controls: Annotated[list[ExportControl], BeforeValidator(_preset_controls)] = Field(
        default_factory=list,
        description="entries, or preset names: bis-2022-10, bis-2023-10, h20-2025-04, h20-2025-07",
    )
    market: Market = Field(default_factory=Market)
    tenants: list[Tenant] = Field(min_length=1)
    scheduler: Scheduler = Field(default_factory=FifoScheduler)
    placement: Placement = Field(default_factory=Placement)
    initial_state: InitialState = Field(
        default_factory=InitialState, description="running jobs and queue at time zero"
    )
    failures: Failures | None = Field(default=None, description="off unless given")
    directives: list[Directive] = Field(
        default_factory=list,
        description="dated state directives holding a share of a pool for named tenants, "
        "carried out as reservations under the 'quota' scheduler; entries may name a 'preset' "
        "(beijing-agi-2023)",
    )
    slo: ServiceLevels = Field(default_factory=ServiceLevels)
    finance: Finance = Field(
        default_factory=Finance,
        description="cost of capital, tax, internal transfer price and sale decisions",
    )
    engine: Literal["auto", "reference", "fast"] = Field(
        default="auto",
        description="engine that runs it: 'fast' (compiled) or 'reference' (SimPy); 'auto' "
        "takes the fast one when it supports the scenario and warns when it cannot",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        from planner.scenario.checks import raise_if_inconsistent

        raise_if_inconsistent(self)
        return self

    @property
    def end(self) -> date:
        """The horizon's end date."""
        return self.start + timedelta(days=self.horizon_days)

    @property
    def horizon_h(self) -> float:
        return self.horizon_days * HOURS_PER_DAY

    def hours_since_start(self, day: date) -> float:
        """Simulation time (hours) of midnight on ``day``; negative before the start."""
        return (day - self.start).days * HOURS_PER_DAY

    def region(self, name: str) -> Region:
        return next(r for r in self.regions if r.name == name)

    def cohort_names(self) -> list[str]:
        """Each fleet cohort's name, defaulting to MODEL-REGION-INDEX."""
        return [c.name or f"{c.model}-{c.region}-{i}" for i, c in enumerate(self.fleet)]

    def order_names(self) -> list[str]:
        """Each order's name, defaulting to order-MODEL-INDEX."""
        return [o.name or f"order-{o.model}-{j}" for j, o in enumerate(self.orders)]

    def sale_h(self, cohort: str) -> float:
        """When ``cohort`` is sold (``finance.sell``), in hours since the start; ``inf`` if never.

        A sale naming an order sells every tranche of it (``NAME-tK``).
        """
        tranches = {
            f"{name}-t{k + 1}": name
            for order, name in zip(self.orders, self.order_names(), strict=True)
            if order.tranches > 1
            for k in range(order.tranches)
        }
        for sale in self.finance.sell:
            if sale.cohort in (cohort, tranches.get(cohort)):
                return self.hours_since_start(sale.date)
        return math.inf

    def reservations(self) -> list[Reservation | None]:
        """Each tenant's reservation, in tenant order: its own, or the one a directive holds
        for it (see :mod:`planner.scenario.directives`)."""
        from planner.scenario.directives import expand

        held = {holding.tenant: holding.reservation for holding in expand(self)}
        return [t.reservation or held.get(t.name) for t in self.tenants]

    def node_gpus(self, tenant: Tenant) -> int:
        """Node size used to round a tenant's multi-node jobs up to whole nodes.

        The smallest ``gpus_per_node`` among the regions the tenant may use, so a rounded job
        fits every region it is allowed in.
        """
        allowed = [r for r in self.regions if tenant.regions is None or r.name in tenant.regions]
        return min(r.gpus_per_node for r in allowed or self.regions)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A validated copy with dotted-path fields replaced.

        Paths address list items by index or by ``name``: ``fleet.0.gpus``,
        ``tenants.moonshot.credit.amount_usd``.
        """
        from planner.scenario.overrides import apply_overrides

        return apply_overrides(self, overrides)
