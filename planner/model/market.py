"""Price curves and operating costs: what a GPU-hour of each model earns and costs over time.

A model's list price declines continuously at its annual rate and steps at dated events:
successor launches and provider price cuts (down), scarcity premiums after an export ban (up,
then back down when the premium ends). The price given in the scenario is the price at its
``as_of`` date with every earlier event already in it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from planner.catalog import gpu_model
from planner.scenario.schema import HOURS_PER_DAY, HOURS_PER_YEAR, Scenario

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PriceStep:
    """From ``t_h`` on, the price is multiplied by ``factor`` and, if ``rate_per_h`` is given,
    declines at that continuous rate instead."""

    t_h: float
    factor: float
    label: str = ""
    rate_per_h: float | None = None


@dataclass(frozen=True)
class PriceCurve:
    """List price per GPU-hour: exponential decline between dated steps.

    At ``t0`` the price is ``p0`` and declines at ``rate_per_h``; a step multiplies the price and
    may change the rate from its time on. ``steps`` may fall before or after ``t0``: the curve is
    built outwards from ``t0``, so the price at ``t0`` is ``p0`` either way. Piece j (between
    steps) has price ``q[j] * exp(-k[j] * (t - anchor[j]))``.
    """

    usd_per_gpu_h_at_t0: float
    t0_h: float
    rate_per_h: float
    steps: tuple[PriceStep, ...] = ()
    _times: FloatArray = field(init=False, repr=False, compare=False)
    _q: FloatArray = field(init=False, repr=False, compare=False)
    _anchor: FloatArray = field(init=False, repr=False, compare=False)
    _k: FloatArray = field(init=False, repr=False, compare=False)
    _pieces: list[tuple[float, float, float, float, float]] = field(
        init=False, repr=False, compare=False
    )
    _times_list: list[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.steps, key=lambda s: s.t_h)
        times = [s.t_h for s in ordered]
        n = len(ordered) + 1
        k = [self.rate_per_h] * n
        for j, step in enumerate(ordered):
            k[j + 1] = step.rate_per_h if step.rate_per_h is not None else k[j]
        q, anchor = [0.0] * n, [0.0] * n
        home = bisect_right(times, self.t0_h)
        q[home], anchor[home] = self.usd_per_gpu_h_at_t0, self.t0_h
        for j in range(home + 1, n):  # forwards: each piece starts where the last one ended
            start = times[j - 1]
            q[j] = q[j - 1] * math.exp(-k[j - 1] * (start - anchor[j - 1])) * ordered[j - 1].factor
            anchor[j] = start
        for j in range(home - 1, -1, -1):  # backwards: undo the step that ends this piece
            end = times[j]
            q[j] = q[j + 1] * math.exp(-k[j + 1] * (end - anchor[j + 1])) / ordered[j].factor
            anchor[j] = end
        starts, ends = [-math.inf, *times], [*times, math.inf]
        object.__setattr__(self, "_times", np.array(times, dtype=np.float64))
        object.__setattr__(self, "_times_list", times)
        object.__setattr__(self, "_q", np.array(q))
        object.__setattr__(self, "_anchor", np.array(anchor))
        object.__setattr__(self, "_k", np.array(k))
        object.__setattr__(self, "_pieces", list(zip(starts, ends, q, anchor, k, strict=True)))

    @classmethod
    def from_annual_decline(
        cls, usd: float, t0_h: float, annual_decline: float, steps: tuple[PriceStep, ...] = ()
    ) -> PriceCurve:
        return cls(usd, t0_h, continuous_rate_per_h(annual_decline), steps)

    def price(self, t_h: float) -> float:
        """Price per GPU-hour at time ``t_h``."""
        _, _, q, anchor, k = self._pieces[bisect_right(self._times_list, t_h)]
        return q * math.exp(-k * (t_h - anchor))

    def price_array(self, t_h: FloatArray) -> FloatArray:
        """:meth:`price` at each of ``t_h``."""
        j = np.searchsorted(self._times, t_h, side="right")
        return np.asarray(self._q[j] * np.exp(-self._k[j] * (t_h - self._anchor[j])))

    @property
    def step_times_h(self) -> FloatArray:
        """When the price steps."""
        return self._times.copy()

    def integral(self, a_h: float, b_h: float) -> float:
        """Revenue of one GPU held from ``a_h`` to ``b_h`` (USD); see :meth:`integral_array`.

        Plain Python on purpose: the event loop calls it once per credit draw.
        """
        if b_h <= a_h:
            return 0.0
        total = 0.0
        for start, end, q, anchor, k in self._pieces[bisect_right(self._times_list, a_h) :]:
            if start >= b_h:
                break
            lo, hi = max(a_h, start), min(b_h, end)
            width = hi - lo
            length = width if k == 0.0 else -math.expm1(-k * width) / k
            total += q * math.exp(-k * (lo - anchor)) * length
        return total

    def integral_array(self, a_h: FloatArray, b_h: FloatArray) -> FloatArray:
        """Revenue of one GPU over each stretch [a_h, b_h) (zero where ``b_h <= a_h``).

        Each stretch is cut at the steps and each piece integrated in closed form as
        ``p(lo) * (1 - exp(-k * width)) / k``, written with ``expm1`` so it stays exact as the
        decline rate k goes to zero.
        """
        a_h, b_h = np.broadcast_arrays(np.asarray(a_h, dtype=np.float64), np.maximum(a_h, b_h))
        a, b = a_h.ravel(), b_h.ravel()
        total = np.zeros(a.shape)
        for start, end, q, anchor, k in self._pieces:
            # Only the stretches of some length that overlap the piece: the others gain nothing.
            overlap = (a < end) & (b > start) & (b > a)
            at: slice | NDArray[np.intp]
            if overlap.all():  # every stretch: a view of them all rather than a copy
                at = slice(None)
            else:
                at = np.flatnonzero(overlap)
                if not len(at):
                    continue
            lo = np.clip(a[at], start, end)
            width = np.clip(b[at], start, end) - lo
            length = width if k == 0.0 else -np.expm1(-k * width) / k
            total[at] += q * np.exp(-k * (lo - anchor)) * length
        return total.reshape(a_h.shape)

    def first_below(self, level_usd: float) -> float:
        """When the price first falls below ``level_usd`` (``inf``: never; ``-inf``: always)."""
        if level_usd <= 0.0:
            return math.inf
        for start, end, q, anchor, k in self._pieces:
            if k == 0.0:
                if q < level_usd:
                    return start
                continue
            crossing = anchor + math.log(q / level_usd) / k
            if crossing < end:
                return max(crossing, start)
        return math.inf


def continuous_rate_per_h(annual_decline: float) -> float:
    """The continuous rate at which a price falls by ``annual_decline`` a year."""
    return -math.log1p(-annual_decline) / HOURS_PER_YEAR


@dataclass(frozen=True)
class CohortPrice:
    """What one GPU of a cohort earns per hour: its model's list price, except that a cohort
    kept in service at a floor earns ``floor_usd_per_gpu_h`` once it is obsolete. (A retired
    cohort takes no new jobs; the ones still running pay list price until they end.)

    A cohort is obsolete when its list price first falls below its operating cost, or at the
    end of its service life, whichever comes first.
    """

    curve: PriceCurve
    opex_usd_per_gpu_h: float
    obsolete_at_h: float
    floor_usd_per_gpu_h: float | None  # None: the cohort is retired when obsolete

    def integral(self, a_h: float, b_h: float) -> float:
        """Revenue of one GPU of this cohort held from ``a_h`` to ``b_h`` (USD)."""
        if self.floor_usd_per_gpu_h is None:
            return self.curve.integral(a_h, b_h)
        obsolete = self.obsolete_at_h
        earned = self.curve.integral(a_h, min(b_h, obsolete))
        if b_h > obsolete:
            earned += self.floor_usd_per_gpu_h * (b_h - max(a_h, obsolete))
        return earned

    def integral_array(self, a_h: FloatArray, b_h: FloatArray) -> FloatArray:
        """:meth:`integral` over arrays of stretches."""
        if self.floor_usd_per_gpu_h is None:
            return self.curve.integral_array(a_h, b_h)
        obsolete = self.obsolete_at_h
        earned = self.curve.integral_array(a_h, np.minimum(b_h, obsolete))
        floor = self.floor_usd_per_gpu_h * np.maximum(0.0, b_h - np.maximum(a_h, obsolete))
        return np.asarray(earned + floor, dtype=np.float64)


class Market:
    """Price curve and default operating cost of every GPU model in a scenario."""

    def __init__(self, sc: Scenario) -> None:
        self._sc = sc
        self._curves: dict[str, PriceCurve] = {}

    def cohort_price(
        self, model: str, in_service_h: float, opex_usd_per_gpu_h: float | None
    ) -> CohortPrice:
        """Pricing of a cohort of ``model`` in service from ``in_service_h``."""
        m = self._sc.market
        curve = self.curve(model)
        opex = opex_usd_per_gpu_h
        if opex is None:
            opex = self.opex_usd_per_gpu_h(model)
        end_of_life = in_service_h + m.service_life_years * HOURS_PER_YEAR
        obsolete = max(in_service_h, min(curve.first_below(opex), end_of_life))
        floor = m.floor_usd_per_gpu_h if m.at_obsolescence == "floor" else None
        return CohortPrice(curve, opex, obsolete, floor)

    def curve(self, model: str) -> PriceCurve:
        """The price curve of ``model``: the scenario's entry, else the catalogue's reference."""
        if model not in self._curves:
            entry = self._sc.market.prices.get(model)
            if entry is not None:
                as_of = entry.as_of or self._sc.start
                usd, decline = entry.usd_per_gpu_h, entry.annual_decline
            else:
                ref = gpu_model(model)
                as_of, usd = ref.ref_price_date, ref.ref_usd_per_gpu_h
                decline = self._sc.market.default_annual_decline
            t0 = self._sc.hours_since_start(as_of)
            self._curves[model] = PriceCurve.from_annual_decline(
                usd, t0, decline, self.steps(model)
            )
        return self._curves[model]

    def steps(self, model: str) -> tuple[PriceStep, ...]:
        """Every dated event that moves ``model``'s price, as multiplicative steps."""
        sc, m = self._sc, self._sc.market
        launched = gpu_model(model).launched
        steps = [
            PriceStep(
                sc.hours_since_start(s.date),
                1.0 - s.drop,
                f"launch of {s.name}",
                None
                if s.annual_decline_after is None
                else continuous_rate_per_h(s.annual_decline_after),
            )
            for s in m.successor_launches
            if (model in s.models if s.models is not None else launched < s.date)
        ]
        steps += [
            PriceStep(sc.hours_since_start(c.date), 1.0 - c.cut, c.name or f"cut on {c.date}")
            for c in m.price_cuts
            if c.models is None or model in c.models
        ]
        for event in sc.export_controls:
            if event.scarcity_premium > 0 and model in event.ban:
                begin = sc.hours_since_start(event.effective)
                end = begin + event.scarcity_days * HOURS_PER_DAY
                label = f"scarcity after {event.name or event.effective}"
                steps.append(PriceStep(begin, 1.0 + event.scarcity_premium, label))
                steps.append(PriceStep(end, 1.0 / (1.0 + event.scarcity_premium), label))
        return tuple(steps)

    def opex_usd_per_gpu_h(self, model: str) -> float:
        """Operating cost per GPU-hour: the scenario's figure, else power plus fixed costs."""
        entry = self._sc.market.prices.get(model)
        if entry is not None and entry.opex_usd_per_gpu_h is not None:
            return entry.opex_usd_per_gpu_h
        m = self._sc.market
        power_kw = gpu_model(model).tdp_w / 1000 * m.server_power_factor * m.pue
        return power_kw * m.power_usd_per_kwh + m.fixed_opex_usd_per_gpu_h
