"""What every figure shares: a matplotlib figure on the Agg canvas, PNG output, axis formats,
one colour per GPU model.

matplotlib is imported inside these functions, never when :mod:`planner` is imported. Figures are
made without pyplot, so no global figure state or interactive backend is involved.
"""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
WIDTH_IN = 11.0
# Colour-blind-safe (Okabe-Ito), in the order series take them.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
GREY = "#7f7f7f"


# One colour per GPU model in every figure (a model keeps its colour whichever models a run
# has); models not listed take one of OTHER_MODELS by a hash of their name.
MODEL_COLOURS = {
    "A800": "#0072B2",
    "H800": "#009E73",
    "H20": "#E69F00",
    "H100": "#CC79A7",
    "H200": "#56B4E9",
    "B200": "#D55E00",
    "B300": "#882255",
    "A100": "#332288",
    "Ascend910B": "#555555",
}
OTHER_MODELS = ("#44AA99", "#999933", "#AA4499", "#117733", "#661100", "#6699CC")
# Regions of one model are told apart by line style, in the order a figure lists them.
REGION_STYLES = ("-", "--", ":", "-.")


def colour(i: int) -> str:
    """The ``i``-th series colour."""
    return PALETTE[i % len(PALETTE)]


def model_colour(gpu_model: str) -> str:
    """The colour of ``gpu_model``, the same in every figure."""
    known = MODEL_COLOURS.get(gpu_model)
    if known is not None:
        return known
    return OTHER_MODELS[zlib.crc32(gpu_model.encode("utf-8")) % len(OTHER_MODELS)]


def new_figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    """An empty figure with constrained layout, drawn by the Agg backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def style(ax: Axes, *, title: str | None = None, ylabel: str | None = None) -> None:
    """Light grid behind the data, no top or right spine, small title and label."""
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)


def date_axis(ax: Axes) -> None:
    """Dates along x, labelled by month and year without crowding."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    # matplotlib.dates leaves these constructors unannotated.
    locator = AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def at(moment: Any) -> float:
    """A date or timestamp as matplotlib's date number, for placing lines and labels."""
    from matplotlib.dates import date2num

    return float(date2num(pd.Timestamp(moment).to_pydatetime()))  # type: ignore[no-untyped-call]


def usd_axis(ax: Axes, values_usd: Any) -> float:
    """Label the y axis in $, $K, $M or $B to suit ``values_usd``; return the divisor."""
    import numpy as np

    finite = np.abs(np.asarray(values_usd, dtype=float))
    finite = finite[np.isfinite(finite)]
    peak = float(finite.max()) if finite.size else 0.0
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if peak >= scale:
            ax.set_ylabel(f"USD ({suffix})", fontsize=9)
            return scale
    ax.set_ylabel("USD", fontsize=9)
    return 1.0


def percent_axis(ax: Axes, axis: str = "y") -> None:
    """Fractions shown as percentages."""
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))


def legend(ax: Axes, **kwargs: Any) -> None:
    """A small legend without a frame, if anything is labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, **kwargs)
