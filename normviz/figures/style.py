"""The look every figure shares: Okabe & Ito's colour-blind-safe palette, grids, cameras, 3D axes.

Colours follow Okabe & Ito; continuous colour is Cividis. Arrays go to Plotly as float32 numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CAMERA",
    "GRID",
    "PALETTE",
    "SERIES_CYCLE",
    "TRANSPARENT",
    "UIREVISION",
    "cube_axes",
    "f32",
    "scene_domains",
    "scene_title",
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

TRANSPARENT = "rgba(0,0,0,0)"

GRID = "rgba(128,128,128,0.35)"

CAMERA = {"eye": {"x": 1.6, "y": 1.6, "z": 1.1}}  # first view only: uirevision keeps the user's after


def cube_axes(labels, point_sets) -> dict:
    """Equal ranges on all three axes (aspectmode "cube"), so a sphere looks round and a flat
    set (LayerNorm's plane seen in the ones+PC basis, d = 2) stays visible instead of collapsing."""
    half = max((float(np.abs(p).max()) for p in point_sets if p.size), default=1.0)
    half = 1.08 * half if half > 0 else 1.0
    axes = {
        ax: {
            "title": {"text": label},
            "gridcolor": GRID,
            "zerolinecolor": GRID,
            "backgroundcolor": TRANSPARENT,
            "range": [-half, half],
        }
        for ax, label in zip(("xaxis", "yaxis", "zaxis"), labels, strict=True)
    }
    return {"aspectmode": "cube", **axes}


def f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


SERIES_CYCLE = [PALETTE[c] for c in ("blue", "vermillion", "green", "orange", "purple", "sky")]


def scene_domains(n: int, cols: int, *, top: float = 1.0) -> list[dict]:
    rows = -(-n // cols)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x0, x1 = c / cols, (c + 1) / cols
        y1 = top - r * top / rows
        out.append({"x": [x0 + 0.005, x1 - 0.005], "y": [y1 - top / rows + 0.01, y1 - 0.06 * top / rows]})
    return out


def scene_title(text: str, domain: dict) -> dict:
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
