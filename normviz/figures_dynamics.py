"""Plotly builders for the Gradient-flow, Jacobian and Attention pages. Arrays in, figures out, no maths."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures import _GRID, _TRANSPARENT, PALETTE, UIREVISION

__all__ = ["SERIES_COLOURS", "curves_figure", "heatmaps_figure", "jacobian_figure", "keys_figure"]

# one colour per placement / variant, the same on every chart
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
_CYCLE = [PALETTE[c] for c in ("blue", "vermillion", "green", "orange", "purple", "sky")]
_REF_DASH = ["dash", "dot", "dashdot"]
# first view of the Jacobian scene: from the side of the all-ones axis, so the axis and the plane ⟂ 1 both show
_SIDE_CAMERA = {"eye": {"x": 1.45, "y": -1.0, "z": 0.55}}


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def curves_figure(
    x: np.ndarray,
    series: dict[str, np.ndarray],
    *,
    ranges: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    references: dict[str, np.ndarray] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    log_x: bool = False,
    log_y: bool = False,
    x_series: dict[str, np.ndarray] | None = None,
    height: int = 360,
) -> go.Figure:
    """Lines with markers (one colour per name, see ``SERIES_COLOURS``), optional min–max error bars per
    series (``ranges``) and dashed grey reference lines. ``x_series`` gives a series its own x."""
    data = []
    for i, (name, y) in enumerate(series.items()):
        colour = SERIES_COLOURS.get(name.split(":")[0], _CYCLE[i % len(_CYCLE)])
        trace = {
            "type": "scatter", "x": _f32((x_series or {}).get(name, x)), "y": _f32(y), "mode": "lines+markers",
            "name": name, "line": {"color": colour, "width": 2, "dash": "dot" if "(dotted)" in name else "solid"},
            "marker": {"size": 6},
        }  # fmt: skip
        if ranges and name in ranges:
            lo, hi = ranges[name]
            trace["error_y"] = {"type": "data", "symmetric": False, "array": _f32(hi - y), "arrayminus": _f32(y - lo),
                                "color": colour, "thickness": 1, "width": 3}  # fmt: skip
        data.append(trace)
    for j, (name, y) in enumerate((references or {}).items()):
        data.append({"type": "scatter", "x": _f32(x), "y": _f32(y), "mode": "lines", "name": name,
                     "line": {"color": PALETTE["grey"], "dash": _REF_DASH[j % 3], "width": 2}})  # fmt: skip
    axis = {"gridcolor": _GRID, "zerolinecolor": _GRID}
    ticks = {"tickvals": [float(v) for v in x], "ticktext": [f"{v:g}" for v in x]} if log_x and len(x) <= 12 else {}
    layout = {
        "xaxis": {**axis, "title": {"text": xlabel}, "type": "log" if log_x else "linear", **ticks},
        "yaxis": {**axis, "title": {"text": ylabel}, "type": "log" if log_y else "linear", "exponentformat": "power"},
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 30, "b": 50},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
    }
    return go.Figure(data=data, layout=layout)


def _arrow(start: np.ndarray, vec: np.ndarray, colour: str, name: str, *, dash: str = "solid") -> list[dict]:
    """A 3D arrow: a line from ``start`` to ``start + vec`` and a cone at the tip."""
    tip = start + vec
    line = {"type": "scatter3d", "x": _f32([start[0], tip[0]]), "y": _f32([start[1], tip[1]]),
            "z": _f32([start[2], tip[2]]), "mode": "lines", "name": name, "legendgroup": name,
            "line": {"color": colour, "width": 7, "dash": dash}, "hoverinfo": "name"}  # fmt: skip
    cone = {"type": "cone", "x": _f32(tip[:1]), "y": _f32(tip[1:2]), "z": _f32(tip[2:3]), "u": _f32(vec[:1]),
            "v": _f32(vec[1:2]), "w": _f32(vec[2:3]), "anchor": "tip", "sizemode": "absolute", "sizeref": 0.35,
            "showscale": False, "colorscale": [[0, colour], [1, colour]], "name": name, "legendgroup": name,
            "showlegend": False, "hoverinfo": "name"}  # fmt: skip
    return [line, cone]


def jacobian_figure(
    arrows: list[tuple[str, np.ndarray, np.ndarray, str]],
    *,
    circle: np.ndarray | None = None,
    sphere: np.ndarray | None = None,
    plane: np.ndarray | None = None,
    axis_half: float = 3.0,
    height: int = 560,
) -> go.Figure:
    """One 3D scene, exact coordinates, fixed axes ±``axis_half`` (lengths compare across reruns).

    ``arrows``: ``(name, start (3,), vector (3,), colour)``; ``circle`` (m, 3) the output circle;
    ``sphere`` / ``plane`` polylines (m, 3) (NaN rows = gaps). The all-ones axis is drawn dashed. No surfaces:
    a surface trace costs ~200 ms per redraw in software WebGL, a line a few ms.
    """
    data = []
    for pts, name, dash in ((plane, "plane Σy = 0 (outline)", "dot"), (sphere, "sphere ‖y‖ = √3", "solid")):
        if pts is not None:
            data.append({"type": "scatter3d", "x": _f32(pts[:, 0]), "y": _f32(pts[:, 1]), "z": _f32(pts[:, 2]),
                         "mode": "lines", "name": name, "connectgaps": False, "hoverinfo": "skip",
                         "line": {"color": PALETTE["sky"], "width": 2, "dash": dash}})  # fmt: skip
    if circle is not None:
        data.append({"type": "scatter3d", "x": _f32(circle[:, 0]), "y": _f32(circle[:, 1]), "z": _f32(circle[:, 2]),
                     "mode": "lines", "name": "outputs: circle of radius √3 in Σy = 0",
                     "line": {"color": PALETTE["sky"], "width": 4}, "hoverinfo": "skip"})  # fmt: skip
    h = axis_half
    data.append({"type": "scatter3d", "x": _f32([-h, h]), "y": _f32([-h, h]), "z": _f32([-h, h]), "mode": "lines",
                 "name": "all-ones axis 1", "line": {"color": PALETTE["grey"], "dash": "dash", "width": 4},
                 "hoverinfo": "name"})  # fmt: skip
    for name, start, vec, colour in arrows:
        data += _arrow(np.asarray(start), np.asarray(vec), colour, name)
    axes = {
        ax: {"title": {"text": label}, "range": [-h, h], "gridcolor": _GRID, "zerolinecolor": _GRID,
             "backgroundcolor": _TRANSPARENT}
        for ax, label in (("xaxis", "x₁"), ("yaxis", "x₂"), ("zaxis", "x₃"))
    }  # fmt: skip
    layout = {
        "scene": {"camera": _SIDE_CAMERA, "aspectmode": "cube", **axes},
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 10, "b": 0},
        "uirevision": UIREVISION,
        "paper_bgcolor": _TRANSPARENT,
        "legend": {"orientation": "h", "y": 1.0, "x": 0},
    }
    return go.Figure(data=data, layout=layout)


def heatmaps_figure(maps: list[np.ndarray], titles: list[str], *, height: int = 330) -> go.Figure:
    """Attention matrices side by side (rows: queries, columns: keys), one shared 0 … 1 colour scale."""
    n = len(maps)
    gap = 0.06
    width = (1 - gap * (n - 1)) / n
    data, layout = [], {}
    for i, (a, title) in enumerate(zip(maps, titles, strict=True)):
        sx = "" if i == 0 else str(i + 1)
        data.append({"type": "heatmap", "z": _f32(a), "zmin": 0, "zmax": 1, "colorscale": "Cividis",
                     "xaxis": "x" + sx, "yaxis": "y" + sx, "showscale": i == n - 1, "name": title,
                     "colorbar": {"title": {"text": "weight"}, "thickness": 12},
                     "hovertemplate": "query %{y}, key %{x}: %{z:.3f}<extra></extra>"})  # fmt: skip
        x0 = i * (width + gap)
        layout["xaxis" + sx] = {"domain": [x0, x0 + width], "title": {"text": "key"}, "showgrid": False}
        layout["yaxis" + sx] = {"autorange": "reversed", "title": {"text": "query" if i == 0 else ""},
                                "anchor": "x" + sx, "showgrid": False}  # fmt: skip
        layout.setdefault("annotations", []).append(
            {"text": title, "x": x0 + width / 2, "y": 1.08, "xref": "paper", "yref": "paper", "showarrow": False}
        )
    layout |= {"height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "paper_bgcolor": _TRANSPARENT,
               "plot_bgcolor": _TRANSPARENT}  # fmt: skip
    return go.Figure(data=data, layout=layout)


def keys_figure(
    projected: np.ndarray,
    normalized: np.ndarray,
    unselectable: np.ndarray,
    hull: np.ndarray,
    circle: np.ndarray,
    *,
    raw: np.ndarray | None = None,
    height: int = 520,
) -> go.Figure:
    """One 3D scene at d = 3: projected keys (selectable ●, unselectable ✕), their hull, LayerNormed keys on
    the circle, and optionally the raw keys; exact coordinates."""
    sel = ~unselectable

    def pts(p, mask, name, colour, symbol, size):
        return {"type": "scatter3d", "x": _f32(p[mask, 0]), "y": _f32(p[mask, 1]), "z": _f32(p[mask, 2]),
                "mode": "markers", "name": name, "marker": {"size": size, "color": colour, "symbol": symbol},
                "hovertemplate": "(%{x:.2f}, %{y:.2f}, %{z:.2f})<extra>" + name + "</extra>"}  # fmt: skip

    everything = np.ones(len(normalized), dtype=bool)
    data = [
        {"type": "scatter3d", "x": _f32(circle[:, 0]), "y": _f32(circle[:, 1]), "z": _f32(circle[:, 2]),
         "mode": "lines", "name": "circle ‖k‖ = √3 in Σk = 0", "line": {"color": PALETTE["sky"], "width": 3},
         "hoverinfo": "skip"},
        {"type": "scatter3d", "x": _f32(hull[:, 0]), "y": _f32(hull[:, 1]), "z": _f32(hull[:, 2]), "mode": "lines",
         "name": "convex hull of the projected keys", "line": {"color": PALETTE["blue"], "width": 4, "dash": "dash"},
         "hoverinfo": "skip"},
        pts(projected, sel, "projected x − μ1: selectable", PALETTE["blue"], "circle", 5),
        pts(projected, unselectable, "projected: unselectable (inside the hull)", PALETTE["vermillion"], "square", 6),
        pts(normalized, everything, "LayerNorm(x): on the circle, all selectable", PALETTE["green"], "diamond", 5),
    ]  # fmt: skip
    if raw is not None:
        data.append(pts(raw, everything, "raw keys x", PALETTE["grey"], "circle", 4))
    pool = [projected, normalized, circle] + ([raw] if raw is not None else [])
    half = 1.08 * max(float(np.abs(p).max()) for p in pool)
    axes = {
        ax: {"title": {"text": label}, "range": [-half, half], "gridcolor": _GRID, "zerolinecolor": _GRID,
             "backgroundcolor": _TRANSPARENT}
        for ax, label in (("xaxis", "k₁"), ("yaxis", "k₂"), ("zaxis", "k₃"))
    }  # fmt: skip
    layout = {
        "scene": {"camera": {"eye": {"x": 1.3, "y": 1.3, "z": 1.3}}, "aspectmode": "cube", **axes},
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 10, "b": 0},
        "uirevision": UIREVISION,
        "paper_bgcolor": _TRANSPARENT,
        "legend": {"orientation": "h", "y": 1.0, "x": 0},
    }
    return go.Figure(data=data, layout=layout)
