"""Plotly builders for the Gradient-flow, Jacobian and Attention pages. Arrays in, figures out, no maths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import (
    GRID,
    LEGEND_ABOVE,
    PALETTE,
    SERIES_CYCLE,
    UIREVISION,
    base_layout,
    f32,
    panel_title,
)

__all__ = [
    "PAIRED_COLOURS",
    "REFERENCE_DASHES",
    "SERIES_COLOURS",
    "Series",
    "affine_figure",
    "bars_figure",
    "elementwise_figure",
    "histograms_figure",
    "layers_figure",
    "lines_figure",
    "massive_figure",
    "reference",
]


def histograms_figure(panels: list[dict], *, height: int = 280) -> go.Figure:
    """Bar charts of exact histograms, side by side.

    Each panel: ``{"title", "hist": geometry.Histogram, "marks": [(x, label), ...], "xlabel"}``.
    """
    n = len(panels)
    gap = 0.08
    width = (1.0 - gap * (n - 1)) / n
    data, shapes, annotations, layout = [], [], [], {}
    for i, p in enumerate(panels):
        xa, ya = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        x0 = i * (width + gap)
        layout[f"xaxis{i + 1 if i else ''}"] = {
            "domain": [x0, x0 + width],
            "anchor": ya,
            "gridcolor": GRID,
            "title": {"text": p.get("xlabel", "")},
        }
        layout[f"yaxis{i + 1 if i else ''}"] = {
            "anchor": xa,
            "gridcolor": GRID,
            "title": {"text": "tokens" if i == 0 else ""},
        }
        hist = p["hist"]
        data.append(
            {
                "type": "bar",
                "x": hist.centers,
                "y": hist.counts,
                "width": np.diff(hist.edges),
                "marker": {"color": PALETTE["blue"]},
                "xaxis": xa,
                "yaxis": ya,
                "showlegend": False,
                "hovertemplate": "%{x:.5g}: %{y} tokens<extra></extra>",
            }
        )
        annotations.append(panel_title(p["title"], (x0, x0 + width)))
        for x, label in p.get("marks", []):
            shapes.append(
                {
                    "type": "line",
                    "x0": x,
                    "x1": x,
                    "xref": xa,
                    "y0": 0,
                    "y1": 1,
                    "yref": f"{ya} domain",
                    "line": {"color": PALETTE["vermillion"], "dash": "dash", "width": 2},
                }
            )
            annotations.append(
                {
                    "text": label,
                    "x": x,
                    "xref": xa,
                    "y": 0.97,
                    "yref": f"{ya} domain",
                    "xanchor": "left",
                    "showarrow": False,
                    "font": {"color": PALETTE["vermillion"]},
                }
            )
    layout |= base_layout(height=height, margin=(60, 20, 40, 50), shapes=shapes, annotations=annotations, bargap=0.05)
    return go.Figure(data=data, layout=layout)


def elementwise_figure(
    x: np.ndarray,
    series: list[tuple[str, np.ndarray, str]],
    curves: list[tuple[str, np.ndarray, np.ndarray, str]],
    *,
    xlabel: str = "input element x",
    ylabel: str = "output element",
    height: int = 380,
) -> go.Figure:
    """Element-wise input -> output scatter (one cloud per series) with reference curves.

    ``series``: ``(name, y, colour)`` with ``y`` the same length as ``x``;
    ``curves``: ``(name, cx, cy, colour)`` drawn as lines.
    """
    data = [
        {
            "type": "scattergl",
            "x": x,
            "y": y,
            "mode": "markers",
            "name": name,
            "marker": {"size": 3, "color": colour, "opacity": 0.45},
        }
        for name, y, colour in series
    ]
    data += [
        {"type": "scatter", "x": cx, "y": cy, "mode": "lines", "name": name, "line": {"color": colour, "width": 3}}
        for name, cx, cy, colour in curves
    ]
    layout = base_layout(
        height=height,
        xaxis={"title": {"text": xlabel}, "gridcolor": GRID, "zerolinecolor": GRID},
        yaxis={"title": {"text": ylabel}, "gridcolor": GRID, "zerolinecolor": GRID},
        legend=LEGEND_ABOVE,
    )
    return go.Figure(data=data, layout=layout)


# one colour per placement / variant, the same on every chart; pages pass them as ``Series(colour=...)``
SERIES_COLOURS = {
    "Post-LN": PALETTE["blue"],
    "Pre-LN": PALETTE["vermillion"],
    "Peri-LN": PALETTE["green"],
    "no norm": PALETTE["orange"],
    "LayerNorm first": PALETTE["blue"],
    "no LayerNorm (raw x)": PALETTE["orange"],
    "projection only (x − μ1)": PALETTE["vermillion"],
    "projection + scaling (LayerNorm)": PALETTE["green"],
}

# a second measure of the same variant on one chart: a colour of its own (never a repeat told apart by dash only)
PAIRED_COLOURS = {
    "no LayerNorm (raw x)": PALETTE["sky"],
    "projection only (x − μ1)": PALETTE["purple"],
    "projection + scaling (LayerNorm)": PALETTE["blue"],
}

REFERENCE_DASHES = ("dash", "dot", "dashdot")  # reference lines, in order


@dataclass(frozen=True)
class Series:
    """One line of :func:`lines_figure`; every style is explicit, none is read from the name.

    ``x``: the series' own x (default: the figure's); ``colour``: default the next of ``SERIES_CYCLE``;
    ``dash``: a Plotly dash ("solid", "dot", "dash", ...); ``markers``: False draws a plain line;
    ``symbol``: the markers' Plotly symbol ("circle", "square", ...), a cue besides colour and dash;
    ``low``/``high``: min–max error bars.

    >>> Series("Pre-LN", np.ones(3), dash="dot").dash
    'dot'
    """

    name: str
    y: np.ndarray
    x: np.ndarray | None = None
    colour: str | None = None
    dash: str = "solid"
    markers: bool = True
    symbol: str = "circle"
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def reference(name: str, y: np.ndarray, *, dash: str = "dash", x: np.ndarray | None = None) -> Series:
    """A grey reference line without markers (a theory line, a bound)."""
    return Series(name, y, x=x, colour=PALETTE["grey"], dash=dash, markers=False)


def lines_figure(
    x: np.ndarray,
    series: Sequence[Series],
    *,
    xlabel: str = "",
    ylabel: str = "",
    log_x: bool = False,
    log_y: bool = False,
    height: int = 360,
) -> go.Figure:
    """Lines (with markers unless ``Series.markers`` is False), one per :class:`Series`, on shared axes.

    A log x axis with at most 12 points is ticked at the points themselves.
    """
    data = []
    for i, s in enumerate(series):
        colour = s.colour or SERIES_CYCLE[i % len(SERIES_CYCLE)]
        trace = {
            "type": "scatter", "x": f32(x if s.x is None else s.x), "y": f32(s.y), "name": s.name,
            "mode": "lines+markers" if s.markers else "lines", "line": {"color": colour, "width": 2, "dash": s.dash},
        }  # fmt: skip
        if s.markers:
            trace["marker"] = {"size": 7, "symbol": s.symbol}
        if s.low is not None and s.high is not None:
            y, low, high = (np.asarray(v) for v in (s.y, s.low, s.high))  # differences in the input precision
            trace["error_y"] = {"type": "data", "symmetric": False, "array": f32(high - y), "arrayminus": f32(y - low),
                                "color": colour, "thickness": 1, "width": 3}  # fmt: skip
        data.append(trace)
    axis = {"gridcolor": GRID, "zerolinecolor": GRID}
    ticks = {"tickvals": [float(v) for v in x], "ticktext": [f"{v:g}" for v in x]} if log_x and len(x) <= 12 else {}
    layout = base_layout(
        height=height,
        margin=(70, 20, 30, 50),
        xaxis={**axis, "title": {"text": xlabel}, "type": "log" if log_x else "linear", **ticks},
        yaxis={**axis, "title": {"text": ylabel}, "type": "log" if log_y else "linear", "exponentformat": "power"},
        legend=LEGEND_ABOVE,
    )
    return go.Figure(data=data, layout=layout)


def layers_figure(names: list[str], stats, *, current: int | None = None, height: int = 330) -> go.Figure:
    """Two panels over capture points: angle to the all-ones axis (median, 10–90 % band) and the
    mean component's share of ‖x‖² (median and 90th percentile, log scale)."""
    x = np.arange(len(names), dtype=np.float32)
    band = np.concatenate([stats.angle_q90, stats.angle_q10[::-1]]).astype(np.float32)
    data = [
        {"type": "scatter", "x": np.concatenate([x, x[::-1]]), "y": band, "fill": "toself", "mode": "lines",
         "line": {"width": 0}, "fillcolor": "rgba(0,114,178,0.2)", "name": "10–90 % of tokens", "hoverinfo": "skip"},
        {"type": "scatter", "x": x, "y": stats.angle_median.astype(np.float32), "mode": "lines+markers",
         "name": "median angle to 1", "line": {"color": PALETTE["blue"], "width": 2}, "text": names,
         "hovertemplate": "%{text}<br>median angle %{y:.2f}°<extra></extra>"},
        {"type": "scatter", "x": x, "y": stats.share_median.astype(np.float32), "mode": "lines+markers",
         "xaxis": "x2", "yaxis": "y2", "name": "median d·μ²/‖x‖²", "line": {"color": PALETTE["vermillion"]},
         "text": names, "hovertemplate": "%{text}<br>median share %{y:.2e}<extra></extra>"},
        {"type": "scatter", "x": x, "y": stats.share_q90.astype(np.float32), "mode": "lines+markers",
         "xaxis": "x2", "yaxis": "y2", "name": "90th percentile", "line": {"color": PALETTE["orange"], "dash": "dot"},
         "text": names, "hovertemplate": "%{text}<br>90th percentile %{y:.2e}<extra></extra>"},
    ]  # fmt: skip
    axis = {"gridcolor": GRID, "zerolinecolor": GRID}
    shapes = [
        {"type": "line", "xref": "x", "yref": "y", "x0": 0, "x1": max(len(names) - 1, 1), "y0": 90, "y1": 90,
         "line": {"color": PALETTE["grey"], "dash": "dash"}},
    ]  # fmt: skip
    if current is not None:
        for xr in ("x", "x2"):
            shapes.append({"type": "line", "xref": xr, "yref": "paper", "x0": current, "x1": current, "y0": 0,
                           "y1": 1, "line": {"color": PALETTE["green"], "width": 1}})  # fmt: skip
    layout = base_layout(
        height=height,
        xaxis={**axis, "domain": [0, 0.45], "title": {"text": "capture point"}},
        yaxis={**axis, "title": {"text": "angle to the all-ones axis (°)"}},
        xaxis2={**axis, "domain": [0.55, 1], "anchor": "y2", "title": {"text": "capture point"}},
        yaxis2={**axis, "anchor": "x2", "type": "log", "title": {"text": "share of ‖x‖² along 1"}},
        shapes=shapes,
        legend=LEGEND_ABOVE,
        uirevision=UIREVISION,
    )
    return go.Figure(data=data, layout=layout)


def massive_figure(peak: np.ndarray, features: np.ndarray, threshold: float, *, height: int = 300) -> go.Figure:
    """Bars of each feature's largest |x| (log scale); massive features in vermillion, the threshold dashed."""
    colors = np.full(peak.size, PALETTE["sky"], dtype=object)
    colors[features] = PALETTE["vermillion"]
    data = [
        {"type": "bar", "x": np.arange(peak.size, dtype=np.int32), "y": peak.astype(np.float32),
         "marker": {"color": colors, "line": {"width": 0}}, "name": "max |x| over tokens",
         "hovertemplate": "feature %{x}<br>max |x| = %{y:.3g}<extra></extra>"},
    ]  # fmt: skip
    layout = base_layout(
        height=height, margin=(60, 20, 20, 50), xaxis={"gridcolor": GRID, "title": {"text": "feature j"}},
        yaxis={"gridcolor": GRID, "type": "log", "title": {"text": "max over tokens |xⱼ|"}},
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold, "y1": threshold,
                 "line": {"color": PALETTE["grey"], "dash": "dash"}}],
        bargap=0, showlegend=False, uirevision=UIREVISION,
    )  # fmt: skip
    return go.Figure(data=data, layout=layout)


def affine_figure(gamma: np.ndarray | None, beta: np.ndarray | None, *, height: int = 260) -> go.Figure:
    """The model's γ and β per feature (what the norm multiplies and adds after normalizing)."""
    data = []
    for name, v, color in (("γ (weight)", gamma, PALETTE["blue"]), ("β (bias)", beta, PALETTE["orange"])):
        if v is not None:
            data.append({"type": "scatter", "x": np.arange(v.size, dtype=np.int32), "y": v.astype(np.float32),
                         "mode": "markers", "marker": {"size": 4, "color": color}, "name": name,
                         "hovertemplate": "feature %{x}: %{y:.4g}<extra>" + name + "</extra>"})  # fmt: skip
    layout = base_layout(
        height=height,
        margin=(60, 20, 20, 50),
        xaxis={"gridcolor": GRID, "title": {"text": "feature j"}},
        yaxis={"gridcolor": GRID, "zerolinecolor": GRID},
        legend=LEGEND_ABOVE,
        uirevision=UIREVISION,
    )
    return go.Figure(data=data, layout=layout)


def _from_zero(values: list[np.ndarray], reference: tuple[str, float] | None) -> list[float]:
    """A linear bar axis that includes 0: a bar's height is its length, so a 1% gap looks like 1%."""
    finite = [float(a) for v in values for a in np.ravel(v) if np.isfinite(a)]
    finite += [reference[1]] if reference is not None else []
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    pad = 0.08 * (hi - lo) or 1.0
    return [lo - pad if lo < 0 else 0.0, hi + pad if hi > 0 or lo == 0 else 0.0]


def bars_figure(
    labels: list[str],
    series: list[tuple[str, np.ndarray, str]],
    *,
    ylabel: str,
    xlabel: str = "",
    log_y: bool = False,
    reference: tuple[str, float] | None = None,
    floor: float | None = None,
    height: int = 320,
) -> go.Figure:
    """Grouped bars: ``series`` = [(name, values (len(labels),), palette colour name)].

    ``floor``: on a log axis, draw values below it (exact zeros) at the floor. A linear axis starts at 0.
    """
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": np.asarray(v if floor is None else np.maximum(v, floor), dtype=np.float32),
            "customdata": np.asarray(v, dtype=np.float32),
            "name": name,
            "marker": {"color": PALETTE[c]},
            "hovertemplate": "%{x}: %{customdata:.4g}<extra>" + name + "</extra>",
        }
        for name, v, c in series
    ]
    shapes, notes = [], []
    if reference is not None:
        text, yv = reference
        shapes.append(
            {
                "type": "line",
                "x0": 0,
                "x1": 1,
                "xref": "paper",
                "y0": yv,
                "y1": yv,
                "line": {"color": PALETTE["vermillion"], "dash": "dash", "width": 2},
            }
        )
        notes.append(
            {
                "text": text,
                "x": 1,
                "xref": "paper",
                "y": yv,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
            }
        )
    layout = base_layout(
        height=height,
        margin=(60, 20, 40, 50),
        barmode="group",
        xaxis={"title": {"text": xlabel}, "type": "category", "gridcolor": GRID},
        yaxis={"title": {"text": ylabel}, "type": "log" if log_y else "linear", "gridcolor": GRID}
        | ({} if log_y else {"range": _from_zero([v for _, v, _ in series], reference)}),
        shapes=shapes,
        annotations=notes,
        legend=LEGEND_ABOVE,
    )
    return go.Figure(data=data, layout=layout)
