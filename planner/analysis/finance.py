"""Cash flows and their value: net cash flow by month, NPV, IRR and payback dates.

A cohort's net cash flow is its revenue (jobs and lease; internal value at the transfer price
only when ``finance.internal_in_payback``) less opex and tax, less its capex at acquisition, plus
its resale value at exit. Its exit is the first of: a dated sale (``finance.sell``, which the
engine carries out as a retirement: the cohort takes no job after it), its retirement or
obsolescence (``market.at_obsolescence: retire``) and the end of its service life;
nothing it earns or costs after its exit counts. A cohort still in service at the horizon is
valued at its resale value then: its **terminal value**, counted in NPV and IRR, not in paybacks.

Conventions (times in hours since the scenario's start):

* Operating flows accrue evenly within each calendar month of the ledger, from the acquisition
  (in the month it falls in) up to the exit: of the month an exit falls in, the share before
  the exit counts.
  Capex falls at acquisition (at the start for a cohort acquired before it), resale at exit,
  terminal value at the horizon.
* Discounting is continuous at ``delta = ln(1 + cost_of_capital)`` per year: an amount at time t
  is worth ``exp(-delta t)`` at the start, and a month's even flow its mean of that over the month.
  This is monthly compounding at ``(1 + r) ** (1 / 12) - 1`` made exact within the month.
* Tax (``finance.tax_rate``, zero unless given) is levied on operating profit less straight-line
  depreciation over ``market.book_life_years``, and on resale (or terminal) value over book
  value; a loss is a credit against the group's other profit. Terminal value is shown before
  its tax and counts in NPV and IRR after it.
* Paybacks: the first time cumulative net cash (discounted, for the discounted payback) comes
  back to zero after the capex; ``NaT`` when that is not within the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from planner.analysis.columns import FloatArray, _sum_by
from planner.model.market import CohortPrice, Market
from planner.resale import ResaleCurve, resale_curve, resale_curves
from planner.scenario.schema import HOURS_PER_YEAR, Scenario

# Rates tried when looking for the IRR's bracket: -99% to +10,000% a year.
_IRR_GRID = np.r_[-0.99, -0.9, -0.75, -0.5, -0.25, np.geomspace(1e-4, 100.0, 60) - 1e-4]

FINANCE_COLUMNS = (
    "exit_at_h",
    "exit_reason",
    "resale_usd",
    "terminal_value_usd",
    "internal_value_usd",
    "tax_usd",
    "net_cash_flow_usd",
    "npv_usd",
    "irr_annual",
    "irr_note",
    "net_payback_date",
    "discounted_payback_date",
    "net_payback_date_with_internal",
)


@dataclass(frozen=True)
class Flows:
    """Cash flows as amounts spread evenly over [from_h, to_h] (an instant when equal)."""

    from_h: FloatArray
    to_h: FloatArray
    usd: FloatArray
    terminal: np.ndarray  # True for terminal value: in NPV and IRR, not in paybacks

    @staticmethod
    def concat(parts: list[Flows]) -> Flows:
        return Flows(
            np.concatenate([p.from_h for p in parts] or [np.zeros(0)]),
            np.concatenate([p.to_h for p in parts] or [np.zeros(0)]),
            np.concatenate([p.usd for p in parts] or [np.zeros(0)]),
            np.concatenate([p.terminal for p in parts] or [np.zeros(0, bool)]),
        )

    def present_value(self, annual_rate: float) -> float:
        """Value at the start of every flow, discounted at ``annual_rate``."""
        return float(np.sum(self.usd * discount_factor(self.from_h, self.to_h, annual_rate)))


def discount_factor(from_h: FloatArray, to_h: FloatArray, annual_rate: float) -> FloatArray:
    """Mean of ``(1 + annual_rate) ** -t`` over [from_h, to_h] (t in years); at from_h if equal."""
    delta = math.log1p(annual_rate) / HOURS_PER_YEAR
    a, b = np.asarray(from_h, dtype=np.float64), np.asarray(to_h, dtype=np.float64)
    width = b - a
    at_a = np.exp(-delta * a)
    if delta == 0.0:
        return np.ones_like(a)
    # (e^-da - e^-db) / (d (b - a)) = e^-da * (1 - e^-dw) / (d w), written with expm1 for small w.
    safe = np.where(width > 0, width, 1.0)
    spread = np.where(width > 0, -np.expm1(-delta * safe) / (delta * safe), 1.0)
    return np.asarray(at_a * spread, dtype=np.float64)


def irr_annual(flows: Flows) -> tuple[float, str]:
    """The annual rate at which the flows' present value is zero, and a note when there is none.

    The present value is evaluated on a grid from -99% to +10,000% a year; a single sign change
    is refined with Brent's method. No sign change, or more than one, gives NaN and says why.
    """
    if not np.any(flows.usd < 0):
        return math.nan, "no outflow: nothing was invested within the horizon"
    if not np.any(flows.usd > 0):
        return math.nan, "no inflow: the cohort returned nothing"
    values = np.array([flows.present_value(r) for r in _IRR_GRID])
    changes = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
    exact = np.flatnonzero(values == 0.0)
    if len(exact) and not len(changes):
        return float(_IRR_GRID[exact[0]]), ""
    if not len(changes):
        return math.nan, "no rate from -99% to +10,000% a year makes NPV zero"
    if len(changes) > 1:
        return math.nan, "several rates make NPV zero (the flows change sign more than once)"
    k = int(changes[0])
    root = brentq(flows.present_value, _IRR_GRID[k], _IRR_GRID[k + 1], xtol=1e-14, rtol=1e-14)
    return float(root), ""


def payback_h(flows: Flows, annual_rate: float | None) -> float:
    """First time cumulative net cash (discounted at ``annual_rate`` unless None) is back to zero
    after the first capex (else the first outflow); NaN if not within the flows. Terminal value
    does not count."""
    keep = ~flows.terminal
    a, b = flows.from_h[keep], flows.to_h[keep]
    rate = 0.0 if annual_rate is None else annual_rate
    value = flows.usd[keep] * discount_factor(a, b, rate)
    order = np.lexsort((b, a))  # an instant comes before a stretch that starts with it
    a, b, value = a[order], b[order], value[order]
    instant_out = np.flatnonzero((a == b) & (value < 0))
    any_out = np.flatnonzero(value < 0)
    if not len(any_out):
        return math.nan
    start = int(instant_out[0] if len(instant_out) else any_out[0])
    cumulative = np.cumsum(value)
    for i in range(start, len(value)):
        if cumulative[i] < 0:
            continue
        before = cumulative[i] - value[i]
        if before >= 0 or a[i] == b[i]:
            return float(a[i])
        return _crossing_h(a[i], b[i], value[i], -before, rate)
    return math.nan


def _crossing_h(a: float, b: float, value: float, needed: float, annual_rate: float) -> float:
    """When an even flow over [a, b] worth ``value`` at the start has earned ``needed`` of it."""
    if annual_rate == 0.0:
        return a + (b - a) * needed / value
    delta = math.log1p(annual_rate) / HOURS_PER_YEAR
    # value = u (e^-da - e^-db) / d for the flow's rate u; solve u (e^-da - e^-ds) / d = needed.
    total = math.exp(-delta * a) - math.exp(-delta * b)
    return -math.log(math.exp(-delta * a) - total * needed / value) / delta


@dataclass(frozen=True)
class CohortFinance:
    """One cohort's monthly cash flows (a table) and their present-value figures (a row)."""

    cash_flows: pd.DataFrame
    flows: Flows
    row: dict[str, object]


def exit_h(sc: Scenario, cohort: pd.Series) -> tuple[float, str]:
    """When and why a cohort leaves service (``inf`` and "" if after the horizon)."""
    end_of_life = float(cohort["acquired_h"]) + sc.market.service_life_years * HOURS_PER_YEAR
    candidates = [(sc.sale_h(str(cohort["cohort"])), "sold")]
    if sc.market.at_obsolescence == "retire":
        reason = "end of service life" if cohort["obsolete_at_h"] >= end_of_life else "obsolete"
        candidates.append((float(cohort["obsolete_at_h"]), reason))
    retired = float(cohort["retired_at_h"])
    candidates.append((retired if math.isfinite(retired) else math.inf, "retired"))
    candidates.append((end_of_life, "end of service life"))
    at, why = min(candidates, key=lambda c: c[0])
    at = max(at, float(cohort["acquired_h"]))
    return (at, why) if at < sc.horizon_h else (math.inf, "")


def cohort_finance(
    sc: Scenario,
    cohort: pd.Series,
    ledger: pd.DataFrame,
    internal_usd: FloatArray,
    resale: ResaleCurve,
    leaving: tuple[float, str] | None = None,
) -> CohortFinance:
    """Cash flows and figures of one cohort from its ``cohorts`` row and its ``ledger`` rows
    (one per month, in order); ``internal_usd`` is its internal value per month. ``leaving``
    (time, reason) replaces the cohort's own exit (:func:`exit_h`), to ask "what if it left
    then?" of the flows it had."""
    fin, horizon = sc.finance, sc.horizon_h
    t0, t1 = ledger["from_h"].to_numpy(float), ledger["to_h"].to_numpy(float)
    capex, acquired = float(cohort["capex_usd"]), float(cohort["acquired_h"])
    leaves_h, why = leaving if leaving is not None else exit_h(sc, cohort)
    # A month's flows accrue evenly over the part of it in service from acquisition: a cohort
    # acquired mid-month earns nothing in that month before it arrived.
    begins = np.minimum(np.maximum(t0, acquired), t1)
    width = t1 - begins
    safe = np.where(width > 0, width, 1.0)
    kept = np.where(width > 0, np.clip((leaves_h - begins) / safe, 0.0, 1.0), 0.0)
    ends = begins + kept * width
    revenue = kept * (
        ledger["revenue_usd"].to_numpy(float)
        + ledger["lease_revenue_usd"]
        + ledger["contract_revenue_usd"]
    )
    opex = kept * ledger["opex_usd"].to_numpy(float)
    internal = kept * internal_usd
    operating = revenue - opex + (internal if fin.internal_in_payback else 0.0)
    life_h = sc.market.book_life_years * HOURS_PER_YEAR

    def book_usd(t_h: float) -> float:
        return capex * min(1.0, max(0.0, 1.0 - (t_h - acquired) / life_h))

    depreciation = np.array([book_usd(a) - book_usd(b) for a, b in zip(begins, ends, strict=True)])
    tax = fin.tax_rate * (operating - depreciation)
    bought = acquired < horizon
    capex_at = max(acquired, 0.0)
    # Realised at exit (resale), or valued at the horizon (terminal), each net of its tax.
    resale_usd = terminal_usd = exit_tax = terminal_tax = 0.0
    if bought and math.isfinite(leaves_h):
        resale_usd = capex * resale.share(acquired, leaves_h)
        exit_tax = fin.tax_rate * (resale_usd - book_usd(leaves_h))
    elif bought:
        terminal_usd = capex * resale.share(acquired, horizon)
        terminal_tax = fin.tax_rate * (terminal_usd - book_usd(horizon))
    exit_at = leaves_h if math.isfinite(leaves_h) else horizon
    at_exit = resale_usd - exit_tax + terminal_usd - terminal_tax
    flows = Flows(
        np.r_[capex_at, begins, exit_at],
        np.r_[capex_at, ends, exit_at],
        np.r_[-capex if bought else 0.0, operating - tax, at_exit],
        np.r_[False, np.zeros(len(t0), bool), terminal_usd > 0],
    )
    capex_by_month = np.where((t0 <= capex_at) & (capex_at < t1), capex if bought else 0.0, 0.0)
    exit_month = (t0 <= exit_at) & (exit_at < t1)
    if not exit_month.any() and len(t0):  # the horizon: the last month's end
        exit_month[-1] = True
    net = operating - tax - capex_by_month + np.where(exit_month, resale_usd - exit_tax, 0.0)
    net_terminal = np.where(exit_month, terminal_usd, 0.0)
    factor = discount_factor(begins, ends, fin.cost_of_capital)
    cash_flows = pd.DataFrame(
        {
            "month": ledger["month"].to_numpy(),
            "from_h": t0,
            "to_h": t1,
            "cohort": cohort["cohort"],
            "gpu_model": cohort["gpu_model"],
            "region": cohort["region"],
            "revenue_usd": revenue,
            "internal_value_usd": internal,
            "opex_usd": opex,
            "capex_usd": capex_by_month,
            "resale_usd": np.where(exit_month, resale_usd, 0.0),
            "tax_usd": tax + np.where(exit_month, exit_tax, 0.0),
            "net_cash_flow_usd": net,
            "terminal_value_usd": net_terminal,
            "cumulative_net_cash_flow_usd": np.cumsum(net),
            "discount_factor": factor,
        }
    )
    irr, note = irr_annual(flows)
    # The cash payback with internal value counted, whatever finance.internal_in_payback says,
    # so both figures can be shown side by side.
    with_internal = flows
    if not fin.internal_in_payback and internal.any():
        extra = internal * (1.0 - fin.tax_rate)
        with_internal = Flows(
            flows.from_h, flows.to_h, flows.usd + np.r_[0.0, extra, 0.0], flows.terminal
        )
    row: dict[str, object] = {
        "exit_at_h": leaves_h,
        "exit_reason": why,
        "resale_usd": resale_usd,
        "terminal_value_usd": terminal_usd,
        "internal_value_usd": float(internal.sum()),
        "tax_usd": float(tax.sum()) + exit_tax,
        "net_cash_flow_usd": float(net.sum()),
        "npv_usd": flows.present_value(fin.cost_of_capital),
        "irr_annual": irr,
        "irr_note": note,
        "net_payback_date": _timestamp(sc, payback_h(flows, None)),
        "discounted_payback_date": _timestamp(sc, payback_h(flows, fin.cost_of_capital)),
        "net_payback_date_with_internal": _timestamp(sc, payback_h(with_internal, None)),
    }
    return CohortFinance(cash_flows, flows, row)


def _timestamp(sc: Scenario, t_h: float) -> pd.Timestamp:
    if not math.isfinite(t_h):
        return pd.Timestamp("NaT")
    return pd.Timestamp(datetime.combine(sc.start, time()) + timedelta(hours=t_h))


def internal_value_usd(
    sc: Scenario, cohorts: pd.DataFrame, runs: pd.DataFrame, jobs: pd.DataFrame, edges_h: FloatArray
) -> FloatArray:
    """Internal tenants' GPU-hours valued at ``finance.internal_transfer``, per cohort (rows of
    ``cohorts``) and month (between ``edges_h``); zeros without a transfer price."""
    out = np.zeros((len(cohorts), len(edges_h) - 1))
    transfer = sc.finance.internal_transfer
    if transfer is None or not len(runs):
        return out
    # Which runs are internal tenants', by a lookup per job id rather than a search, and each
    # cohort's among them by the runs' category codes: a string per run would cost more than
    # the sums.
    run_job = runs["job_id"].to_numpy()
    job_ids = jobs["job_id"].to_numpy()
    is_internal = np.zeros(max(int(job_ids.max(initial=-1)), int(run_job.max())) + 1, bool)
    is_internal[job_ids[(jobs["tenant_class"] == "internal").to_numpy()]] = True
    mine = np.flatnonzero(is_internal[run_job])
    cohort_of = runs["cohort"].astype("category").cat  # a table read back from CSV has strings
    code = cohort_of.codes.to_numpy()[mine]
    by_name = {str(name): k for k, name in enumerate(cohort_of.categories)}
    from_h, to_h = runs["from_h"].to_numpy(float)[mine], runs["to_h"].to_numpy(float)[mine]
    gpus = runs["gpus"].to_numpy(float)[mine]
    market = Market(sc)
    floor = sc.market.floor_usd_per_gpu_h if sc.market.at_obsolescence == "floor" else None
    for c, cohort in enumerate(cohorts.to_dict("records")):
        on = code == by_name.get(str(cohort["cohort"]), -2)
        if transfer.usd_per_gpu_h is not None:
            rate, value_of = transfer.usd_per_gpu_h, _hours
        else:
            price = CohortPrice(
                market.curve(str(cohort["gpu_model"])),
                float(cohort["opex_usd_per_gpu_h"]),
                float(cohort["obsolete_at_h"]),
                floor,
            )
            rate, value_of = transfer.share_of_list or 0.0, price.integral_array
        out[c] = rate * _by_period(from_h[on], to_h[on], gpus[on], edges_h, value_of)
    return out


def _hours(a_h: FloatArray, b_h: FloatArray) -> FloatArray:
    return np.asarray(b_h - a_h, dtype=np.float64)


def _by_period(
    from_h: FloatArray,
    to_h: FloatArray,
    gpus: FloatArray,
    edges_h: FloatArray,
    value_of: Callable[[FloatArray, FloatArray], FloatArray],
) -> FloatArray:
    """Σ gpus × value_of(stretch) of the runs ``[from_h, to_h)`` over each period between
    ``edges_h``: every run cut at the edges it crosses (most cross none), each piece valued
    once, and the pieces summed per period."""
    periods = len(edges_h) - 1
    a = np.clip(from_h, edges_h[0], edges_h[-1])
    b = np.clip(to_h, edges_h[0], edges_h[-1])
    keep = b > a
    a, b, gpus = a[keep], b[keep], gpus[keep]
    first = np.searchsorted(edges_h, a, side="right") - 1
    last = np.searchsorted(edges_h, b, side="left") - 1
    pieces = last - first + 1
    run = np.repeat(np.arange(len(a)), pieces)
    start = np.cumsum(pieces) - pieces
    period = first[run] + np.arange(len(run)) - start[run]
    lo = np.maximum(a[run], edges_h[period])
    hi = np.minimum(b[run], edges_h[period + 1])
    value = gpus[run] * value_of(lo, hi)
    return _sum_by(period, value, periods)[:periods]


@dataclass(frozen=True)
class FinanceResult:
    """Per-cohort figures (``FINANCE_COLUMNS`` and the horizon columns, one row per cohort, in
    the order of ``cohorts``), monthly cash flows per cohort, and the fleet's figures."""

    cohorts: pd.DataFrame
    cash_flows: pd.DataFrame
    fleet: dict[str, object]


def finance(
    sc: Scenario,
    cohorts: pd.DataFrame,
    ledger: pd.DataFrame,
    runs: pd.DataFrame,
    jobs: pd.DataFrame,
    curves: Mapping[str, ResaleCurve] | None = None,
) -> FinanceResult:
    """Cash flows, NPV, IRR and paybacks of every cohort and of the fleet, from a run's tables.

    ``curves`` gives each GPU model's resale curve (default: :func:`planner.resale.resale_curves`).
    """
    models = [str(m) for m in cohorts["gpu_model"]] if len(cohorts) else []
    curves = curves if curves is not None else resale_curves(sc, models)
    months = ledger.drop_duplicates("month").sort_values("from_h")
    edges_h = np.r_[months["from_h"].to_numpy(float), months["to_h"].to_numpy(float)[-1:]]
    if not len(months):  # no cohort, no ledger
        edges_h = np.array([0.0, sc.horizon_h])
    internal = internal_value_usd(sc, cohorts, runs, jobs, edges_h)
    rows, tables, all_flows = [], [], []
    for c, (_, cohort) in enumerate(cohorts.iterrows()):
        mine = ledger[ledger["cohort"].astype(str) == str(cohort["cohort"])].sort_values("from_h")
        result = cohort_finance(sc, cohort, mine, internal[c], curves[str(cohort["gpu_model"])])
        rows.append(
            {**result.row, **_to_obsolescence(sc, cohort), **_with_internal(cohort, result.row)}
        )
        tables.append(result.cash_flows)
        all_flows.append(result.flows)
    figures = pd.DataFrame(
        rows, columns=[*FINANCE_COLUMNS, *HORIZON_COLUMNS, "payback_with_internal"]
    )
    for column in ("net_payback_date", "discounted_payback_date", "net_payback_date_with_internal"):
        # Millisecond dates, as Parquet reads them back.
        figures[column] = figures[column].astype("datetime64[ms]")
    cash_flows = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    flows = Flows.concat(all_flows)
    irr, note = irr_annual(flows)
    fleet: dict[str, object] = {
        key: float(figures[key].sum())
        for key in (
            "resale_usd",
            "terminal_value_usd",
            "internal_value_usd",
            "tax_usd",
            "net_cash_flow_usd",
        )
    }
    fleet |= {
        "npv_usd": flows.present_value(sc.finance.cost_of_capital),
        "irr_annual": irr,
        "irr_note": note,
        "net_payback_date": _timestamp(sc, payback_h(flows, None)),
        "discounted_payback_date": _timestamp(sc, payback_h(flows, sc.finance.cost_of_capital)),
    }
    return FinanceResult(figures, cash_flows, fleet)


HORIZON_COLUMNS = ("monetised_to", "remaining_service_life_years")


def _with_internal(cohort: pd.Series, row: Mapping[str, object]) -> dict[str, float]:
    """Gross payback with internal use at its transfer price counted beside revenue: (revenue
    before obsolescence + lease + internal value to exit) / capex."""
    capex = float(cohort["capex_usd"])
    earned = (
        float(cohort["revenue_before_obsolescence_usd"])
        + float(cohort["lease_revenue_usd"])
        + float(cohort["contract_revenue_usd"])
    )
    internal = float(row["internal_value_usd"])  # type: ignore[arg-type]
    return {"payback_with_internal": (earned + internal) / capex if capex else math.nan}


def _to_obsolescence(sc: Scenario, cohort: pd.Series) -> dict[str, object]:
    """Whether a cohort's value is measured to its obsolescence (inside the horizon) or only to
    the horizon, and then the service life it has left (to obsolescence or end of life)."""
    obsolete = float(cohort["obsolete_at_h"])
    if obsolete < sc.horizon_h:
        return {"monetised_to": "obsolescence", "remaining_service_life_years": 0.0}
    left = (obsolete - max(sc.horizon_h, float(cohort["acquired_h"]))) / HOURS_PER_YEAR
    return {"monetised_to": "horizon", "remaining_service_life_years": left}


def finance_summary(
    sc: Scenario,
    cohorts: pd.DataFrame,
    ledger: pd.DataFrame,
    runs: pd.DataFrame,
    jobs: pd.DataFrame,
    computed: FinanceResult | None = None,
) -> dict[str, object]:
    """Headline keys of the cash flows (fleet and ``.<cohort>``) and of value monetised to
    obsolescence (cohorts obsolete inside the horizon) apart from value to the horizon (the rest).

    ``computed`` is :func:`finance` of these same tables when the caller has it already (the
    run's tables carry it): the cash flows are the costliest part of a summary.
    """
    result = computed if computed is not None else finance(sc, cohorts, ledger, runs, jobs)
    figures = result.cohorts
    out: dict[str, object] = {}
    for key in ("npv_usd", "irr_annual", "resale_usd", "terminal_value_usd"):
        out[key] = result.fleet[key]
    for key in ("internal_value_usd", "tax_usd", "net_cash_flow_usd"):
        out[key] = result.fleet[key]
    for key in ("net_payback_date", "discounted_payback_date"):
        out[key] = _iso(result.fleet[key])
    earned, capex = np.zeros(0), np.zeros(0)
    if len(cohorts):
        earned = (
            cohorts["revenue_before_obsolescence_usd"]
            + cohorts["lease_revenue_usd"]
            + cohorts["contract_revenue_usd"]
        ).to_numpy(float)
        capex = cohorts["capex_usd"].to_numpy(float)
    to = figures["monetised_to"].to_numpy()
    for scope in ("obsolescence", "horizon"):
        mine = to == scope
        spent = float(capex[mine].sum())
        out[f"cohorts_monetised_to_{scope}"] = int(mine.sum())
        out[f"capex_monetised_share_to_{scope}"] = (
            float(earned[mine].sum()) / spent if spent else math.nan
        )
    names = [str(name) for name in cohorts["cohort"]] if len(cohorts) else []
    for name, row in zip(names, figures.to_dict("records"), strict=True):
        for key in (
            "npv_usd",
            "irr_annual",
            "internal_value_usd",
            "payback_with_internal",
            "remaining_service_life_years",
        ):
            out[f"{key}.{name}"] = float(row[key])
        for key in (
            "net_payback_date",
            "discounted_payback_date",
            "net_payback_date_with_internal",
        ):
            out[f"{key}.{name}"] = _iso(row[key])
    return out


def _iso(stamp: object) -> str | None:
    """A date as ``YYYY-MM-DD``; None for NaT."""
    if not isinstance(stamp, pd.Timestamp):  # NaT is not a Timestamp
        return None
    return stamp.date().isoformat()


EXIT_CURVE_COLUMNS = ("exit_date", "exit_at_h", "exit", "age_years", "resale_usd", "npv_usd")


def exit_curve(
    sc: Scenario,
    cohorts: pd.DataFrame,
    ledger: pd.DataFrame,
    runs: pd.DataFrame,
    jobs: pd.DataFrame,
    cohort: str,
) -> pd.DataFrame:
    """One cohort's NPV against the time it is sold: at its acquisition (or the start), at the
    first of each calendar month after it, and kept to its own exit (or the horizon, at its
    terminal value) as the last row.

    Until the sale the cohort earns what it earned in the run (its utilisation, prices and
    opex as simulated); at the sale it realises its resale value (:mod:`planner.resale`) and
    nothing after counts. One row per exit time, in order, columns ``EXIT_CURVE_COLUMNS``.
    """
    mine = cohorts[cohorts["cohort"].astype(str) == cohort]
    row = mine.iloc[0]
    months = ledger.drop_duplicates("month").sort_values("from_h")
    edges_h = np.r_[months["from_h"].to_numpy(float), months["to_h"].to_numpy(float)[-1:]]
    flows = ledger[ledger["cohort"].astype(str) == cohort].sort_values("from_h")
    internal = internal_value_usd(sc, mine, runs, jobs, edges_h)[0]
    curve = resale_curve(sc, str(row["gpu_model"]))
    acquired = float(row["acquired_h"])
    natural_h, why = exit_h(sc, row)
    end_h = natural_h if math.isfinite(natural_h) else sc.horizon_h
    first = max(acquired, 0.0)
    times = [first, *(t for t in months["from_h"].to_numpy(float) if first < t < end_h)]
    rows = []
    for t_h in times:
        sold = cohort_finance(sc, row, flows, internal, curve, leaving=(t_h, "sold")).row
        rows.append((t_h, "sold", sold["resale_usd"], sold["npv_usd"]))
    kept = cohort_finance(sc, row, flows, internal, curve).row
    value = float(kept["resale_usd"]) + float(kept["terminal_value_usd"])  # type: ignore[arg-type]
    rows.append((end_h, f"kept: {why}" if why else "kept to the horizon", value, kept["npv_usd"]))
    return pd.DataFrame(
        {
            "exit_date": [_timestamp(sc, r[0]) for r in rows],
            "exit_at_h": [r[0] for r in rows],
            "exit": [r[1] for r in rows],
            "age_years": [max(0.0, r[0] - acquired) / HOURS_PER_YEAR for r in rows],
            "resale_usd": [float(r[2]) for r in rows],  # type: ignore[arg-type]
            "npv_usd": [float(r[3]) for r in rows],  # type: ignore[arg-type]
        },
        columns=EXIT_CURVE_COLUMNS,
    )
