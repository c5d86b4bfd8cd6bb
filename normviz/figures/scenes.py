"""Plotly figure builders: arrays in, ``go.Figure`` out. No maths, no Streamlit.

Colours follow Okabe & Ito's colour-blind-safe palette; continuous colour is Cividis.
Arrays go to Plotly as float32 numpy (base64 in the JSON), never as lists.
"""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import (
    CAMERA,
    PALETTE,
    SERIES_CYCLE,
    SYMBOLS,
    cube_axes,
    inset_ticks,
    scene_axes,
    scene_layout,
    xyz,
)

__all__ = [
    "cloud_figure",
    "motion_figure",
    "real_pair_figure",
    "sphere_pair_figure",
    "sphere_view_figure",
]


def sphere_pair_figure(
    before: np.ndarray,
    after: np.ndarray,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    categories: np.ndarray | None = None,
    category_label: str = "",
    axis_labels: tuple[str, str, str] = ("x", "y", "z"),
    titles: tuple[str, str] = ("before", "after"),
    reference=None,
    height: int = 520,
) -> go.Figure:
    """Two 3D scenes side by side, same axes: ``before`` and ``after`` are ``(n, 3)`` coordinates.

    ``color``: a continuous value per point (a Cividis colour bar). ``categories``: an integer label per point
    (a sequence number): discrete colours from the colour-blind-safe cycle, with a marker symbol of its own for
    each turn of the cycle, named in a legend as "``category_label`` k" (a category is never a colour bar).

    ``reference`` (a ``sphere.Reference`` or None) is drawn in the right-hand scene: a
    curve (circle, line with points), a mesh (sphere, ball) and/or a plane. Built from plain
    dicts (``make_subplots`` costs ~15 ms per figure; this whole builder ~3 ms).
    """
    marker = {"size": 2.5, "opacity": 0.85}
    if color is not None:
        marker |= {
            "color": color,
            "colorscale": "Cividis",
            "cmin": float(color.min()) if color.size else 0,
            "cmax": float(color.max()) if color.size else 1,
        }
    elif categories is not None:
        labels = np.unique(categories)
        slot = np.searchsorted(labels, categories)  # 0 … len(labels) − 1, in label order
        n = len(SERIES_CYCLE)
        marker |= {"color": [SERIES_CYCLE[k % n] for k in slot], "symbol": [SYMBOLS[k // n % 4] for k in slot]}
    else:
        marker |= {"color": PALETTE["blue"]}
    hovertemplate = "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>"
    data = []
    for scene, pts, name in (("scene", before, "input tokens"), ("scene2", after, "output tokens")):
        m = dict(marker)
        if scene == "scene" and color is not None:
            m["showscale"] = True
            m["colorbar"] = {"title": {"text": color_label, "side": "right"}, "thickness": 12, "len": 0.7, "x": 1.0}
        data.append(
            {
                "type": "scatter3d",
                **xyz(pts),
                "mode": "markers",
                "marker": m,
                "name": name,
                "hovertemplate": hovertemplate,
                "scene": scene,
            }
        )
    if reference is not None:
        data += [t | {"scene": "scene2"} for t in _reference_traces(reference)]
    legend = categories is not None and len(categories) > 0
    if legend:  # one legend entry per category (no points of their own: the points are in the traces above)
        n = len(SERIES_CYCLE)
        data += [
            {"type": "scatter3d", "x": [None], "y": [None], "z": [None], "mode": "markers", "scene": "scene",
             "name": f"{category_label} {int(v)}", "hoverinfo": "skip",
             "marker": {"size": 8, "color": SERIES_CYCLE[k % n], "symbol": SYMBOLS[k // n % 4]}}
            for k, v in enumerate(np.unique(categories))
        ]  # fmt: skip
    layout = {
        "scene": {
            "domain": {"x": [0.0, 0.47], "y": [0.0, 0.93]},
            "camera": CAMERA,
            **cube_axes(axis_labels, [before]),
        },
        "scene2": {
            "domain": {"x": [0.49, 0.96], "y": [0.0, 0.93]},
            "camera": CAMERA,
            **cube_axes(axis_labels, [after, *_reference_points(reference)]),
        },
        "annotations": [
            {
                "text": t,
                "x": x,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "xanchor": "center",
                "yanchor": "top",
                "font": {"size": 14},
            }
            for t, x in zip(map(_two_lines, titles), (0.235, 0.725), strict=True)
        ],
        **scene_layout(height=height),
        "showlegend": legend,
    }
    if legend:
        layout["legend"] = {"orientation": "h", "x": 0.0, "y": -0.02, "yanchor": "top"}
    return go.Figure(data=data, layout=layout)


def _two_lines(title: str, longest: int = 30) -> str:
    """A long scene title on two lines (its parenthesis on the second, else split near the middle): two
    ~45-character titles side by side overlap or run off the figure 660 px wide (125% zoom, sidebar open)."""
    if len(title) <= longest:
        return title
    head, sep, rest = title.partition(" (")
    if sep:
        return f"{head}<br>({rest}"
    return "<br>".join(textwrap.wrap(title, width=(len(title) + 1) // 2 + 8, max_lines=2, placeholder=" …"))


def sphere_view_figure(view, norm_label: str) -> go.Figure:
    """The Hypersphere page's before/after figure for a ``sphere.SphereView``: titles say what the axes keep."""
    exact = view.basis.method == "exact"
    kept_in = "exact coordinates" if exact else f"axes keep {view.kept_before:.0%} of Σ‖x‖²"
    kept_out = "" if exact else f" (axes keep {view.kept_after:.0%} of Σ‖y‖²)"
    return sphere_pair_figure(
        view.before,
        view.after,
        color=view.color,
        color_label="log₁₀ ‖x‖",
        axis_labels=view.basis.labels,
        titles=(f"input x ({kept_in})", f"output {norm_label}(x){kept_out}"),
        reference=view.reference,
    )


def _reference_points(ref) -> list[np.ndarray]:
    if ref is None:
        return []
    return [np.asarray(a) for a in (ref.curve, *(ref.mesh or ()), *(ref.plane or ())) if a is not None]


def _grid_lines(grid, every: tuple[int, int]) -> np.ndarray:
    """A surface's (x, y, z) grids as one polyline (m, 3): every ``every[0]``-th row and ``every[1]``-th column of
    the grid, a NaN row between them (plotly breaks a line at NaN)."""
    x, y, z = (np.asarray(a, dtype=np.float32) for a in grid)
    rows, cols = x.shape
    gap = np.full((1, 3), np.nan, dtype=np.float32)
    pieces = []
    for i in range(0, rows, every[0]):
        pieces += [np.stack([x[i], y[i], z[i]], axis=1), gap]
    for j in range(0, cols, every[1]):
        pieces += [np.stack([x[:, j], y[:, j], z[:, j]], axis=1), gap]
    return np.concatenate(pieces)


def _reference_traces(ref) -> list[dict]:
    """The set the outputs lie on, as lines: a plane's rim, an ellipsoid's or a ball's wireframe (a surface trace
    redraws 100-250 ms slower in software WebGL, every frame of a live control; a line costs a few ms)."""
    color = PALETTE["vermillion"]
    traces = []
    if ref.plane is not None:
        traces.append(
            {
                "type": "scatter3d",
                **xyz(_grid_lines(ref.plane, (1, 1))),
                "mode": "lines",
                "line": {"color": PALETTE["sky"], "width": 3},
                "opacity": 0.6,
                "hoverinfo": "skip",
                "name": "plane Σy = 0",
            }
        )
    if ref.mesh is not None:
        rows, cols = np.asarray(ref.mesh[0]).shape  # about 6 circles of latitude, 6 half meridians
        traces.append(
            {
                "type": "scatter3d",
                **xyz(_grid_lines(ref.mesh, (max(1, rows // 6), max(1, cols // 6)))),
                "mode": "lines",
                "line": {"color": color, "width": 2},
                "opacity": 0.35,
                "hoverinfo": "skip",
                "name": ref.kind,
            }
        )
    if ref.curve is not None:
        c = ref.curve
        if ref.kind == "points":  # the line y1 + y2 = 0 and the only two possible outputs on it
            traces.append(
                {
                    "type": "scatter3d",
                    **xyz(c),
                    "mode": "lines",
                    "line": {"color": PALETTE["sky"], "width": 4},
                    "hoverinfo": "skip",
                }
            )
            traces.append(
                {
                    "type": "scatter3d",
                    **xyz(c[1:3]),
                    "mode": "markers",
                    "marker": {"size": 7, "color": color, "symbol": "diamond"},
                    "hovertemplate": "only possible output<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
                }
            )
        else:
            traces.append(
                {
                    "type": "scatter3d",
                    **xyz(c),
                    "mode": "lines",
                    "opacity": 0.7,
                    "line": {"color": color, "width": 3},
                    "hoverinfo": "skip",
                    "name": ref.kind,
                }
            )
    return traces


def cloud_figure(
    points: np.ndarray,
    marker_point: np.ndarray,
    *,
    axis_labels: tuple[str, str, str],
    ranges: np.ndarray | None = None,
    names: tuple[str, str] = ("BatchNorm output, one per batch", "LayerNorm output"),
    height: int = 460,
) -> go.Figure:
    """One 3D scene: a cloud ``points (K, 3)`` and one highlighted point ``marker_point (3,)``.

    ``ranges (3, 2)``: each axis's [low, high], as the library fitted them (one cube for every batch size,
    so a smaller cloud is drawn smaller); None fits a cube to these points.
    """
    data = [
        {"type": "scatter3d", "x": points[:, 0], "y": points[:, 1], "z": points[:, 2], "mode": "markers",
         "name": names[0], "marker": {"size": 3, "color": PALETTE["blue"], "opacity": 0.8},
         "hovertemplate": "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra>" + names[0] + "</extra>"},
        {"type": "scatter3d", "x": marker_point[:1], "y": marker_point[1:2], "z": marker_point[2:3],
         "mode": "markers", "name": names[1],
         "marker": {"size": 9, "color": PALETTE["vermillion"], "symbol": "diamond"},
         "hovertemplate": "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra>" + names[1] + "</extra>"},
    ]  # fmt: skip
    layout = scene_layout(
        height=height,
        scene={"camera": CAMERA, **_ranged_axes(axis_labels, ranges, [points, marker_point[None, :]])},
        legend={"orientation": "h", "y": 1.0, "x": 0},
    )
    return go.Figure(data=data, layout=layout)


def _ranged_axes(labels, ranges, point_sets) -> dict:
    if ranges is None:
        return cube_axes(labels, point_sets)
    axes = scene_axes(labels, 1.0)
    for ax, (lo, hi) in zip(("xaxis", "yaxis", "zaxis"), np.asarray(ranges, dtype=np.float64), strict=True):
        axes[ax] |= {"range": [float(lo), float(hi)], **inset_ticks(float(lo), float(hi))}
    return {"aspectmode": "cube", **axes}


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


def motion_figure(
    current: np.ndarray,
    trails: np.ndarray,
    roles: np.ndarray,
    *,
    axis_labels: tuple[str, str, str],
    height: int = 560,
) -> go.Figure:
    """Token outputs ``current: (N, 3)`` now, ``trails: (S, N, 3)`` over the whole slide.

    ``roles: (N,)`` int: 0 = the moved token, 1 = same sequence, 2 = other sequences.
    """
    names = ("the moved token", "its own sequence", "other sequences")
    colors = (PALETTE["vermillion"], PALETTE["orange"], PALETTE["blue"])
    data = []
    for role in (2, 1, 0):
        idx = np.flatnonzero(roles == role)
        if idx.size == 0:
            continue
        # every token's trail as one polyline, NaN between tokens
        seg = np.concatenate([trails[:, idx, :].transpose(1, 0, 2), np.full((idx.size, 1, 3), np.nan)], 1)
        seg = seg.reshape(-1, 3)[:-1].astype(np.float32)  # no trailing NaN: plotly.js then drops the lines
        data.append(
            {
                "type": "scatter3d",
                "mode": "lines",
                "x": seg[:, 0],
                "y": seg[:, 1],
                "z": seg[:, 2],
                "line": {"color": colors[role], "width": 4 if role == 0 else 2},
                "hoverinfo": "skip",
                "name": f"path: {names[role]}",
                "showlegend": False,
                "legendgroup": names[role],
            }
        )
        data.append(
            {
                "type": "scatter3d",
                "mode": "markers",
                **xyz(current[idx]),
                "marker": {
                    "size": 8 if role == 0 else 4,
                    "color": colors[role],
                    "symbol": "diamond" if role == 0 else "circle",
                },
                "name": names[role],
                "legendgroup": names[role],
                "customdata": (idx + 1).astype(np.float32),
                "hovertemplate": "token %{customdata}<extra>" + names[role] + "</extra>",
            }
        )
    scene = cube_axes(axis_labels, [trails.reshape(-1, 3)])
    layout = scene_layout(
        height=height,
        scene=scene | {"camera": {"eye": {"x": 1.6, "y": 1.6, "z": 1.1}}},
        legend={"orientation": "h", "y": 0.02, "x": 0.5, "xanchor": "center"},
    )
    return go.Figure(data=data, layout=layout)
