"""Plotly figure builders: arrays in, ``go.Figure`` out. No maths, no Streamlit.

Colours follow Okabe & Ito's colour-blind-safe palette; continuous colour is Cividis.
Arrays go to Plotly as float32 numpy (base64 in the JSON), never as lists.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["PALETTE", "UIREVISION", "elementwise_figure", "histograms_figure", "sphere_pair_figure"]

# Okabe-Ito: readable for the common colour-vision deficiencies, on light and dark backgrounds.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
UIREVISION = "normviz"  # constant: plotly keeps the user's camera across updates

_TRANSPARENT = "rgba(0,0,0,0)"
_GRID = "rgba(128,128,128,0.35)"


def sphere_pair_figure(
    before: np.ndarray,
    after: np.ndarray,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    axis_labels: tuple[str, str, str] = ("x", "y", "z"),
    titles: tuple[str, str] = ("before", "after"),
    reference=None,
    hover: str = "",
    height: int = 520,
) -> go.Figure:
    """Two 3D scenes side by side, same axes: ``before`` and ``after`` are ``(n, 3)`` coordinates.

    ``reference`` (a ``sphere.Reference`` or None) is drawn in the right-hand scene: a
    curve (circle, line with points), a mesh (sphere, ball) and/or a plane.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "scene"}, {"type": "scene"}]],
        subplot_titles=titles,
        horizontal_spacing=0.02,
    )
    marker = {"size": 2.5, "opacity": 0.85}
    if color is not None:
        marker |= {"color": color, "colorscale": "Cividis", "showscale": True,
                   "colorbar": {"title": {"text": color_label, "side": "right"}, "thickness": 12, "len": 0.7}}
    else:
        marker |= {"color": PALETTE["blue"]}
    hovertemplate = "(%{x:.3f}, %{y:.3f}, %{z:.3f})" + (f"<br>{hover}" if hover else "") + "<extra></extra>"
    for col, pts, name in ((1, before, "input tokens"), (2, after, "output tokens")):
        m = dict(marker)
        if col == 2 and color is not None:
            m["showscale"] = False
        fig.add_trace(
            go.Scatter3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", marker=m, name=name,
                         hovertemplate=hovertemplate, showlegend=False),
            row=1, col=col,
        )
    if reference is not None:
        for trace in _reference_traces(reference):
            fig.add_trace(trace, row=1, col=2)
    axes = {
        "xaxis": {"title": {"text": axis_labels[0]}},
        "yaxis": {"title": {"text": axis_labels[1]}},
        "zaxis": {"title": {"text": axis_labels[2]}},
        "aspectmode": "data",
    }
    for ax in ("xaxis", "yaxis", "zaxis"):
        axes[ax] |= {"gridcolor": _GRID, "zerolinecolor": _GRID, "backgroundcolor": _TRANSPARENT}
    fig.update_layout(
        scene=axes,
        scene2=axes,
        height=height,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        uirevision=UIREVISION,
        paper_bgcolor=_TRANSPARENT,
        showlegend=False,
    )
    return fig


def _reference_traces(ref) -> list:
    color = PALETTE["vermillion"]
    traces = []
    if ref.plane is not None:
        px, py, pz = ref.plane
        traces.append(go.Surface(x=px, y=py, z=pz, opacity=0.18, showscale=False, hoverinfo="skip",
                                 colorscale=[[0, PALETTE["sky"]], [1, PALETTE["sky"]]], name="plane Σy = 0"))
    if ref.mesh is not None:
        mx, my, mz = ref.mesh
        traces.append(go.Surface(x=mx, y=my, z=mz, opacity=0.12, showscale=False, hoverinfo="skip",
                                 colorscale=[[0, color], [1, color]], name=ref.kind))
    if ref.curve is not None:
        c = ref.curve
        if ref.kind == "points":  # a line through the only two possible outputs
            traces.append(go.Scatter3d(x=c[:, 0], y=c[:, 1], z=c[:, 2], mode="lines",
                                       line={"color": PALETTE["sky"], "width": 4}, hoverinfo="skip"))
            traces.append(go.Scatter3d(x=c[1:3, 0], y=c[1:3, 1], z=c[1:3, 2], mode="markers",
                                       marker={"size": 7, "color": color, "symbol": "diamond"},
                                       hovertemplate="only possible output<br>(%{x:.3f}, %{y:.3f})<extra></extra>"))
        else:
            traces.append(go.Scatter3d(x=c[:, 0], y=c[:, 1], z=c[:, 2], mode="lines", opacity=0.7,
                                       line={"color": color, "width": 3}, hoverinfo="skip", name=ref.kind))
    return traces


def histograms_figure(
    panels: list[dict],
    *,
    height: int = 280,
) -> go.Figure:
    """Bar charts of exact histograms, side by side.

    Each panel: ``{"title", "hist": geometry.Histogram, "marks": [(x, label), ...], "xlabel"}``.
    """
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p["title"] for p in panels],
                        horizontal_spacing=0.08)
    for i, p in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(x=p["hist"].centers, y=p["hist"].counts, width=np.diff(p["hist"].edges),
                   marker_color=PALETTE["blue"],
                   hovertemplate="%{x:.5g}: %{y} tokens<extra></extra>", showlegend=False),
            row=1, col=i,
        )
        for x, label in p.get("marks", []):
            fig.add_vline(x=x, line={"color": PALETTE["vermillion"], "dash": "dash", "width": 2},
                          annotation_text=label, annotation_position="top", row=1, col=i)
        fig.update_xaxes(title_text=p.get("xlabel", ""), row=1, col=i, gridcolor=_GRID)
        fig.update_yaxes(title_text="tokens" if i == 1 else "", row=1, col=i, gridcolor=_GRID)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, bargap=0.05,
                      paper_bgcolor=_TRANSPARENT, plot_bgcolor=_TRANSPARENT)
    return fig


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
    fig = go.Figure()
    for name, y, colour in series:
        fig.add_trace(go.Scattergl(x=x, y=y, mode="markers", name=name,
                                   marker={"size": 3, "color": colour, "opacity": 0.45}))
    for name, cx, cy, colour in curves:
        fig.add_trace(go.Scatter(x=cx, y=cy, mode="lines", name=name, line={"color": colour, "width": 3}))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": {"text": xlabel}, "gridcolor": _GRID, "zerolinecolor": _GRID},
        yaxis={"title": {"text": ylabel}, "gridcolor": _GRID, "zerolinecolor": _GRID},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        paper_bgcolor=_TRANSPARENT, plot_bgcolor=_TRANSPARENT,
    )
    return fig
