"""3D scenes of vectors: gradient arrows, attention keys. Arrays in, figures out, no maths."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import PALETTE, f32, scene_axes, scene_layout

__all__ = ["jacobian_figure", "keys_figure"]

# first view of the Jacobian scene: from the side of the all-ones axis, so the axis and the plane ⟂ 1 both show
_SIDE_CAMERA = {"eye": {"x": 1.85, "y": -1.28, "z": 0.7}}  # far enough that no tick label is cut off


def _arrow(start: np.ndarray, vec: np.ndarray, colour: str, name: str, *, dash: str = "solid") -> list[dict]:
    """A 3D arrow: a line from ``start`` to ``start + vec`` and a cone at the tip."""
    tip = start + vec
    line = {"type": "scatter3d", "x": f32([start[0], tip[0]]), "y": f32([start[1], tip[1]]),
            "z": f32([start[2], tip[2]]), "mode": "lines", "name": name, "legendgroup": name,
            "line": {"color": colour, "width": 7, "dash": dash}, "hoverinfo": "name"}  # fmt: skip
    cone = {"type": "cone", "x": f32(tip[:1]), "y": f32(tip[1:2]), "z": f32(tip[2:3]), "u": f32(vec[:1]),
            "v": f32(vec[1:2]), "w": f32(vec[2:3]), "anchor": "tip", "sizemode": "absolute", "sizeref": 0.35,
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
            data.append({"type": "scatter3d", "x": f32(pts[:, 0]), "y": f32(pts[:, 1]), "z": f32(pts[:, 2]),
                         "mode": "lines", "name": name, "connectgaps": False, "hoverinfo": "skip",
                         "line": {"color": PALETTE["sky"], "width": 2, "dash": dash}})  # fmt: skip
    if circle is not None:
        data.append({"type": "scatter3d", "x": f32(circle[:, 0]), "y": f32(circle[:, 1]), "z": f32(circle[:, 2]),
                     "mode": "lines", "name": "outputs: circle of radius √3 in Σy = 0",
                     "line": {"color": PALETTE["sky"], "width": 4}, "hoverinfo": "skip"})  # fmt: skip
    h = axis_half
    data.append({"type": "scatter3d", "x": f32([-h, h]), "y": f32([-h, h]), "z": f32([-h, h]), "mode": "lines",
                 "name": "all-ones axis 1", "line": {"color": PALETTE["grey"], "dash": "dash", "width": 4},
                 "hoverinfo": "name"})  # fmt: skip
    for name, start, vec, colour in arrows:
        data += _arrow(np.asarray(start), np.asarray(vec), colour, name)
    layout = scene_layout(
        height=height,
        # the legend (up to eight entries) beside the scene, not over it: the scene is wider than tall anyway
        scene={
            "camera": _SIDE_CAMERA,
            "aspectmode": "cube",
            "domain": {"x": [0.0, 0.68], "y": [0.0, 1.0]},
            **scene_axes(("x₁", "x₂", "x₃"), h),
        },
        legend={"x": 0.7, "y": 0.5, "yanchor": "middle", "itemsizing": "constant"},
    )
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
        return {"type": "scatter3d", "x": f32(p[mask, 0]), "y": f32(p[mask, 1]), "z": f32(p[mask, 2]),
                "mode": "markers", "name": name, "marker": {"size": size, "color": colour, "symbol": symbol},
                "hovertemplate": "(%{x:.2f}, %{y:.2f}, %{z:.2f})<extra>" + name + "</extra>"}  # fmt: skip

    everything = np.ones(len(normalized), dtype=bool)
    data = [
        {"type": "scatter3d", "x": f32(circle[:, 0]), "y": f32(circle[:, 1]), "z": f32(circle[:, 2]),
         "mode": "lines", "name": "circle ‖k‖ = √3 in Σk = 0", "line": {"color": PALETTE["sky"], "width": 3},
         "hoverinfo": "skip"},
        {"type": "scatter3d", "x": f32(hull[:, 0]), "y": f32(hull[:, 1]), "z": f32(hull[:, 2]), "mode": "lines",
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
    layout = scene_layout(
        height=height,
        scene={"camera": {"eye": {"x": 1.5, "y": 1.5, "z": 1.5}}, "aspectmode": "cube",
               "domain": {"x": [0.0, 0.68], "y": [0.0, 1.0]}, **scene_axes(("k₁", "k₂", "k₃"), half)},
        legend={"x": 0.7, "y": 0.5, "yanchor": "middle", "itemsizing": "constant"},
    )  # fmt: skip
    return go.Figure(data=data, layout=layout)
