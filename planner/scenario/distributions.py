"""Random-variable specifications used in scenario files (job sizes, work per job).

These are declarations only; drawing values lives in :mod:`planner.model.sampling`, so a scenario
stays a plain frozen value.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Self

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from planner.scenario.base import Spec
from planner.wording import counted


class Constant(Spec):
    """Every draw is ``value``."""

    kind: Literal["constant"] = "constant"
    value: PositiveFloat

    def mean(self) -> float:
        return self.value

    def upper_bound(self) -> float:
        return self.value


class Exponential(Spec):
    """Exponential with the given mean; draws above ``max`` (if set) are clipped to it."""

    kind: Literal["exponential"] = "exponential"
    mean_value: PositiveFloat = Field(alias="mean")
    max: PositiveFloat | None = Field(default=None, description="clip draws at this value")

    def mean(self) -> float:
        """The mean before clipping."""
        return self.mean_value

    def upper_bound(self) -> float:
        return math.inf if self.max is None else self.max


class Lognormal(Spec):
    """Lognormal given by its ``median`` (or ``mean``) and log-space ``sigma``.

    Exactly one of ``median`` and ``mean`` is given; draws above ``max`` (if set) are clipped.
    """

    kind: Literal["lognormal"] = "lognormal"
    median: PositiveFloat | None = None
    mean_value: PositiveFloat | None = Field(default=None, alias="mean")
    sigma: float = Field(
        ge=0.0,
        le=10.0,
        description="standard deviation of log(X); at most 10 (a factor of 22,000 per standard "
        "deviation: wider draws underflow to zero work)",
    )
    max: PositiveFloat | None = Field(default=None, description="clip draws at this value")

    @model_validator(mode="after")
    def _one_location(self) -> Self:
        if (self.median is None) == (self.mean_value is None):
            raise ValueError("give exactly one of 'median' and 'mean'")
        return self

    @property
    def mu(self) -> float:
        """Mean of log(X)."""
        if self.median is not None:
            return math.log(self.median)
        if self.mean_value is None:
            raise ValueError("a lognormal needs its median or its mean")
        return math.log(self.mean_value) - self.sigma**2 / 2

    def mean(self) -> float:
        """The mean before clipping."""
        return math.exp(self.mu + self.sigma**2 / 2)

    def upper_bound(self) -> float:
        return math.inf if self.max is None else self.max


class Choice(Spec):
    """A discrete (empirical) distribution over ``values`` with optional ``weights``."""

    kind: Literal["choice"] = "choice"
    values: list[PositiveFloat] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0.0)]] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Self:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"'weights' has {counted(len(self.weights), 'entry', 'entries')} but 'values' "
                    f"has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("'weights' must not all be zero")
        return self

    def probabilities(self) -> list[float]:
        weights = self.weights or [1.0] * len(self.values)
        total = sum(weights)
        return [w / total for w in weights]

    def mean(self) -> float:
        return sum(v * p for v, p in zip(self.values, self.probabilities(), strict=True))

    def upper_bound(self) -> float:
        return max(v for v, p in zip(self.values, self.probabilities(), strict=True) if p > 0)


class Uniform(Spec):
    """Uniform on [low, high]; for GPU counts, integers low..high inclusive."""

    kind: Literal["uniform"] = "uniform"
    low: PositiveFloat
    high: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low > self.high:
            raise ValueError(f"'low' ({self.low}) is above 'high' ({self.high})")
        return self

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def upper_bound(self) -> float:
        return self.high


Distribution = Annotated[
    Constant | Exponential | Lognormal | Choice | Uniform, Field(discriminator="kind")
]


class WorkByGpus(Spec):
    """Work drawn by the job's GPU count (as drawn, before rounding to whole nodes): in real
    clusters the large jobs also run long, and drawing size and work apart loses that."""

    kind: Literal["by_gpus"] = "by_gpus"
    by_gpus: dict[PositiveInt, Distribution] = Field(min_length=1)


WorkDistribution = Annotated[
    Constant | Exponential | Lognormal | Choice | Uniform | WorkByGpus,
    Field(discriminator="kind"),
]
