"""Plotly figure builders: arrays in, ``go.Figure`` out. No maths, no Streamlit.

Colours follow Okabe & Ito's colour-blind-safe palette; continuous colour is Cividis.
Arrays go to Plotly as float32 numpy (base64 in the JSON), never as lists.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "PALETTE",
    "UIREVISION",
    "elementwise_figure",
    "histograms_figure",
    "sphere_pair_figure",
    "sphere_view_figure",
]

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
_CAMERA = {"eye": {"x": 1.6, "y": 1.6, "z": 1.1}}  # first view only: uirevision keeps the user's after


def sphere_pair_figure(
    before: np.ndarray,
    after: np.ndarray,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    axis_labels: tuple[str, str, str] = ("x", "y", "z"),
    titles: tuple[str, str] = ("before", "after"),
    reference=None,
    height: int = 520,
) -> go.Figure:
    """Two 3D scenes side by side, same axes: ``before`` and ``after`` are ``(n, 3)`` coordinates.

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
                "x": pts[:, 0],
                "y": pts[:, 1],
                "z": pts[:, 2],
                "mode": "markers",
                "marker": m,
                "name": name,
                "hovertemplate": hovertemplate,
                "scene": scene,
            }
        )
    if reference is not None:
        data += [t | {"scene": "scene2"} for t in _reference_traces(reference)]
    layout = {
        "scene": {
            "domain": {"x": [0.0, 0.47], "y": [0.0, 0.93]},
            "camera": _CAMERA,
            **_cube_axes(axis_labels, [before]),
        },
        "scene2": {
            "domain": {"x": [0.49, 0.96], "y": [0.0, 0.93]},
            "camera": _CAMERA,
            **_cube_axes(axis_labels, [after, *_reference_points(reference)]),
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
            for t, x in zip(titles, (0.235, 0.725), strict=True)
        ],
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 10, "b": 0},
        "uirevision": UIREVISION,
        "paper_bgcolor": _TRANSPARENT,
        "showlegend": False,
    }
    return go.Figure(data=data, layout=layout)


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


def _cube_axes(labels, point_sets) -> dict:
    """Equal ranges on all three axes (aspectmode "cube"), so a sphere looks round and a flat
    set (LayerNorm's plane seen in the ones+PC basis, d = 2) stays visible instead of collapsing."""
    half = max((float(np.abs(p).max()) for p in point_sets if p.size), default=1.0)
    half = 1.08 * half if half > 0 else 1.0
    axes = {
        ax: {
            "title": {"text": label},
            "gridcolor": _GRID,
            "zerolinecolor": _GRID,
            "backgroundcolor": _TRANSPARENT,
            "range": [-half, half],
        }
        for ax, label in zip(("xaxis", "yaxis", "zaxis"), labels, strict=True)
    }
    return {"aspectmode": "cube", **axes}


def _reference_points(ref) -> list[np.ndarray]:
    if ref is None:
        return []
    return [np.asarray(a) for a in (ref.curve, *(ref.mesh or ()), *(ref.plane or ())) if a is not None]


def _reference_traces(ref) -> list[dict]:
    color = PALETTE["vermillion"]
    traces = []
    if ref.plane is not None:
        px, py, pz = ref.plane
        traces.append(
            {
                "type": "surface",
                "x": px,
                "y": py,
                "z": pz,
                "opacity": 0.18,
                "showscale": False,
                "hoverinfo": "skip",
                "colorscale": [[0, PALETTE["sky"]], [1, PALETTE["sky"]]],
                "name": "plane Σy = 0",
            }
        )
    if ref.mesh is not None:
        mx, my, mz = ref.mesh
        traces.append(
            {
                "type": "surface",
                "x": mx,
                "y": my,
                "z": mz,
                "opacity": 0.12,
                "showscale": False,
                "hoverinfo": "skip",
                "colorscale": [[0, color], [1, color]],
                "name": ref.kind,
            }
        )
    if ref.curve is not None:
        c = ref.curve
        if ref.kind == "points":  # the line y1 + y2 = 0 and the only two possible outputs on it
            traces.append(
                {
                    "type": "scatter3d",
                    "x": c[:, 0],
                    "y": c[:, 1],
                    "z": c[:, 2],
                    "mode": "lines",
                    "line": {"color": PALETTE["sky"], "width": 4},
                    "hoverinfo": "skip",
                }
            )
            traces.append(
                {
                    "type": "scatter3d",
                    "x": c[1:3, 0],
                    "y": c[1:3, 1],
                    "z": c[1:3, 2],
                    "mode": "markers",
                    "marker": {"size": 7, "color": color, "symbol": "diamond"},
                    "hovertemplate": "only possible output<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
                }
            )
        else:
            traces.append(
                {
                    "type": "scatter3d",
                    "x": c[:, 0],
                    "y": c[:, 1],
                    "z": c[:, 2],
                    "mode": "lines",
                    "opacity": 0.7,
                    "line": {"color": color, "width": 3},
                    "hoverinfo": "skip",
                    "name": ref.kind,
                }
            )
    return traces


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
            "gridcolor": _GRID,
            "title": {"text": p.get("xlabel", "")},
        }
        layout[f"yaxis{i + 1 if i else ''}"] = {
            "anchor": xa,
            "gridcolor": _GRID,
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
        annotations.append(
            {
                "text": p["title"],
                "x": x0 + width / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
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
    layout |= {
        "shapes": shapes,
        "annotations": annotations,
        "height": height,
        "bargap": 0.05,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
    }
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
    layout = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "xaxis": {"title": {"text": xlabel}, "gridcolor": _GRID, "zerolinecolor": _GRID},
        "yaxis": {"title": {"text": ylabel}, "gridcolor": _GRID, "zerolinecolor": _GRID},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
    }
    return go.Figure(data=data, layout=layout)
