"""Figures for "who shares statistics with whom": coupling heatmaps, moving tokens, groups, bars.

The statistics cube has its own module, ``figures_cube``.

Builders only draw what they are given (no maths); arrays travel as float32 (base64 in the JSON).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures import _GRID, _TRANSPARENT, PALETTE, UIREVISION, _cube_axes, _reference_traces

__all__ = ["bars_figure", "heatmaps_figure", "motion_figure", "small_multiples_figure"]


def _scene_domains(n: int, cols: int, *, top: float = 1.0) -> list[dict]:
    rows = -(-n // cols)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x0, x1 = c / cols, (c + 1) / cols
        y1 = top - r * top / rows
        out.append({"x": [x0 + 0.005, x1 - 0.005], "y": [y1 - top / rows + 0.01, y1 - 0.06 * top / rows]})
    return out


def _title(text: str, domain: dict) -> dict:
    return {
        "text": text,
        "x": (domain["x"][0] + domain["x"][1]) / 2,
        "y": domain["y"][1],
        "xref": "paper",
        "yref": "paper",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 14},
    }


def heatmaps_figure(panels: list[dict], *, height: int = 460) -> go.Figure:
    """Heatmaps of non-negative matrices side by side, log colour, exact zeros left blank.

    Each panel: ``{"title", "z": (n, m) values ≥ 0, "xlabel", "ylabel", "hover", "bounds": [k, ...]}``;
    ``bounds`` draws separator lines after rows/columns k (sequence boundaries).
    """
    n = len(panels)
    gap = 0.2
    width = (1.0 - gap * (n - 1)) / n
    data, layout, shapes, notes = [], {}, [], []
    for i, p in enumerate(panels):
        z = np.asarray(p["z"], dtype=np.float64)
        logz = np.full(z.shape, np.nan, dtype=np.float32)  # NaN = exactly 0, drawn as the background
        nz = z > 0
        logz[nz] = np.log10(z[nz])
        xa, ya = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        x0 = i * (width + gap)
        finite = logz[nz]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        data.append(
            {
                "type": "heatmap",
                "z": logz,
                "customdata": z.astype(np.float32),
                "x": np.arange(1, z.shape[1] + 1, dtype=np.float32),
                "y": np.arange(1, z.shape[0] + 1, dtype=np.float32),
                "colorscale": "Cividis",
                "zmin": lo,
                "zmax": hi if hi > lo else lo + 1,
                "xaxis": xa,
                "yaxis": ya,
                "hoverongaps": False,
                "hovertemplate": p.get("hover", "%{y} ← %{x}: %{customdata:.3g}") + "<extra></extra>",
                "colorbar": {
                    "title": {"text": "log₁₀", "side": "top"},
                    "x": x0 + width + 0.01,
                    "xanchor": "left",
                    "len": 0.9,
                    "thickness": 12,
                },
            }
        )
        layout[f"xaxis{i + 1 if i else ''}"] = {
            "domain": [x0, x0 + width],
            "anchor": ya,
            "title": {"text": p.get("xlabel", "")},
            "showgrid": False,
            "zeroline": False,
            "constrain": "domain",
        }
        layout[f"yaxis{i + 1 if i else ''}"] = {
            "anchor": xa,
            "title": {"text": p.get("ylabel", "")},
            "autorange": "reversed",
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": xa,
            "constrain": "domain",
        }
        for k in p.get("bounds", []):
            for axis in ("x", "y"):
                line = {"type": "line", "line": {"color": PALETTE["vermillion"], "width": 1, "dash": "dot"}}
                if axis == "x":
                    line |= {"x0": k + 0.5, "x1": k + 0.5, "y0": 0, "y1": 1, "xref": xa, "yref": f"{ya} domain"}
                else:
                    line |= {"y0": k + 0.5, "y1": k + 0.5, "x0": 0, "x1": 1, "yref": ya, "xref": f"{xa} domain"}
                shapes.append(line)
        notes.append(
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
    layout |= {
        "annotations": notes,
        "shapes": shapes,
        "height": height,
        "margin": {"l": 60, "r": 40, "t": 40, "b": 50},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
    }
    return go.Figure(data=data, layout=layout)


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
        pts = current[idx].astype(np.float32)
        data.append(
            {
                "type": "scatter3d",
                "mode": "markers",
                "x": pts[:, 0],
                "y": pts[:, 1],
                "z": pts[:, 2],
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
    scene = _cube_axes(axis_labels, [trails.reshape(-1, 3)])
    layout = {
        "scene": scene | {"camera": {"eye": {"x": 1.6, "y": 1.6, "z": 1.1}}},
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 10, "b": 0},
        "legend": {"orientation": "h", "y": 0.02, "x": 0.5, "xanchor": "center"},
        "paper_bgcolor": _TRANSPARENT,
        "uirevision": UIREVISION,
    }
    return go.Figure(data=data, layout=layout)


def small_multiples_figure(panels: list[dict], *, cols: int = 3, height: int = 620, color_label: str = "") -> go.Figure:
    """One 3D scene per panel: ``{"title", "points": (n, 3), "color": (n,), "reference", "labels"}``.

    ``reference`` is a ``sphere.Reference`` (or None) drawn in the panel's scene. Colour is
    shared across panels (Cividis), so the same value has the same colour everywhere.
    """
    doms = _scene_domains(len(panels), min(cols, len(panels)))
    colors = [np.asarray(p["color"]) for p in panels if len(p["color"])]
    cmin = float(min(c.min() for c in colors)) if colors else 0.0
    cmax = float(max(c.max() for c in colors)) if colors else 1.0
    data, layout, notes = [], {}, []
    for i, (p, dom) in enumerate(zip(panels, doms, strict=True)):
        scene = "scene" if i == 0 else f"scene{i + 1}"
        ref = p.get("reference")
        refs = []
        if ref is not None:
            refs = [t | {"scene": scene, "showlegend": False} for t in _reference_traces(ref)]
        pts = np.asarray(p["points"], dtype=np.float32)
        data.extend(refs)
        data.append(
            {
                "type": "scatter3d",
                "mode": "markers",
                "x": pts[:, 0],
                "y": pts[:, 1],
                "z": pts[:, 2],
                "marker": {
                    "size": 2.5,
                    "opacity": 0.85,
                    "color": np.asarray(p["color"], dtype=np.float32),
                    "colorscale": "Cividis",
                    "cmin": cmin,
                    "cmax": cmax if cmax > cmin else cmin + 1,
                    "showscale": i == len(panels) - 1,
                    "colorbar": {"title": {"text": color_label}, "len": 0.6, "thickness": 12},
                },
                "scene": scene,
                "showlegend": False,
                "name": p["title"],
                "hovertemplate": "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>",
            }
        )
        ref_pts = [] if ref is None or ref.curve is None else [np.asarray(ref.curve).reshape(-1, 3)]
        axes = _cube_axes(p["labels"], [pts, *ref_pts])
        layout[scene] = axes | {"domain": dom, "camera": {"eye": {"x": 1.5, "y": 1.5, "z": 1.0}}}
        notes.append(_title(p["title"], dom))
    layout |= {
        "annotations": notes,
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 30, "b": 0},
        "paper_bgcolor": _TRANSPARENT,
        "uirevision": UIREVISION,
    }
    return go.Figure(data=data, layout=layout)


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

    ``floor``: on a log axis, draw values below it (exact zeros) at the floor.
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
    layout = {
        "barmode": "group",
        "height": height,
        "xaxis": {"title": {"text": xlabel}, "type": "category", "gridcolor": _GRID},
        "yaxis": {"title": {"text": ylabel}, "type": "log" if log_y else "linear", "gridcolor": _GRID},
        "shapes": shapes,
        "annotations": notes,
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "paper_bgcolor": _TRANSPARENT,
        "plot_bgcolor": _TRANSPARENT,
    }
    return go.Figure(data=data, layout=layout)
