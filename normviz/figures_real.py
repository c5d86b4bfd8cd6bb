"""Plotly builders for the Real data page: arrays in, figures out, no maths."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures import _GRID, _TRANSPARENT, PALETTE, UIREVISION, sphere_pair_figure

__all__ = ["affine_figure", "layers_figure", "massive_figure", "real_pair_figure"]


def real_pair_figure(view, norm_label: str) -> go.Figure:
    """Input tokens and their normalized outputs (an ``activations_view.RealView``) on shared axes."""
    fig = sphere_pair_figure(
        view.before,
        view.after,
        color=view.color,
        color_label="log₁₀ ‖x‖",
        axis_labels=view.basis.labels,
        titles=(
            f"residual stream x (axes keep {view.kept_before:.0%} of Σ‖x‖²)",
            f"output {norm_label}(x) (axes keep {view.kept_after:.0%} of Σ‖y‖²)",
        ),
    )
    if view.labels:
        text = np.asarray(view.labels, dtype=object)
        for trace in fig.data[:2]:
            trace.text = text
            trace.hovertemplate = "%{text}<br>(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>"
    return fig


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
    axis = {"gridcolor": _GRID, "zerolinecolor": _GRID}
    shapes = [
        {"type": "line", "xref": "x", "yref": "y", "x0": 0, "x1": max(len(names) - 1, 1), "y0": 90, "y1": 90,
         "line": {"color": PALETTE["grey"], "dash": "dash"}},
    ]  # fmt: skip
    if current is not None:
        for xr in ("x", "x2"):
            shapes.append({"type": "line", "xref": xr, "yref": "paper", "x0": current, "x1": current, "y0": 0,
                           "y1": 1, "line": {"color": PALETTE["green"], "width": 1}})  # fmt: skip
    layout = {
        "xaxis": {**axis, "domain": [0, 0.45], "title": {"text": "capture point"}},
        "yaxis": {**axis, "title": {"text": "angle to the all-ones axis (°)"}},
        "xaxis2": {**axis, "domain": [0.55, 1], "anchor": "y2", "title": {"text": "capture point"}},
        "yaxis2": {**axis, "anchor": "x2", "type": "log", "title": {"text": "share of ‖x‖² along 1"}},
        "shapes": shapes,
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
        "uirevision": UIREVISION,
    }
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
    layout = {
        "xaxis": {"gridcolor": _GRID, "title": {"text": "feature j"}},
        "yaxis": {"gridcolor": _GRID, "type": "log", "title": {"text": "max over tokens |xⱼ|"}},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold, "y1": threshold,
                    "line": {"color": PALETTE["grey"], "dash": "dash"}}],
        "bargap": 0,
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "showlegend": False,
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
        "uirevision": UIREVISION,
    }  # fmt: skip
    return go.Figure(data=data, layout=layout)


def affine_figure(gamma: np.ndarray | None, beta: np.ndarray | None, *, height: int = 260) -> go.Figure:
    """The model's γ and β per feature (what the norm multiplies and adds after normalizing)."""
    data = []
    for name, v, color in (("γ (weight)", gamma, PALETTE["blue"]), ("β (bias)", beta, PALETTE["orange"])):
        if v is not None:
            data.append({"type": "scatter", "x": np.arange(v.size, dtype=np.int32), "y": v.astype(np.float32),
                         "mode": "markers", "marker": {"size": 4, "color": color}, "name": name,
                         "hovertemplate": "feature %{x}: %{y:.4g}<extra>" + name + "</extra>"})  # fmt: skip
    layout = {
        "xaxis": {"gridcolor": _GRID, "title": {"text": "feature j"}},
        "yaxis": {"gridcolor": _GRID, "zerolinecolor": _GRID},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
        "uirevision": UIREVISION,
    }
    return go.Figure(data=data, layout=layout)
