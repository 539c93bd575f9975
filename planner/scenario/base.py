"""The common base of every scenario section: frozen, closed to unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """A frozen, validated piece of a scenario. Unknown fields are errors, not silently ignored,
    and so is a NaN or infinite number: no quantity in a scenario is meant to be either."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
        allow_inf_nan=False,
    )
