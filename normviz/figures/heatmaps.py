"""Heatmaps: matrices drawn as colour. Arrays in, ``go.Figure`` out, no maths."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import PALETTE, TRANSPARENT, f32

__all__ = ["coupling_heatmaps_figure", "heatmaps_figure"]


def heatmaps_figure(maps: list[np.ndarray], titles: list[str], *, height: int = 330) -> go.Figure:
    """Attention matrices side by side (rows: queries, columns: keys), one shared 0 … 1 colour scale."""
    n = len(maps)
    gap = 0.06
    width = (1 - gap * (n - 1)) / n
    data, layout = [], {}
    for i, (a, title) in enumerate(zip(maps, titles, strict=True)):
        sx = "" if i == 0 else str(i + 1)
        data.append({"type": "heatmap", "z": f32(a), "zmin": 0, "zmax": 1, "colorscale": "Cividis",
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
    layout |= {"height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "paper_bgcolor": TRANSPARENT,
               "plot_bgcolor": TRANSPARENT}  # fmt: skip
    return go.Figure(data=data, layout=layout)


def coupling_heatmaps_figure(panels: list[dict], *, height: int = 460) -> go.Figure:
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
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
    }
    return go.Figure(data=data, layout=layout)
