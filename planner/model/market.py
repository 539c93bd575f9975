"""Price curves and operating costs: what a GPU-hour of each model earns and costs over time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.catalog import gpu_model
from planner.scenario.schema import HOURS_PER_YEAR, Scenario

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PriceCurve:
    """List price per GPU-hour, declining continuously: ``p(t) = p0 * exp(-rate * (t - t0))``.

    ``rate_per_h`` is the continuous rate equivalent to the scenario's annual decline.
    """

    usd_per_gpu_h_at_t0: float
    t0_h: float
    rate_per_h: float

    @classmethod
    def from_annual_decline(cls, usd: float, t0_h: float, annual_decline: float) -> PriceCurve:
        return cls(usd, t0_h, -math.log1p(-annual_decline) / HOURS_PER_YEAR)

    def price(self, t_h: float) -> float:
        """Price per GPU-hour at time ``t_h``."""
        return self.usd_per_gpu_h_at_t0 * math.exp(-self.rate_per_h * (t_h - self.t0_h))

    def integral(self, a_h: float, b_h: float) -> float:
        """Revenue of one GPU held from ``a_h`` to ``b_h`` (USD)."""
        if b_h <= a_h:
            return 0.0
        if self.rate_per_h == 0.0:
            return self.usd_per_gpu_h_at_t0 * (b_h - a_h)
        k = self.rate_per_h
        return (self.price(a_h) - self.price(b_h)) / k

    def integral_array(self, a_h: FloatArray, b_h: FloatArray) -> FloatArray:
        """:meth:`integral` over arrays of stretches (zero where ``b_h <= a_h``)."""
        b_h = np.maximum(a_h, b_h)
        p0, t0, k = self.usd_per_gpu_h_at_t0, self.t0_h, self.rate_per_h
        if k == 0.0:
            return p0 * (b_h - a_h)
        return np.asarray(p0 * (np.exp(-k * (a_h - t0)) - np.exp(-k * (b_h - t0))) / k)

    def first_below(self, level_usd: float) -> float:
        """The first time the price falls below ``level_usd`` (``inf`` if it never does)."""
        if level_usd <= 0.0:
            return math.inf
        if self.rate_per_h == 0.0:
            return math.inf if self.usd_per_gpu_h_at_t0 >= level_usd else -math.inf
        return self.t0_h + math.log(self.usd_per_gpu_h_at_t0 / level_usd) / self.rate_per_h


class Market:
    """Price curve and default operating cost of every GPU model in a scenario."""

    def __init__(self, sc: Scenario) -> None:
        self._sc = sc
        self._curves: dict[str, PriceCurve] = {}

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
            self._curves[model] = PriceCurve.from_annual_decline(usd, t0, decline)
        return self._curves[model]

    def opex_usd_per_gpu_h(self, model: str) -> float:
        """Operating cost per GPU-hour: the scenario's figure, else power plus fixed costs."""
        entry = self._sc.market.prices.get(model)
        if entry is not None and entry.opex_usd_per_gpu_h is not None:
            return entry.opex_usd_per_gpu_h
        m = self._sc.market
        power_kw = gpu_model(model).tdp_w / 1000 * m.server_power_factor * m.pue
        return power_kw * m.power_usd_per_kwh + m.fixed_opex_usd_per_gpu_h
