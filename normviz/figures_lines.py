"""Plotly builders for the Batch page: a single 3D cloud and line charts. Arrays in, figures out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures import _CAMERA, _GRID, _TRANSPARENT, PALETTE, UIREVISION, _cube_axes

__all__ = ["cloud_figure", "lines_figure"]

_SERIES_COLOURS = [PALETTE[c] for c in ("blue", "vermillion", "green", "orange", "purple", "sky")]


def cloud_figure(
    points: np.ndarray,
    marker_point: np.ndarray,
    *,
    axis_labels: tuple[str, str, str],
    names: tuple[str, str] = ("BatchNorm output, one per batch", "LayerNorm output"),
    height: int = 460,
) -> go.Figure:
    """One 3D scene: a cloud ``points (K, 3)`` and one highlighted point ``marker_point (3,)``."""
    data = [
        {"type": "scatter3d", "x": points[:, 0], "y": points[:, 1], "z": points[:, 2], "mode": "markers",
         "name": names[0], "marker": {"size": 3, "color": PALETTE["blue"], "opacity": 0.8},
         "hovertemplate": "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra>" + names[0] + "</extra>"},
        {"type": "scatter3d", "x": marker_point[:1], "y": marker_point[1:2], "z": marker_point[2:3],
         "mode": "markers", "name": names[1],
         "marker": {"size": 9, "color": PALETTE["vermillion"], "symbol": "diamond"},
         "hovertemplate": "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra>" + names[1] + "</extra>"},
    ]  # fmt: skip
    layout = {
        "scene": {"camera": _CAMERA, **_cube_axes(axis_labels, [points, marker_point[None, :]])},
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 10, "b": 0},
        "uirevision": UIREVISION,
        "paper_bgcolor": _TRANSPARENT,
        "legend": {"orientation": "h", "y": 1.0, "x": 0},
    }
    return go.Figure(data=data, layout=layout)


def lines_figure(
    x: np.ndarray,
    series: dict[str, np.ndarray],
    *,
    reference: tuple[str, np.ndarray] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    log_x: bool = False,
    log_y: bool = False,
    height: int = 340,
) -> go.Figure:
    """Lines with markers, one per series (colour-blind-safe colours), and an optional dashed reference."""
    data = [
        {"type": "scatter", "x": x, "y": y, "mode": "lines+markers", "name": name,
         "line": {"color": _SERIES_COLOURS[i % len(_SERIES_COLOURS)], "width": 2,
                  "dash": "dot" if "variance" in name else "solid"}}
        for i, (name, y) in enumerate(series.items())
    ]  # fmt: skip
    if reference is not None:
        data.append({"type": "scatter", "x": x, "y": reference[1], "mode": "lines", "name": reference[0],
                     "line": {"color": PALETTE["grey"], "dash": "dash", "width": 2}})  # fmt: skip
    axis = {"gridcolor": _GRID, "zerolinecolor": _GRID}
    layout = {
        "xaxis": {**axis, "title": {"text": xlabel}, "type": "log" if log_x else "linear"},
        "yaxis": {**axis, "title": {"text": ylabel}, "type": "log" if log_y else "linear"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
    }
    return go.Figure(data=data, layout=layout)
