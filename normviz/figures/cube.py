"""The statistics cube figure: the (B, T, d) activation block drawn cell by cell, the shared set lit.

Builders only draw what they are given (no maths); arrays travel as float32 (base64 in the JSON).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import PALETTE, TRANSPARENT, UIREVISION, scene_domains, scene_title

__all__ = ["cube_figure"]

_CELL = 0.78  # edge of a drawn cell; the rest of each unit is the gap between cells
_PAD = 0.5  # cells of empty room at each end of an axis: the tick labels of two axes never meet at a corner
_BOX = 2.7  # the box's three aspect ratios add up to this (plotly's unit cube: 3): a flat block (8 × 6 × 3)
# fills its scene nearly as a cube would, and its tick labels get the room between them that a projector's type needs
_MAX_LABELS = 4  # tick labels per cell axis
LATTICE = "#8c8c8c"  # mid grey: the cells' edges read on the light and on the dark theme

# the 8 corners and 12 triangles of a unit cube
_CORNERS = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], float)

_TRIS = np.array(
    [
        [0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],  # bottom, top, front
        [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 3, 7], [0, 7, 4],  # back, right, left
    ]
)  # fmt: skip


_EDGES = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7))


def _boxes(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (8k, 3) and triangles (12k, 3) of cubes at integer cell positions ``cells: (k, 3)``."""
    k = len(cells)
    verts = (cells[:, None, :] + (1 - _CELL) / 2 + _CORNERS[None] * _CELL).reshape(8 * k, 3)
    tris = (_TRIS[None] + 8 * np.arange(k)[:, None, None]).reshape(12 * k, 3)
    return verts.astype(np.float32), tris.astype(np.int32)


def _mesh(cells: np.ndarray, color: str, opacity: float, name: str, scene: str, legend: bool) -> dict:
    verts, tris = _boxes(cells)
    return {
        "type": "mesh3d",
        "x": verts[:, 0],
        "y": verts[:, 1],
        "z": verts[:, 2],
        "i": tris[:, 0],
        "j": tris[:, 1],
        "k": tris[:, 2],
        "color": color,
        "opacity": opacity,
        "flatshading": True,
        "lighting": {"ambient": 0.75, "diffuse": 0.5, "specular": 0.05},
        "hoverinfo": "skip",
        "name": name,
        "legendgroup": name,
        "showlegend": legend,
        "scene": scene,
    }


def cube_figure(panels: list[dict], *, cols: int = 4, height: int = 520) -> go.Figure:
    """The (B, T, d) block as cells, one scene per panel, cameras linked.

    Each panel: ``{"title", "shared": bool (B, T, d), "cell": (b, t, j)}``. Cells are drawn at
    x = feature j, y = token t, z = sequence b: each sequence is one T × d slab.
    """
    doms = scene_domains(len(panels), min(cols, len(panels)))
    data, layout, notes = [], {}, []
    for i, (p, dom) in enumerate(zip(panels, doms, strict=True)):
        scene = "scene" if i == 0 else f"scene{i + 1}"
        shared = np.asarray(p["shared"], dtype=bool)
        B, T, d = shared.shape
        b, t, j = p["cell"]
        pos = np.argwhere(np.ones_like(shared))[:, [2, 1, 0]].astype(float)  # (B*T*d, 3) as (j, t, b)
        flat = shared.reshape(-1).copy()
        chosen = np.zeros_like(flat)
        chosen[(b * T + t) * d + j] = True
        rest = ~flat
        flat &= ~chosen
        first = i == 0
        data.append(_mesh(pos[rest], PALETTE["grey"], 0.10, "other cells", scene, first))
        data.append(_edges(pos, scene))
        if flat.any():
            data.append(_mesh(pos[flat], PALETTE["sky"], 0.9, "share its statistics", scene, first))
        data.append(_mesh(pos[chosen], PALETTE["vermillion"], 1.0, "the chosen cell", scene, first))
        layout[scene] = {
            "domain": dom,
            # proportions of the block: every cell a cube
            "aspectmode": "manual",
            "aspectratio": _aspect(d, T, B),
            "camera": {"eye": {"x": -1.35, "y": -1.55, "z": 0.75}},  # low: the B stack's ticks stand upright
            "xaxis": _cell_axis("feature j", d),
            "yaxis": _cell_axis("token t", T),
            "zaxis": _cell_axis("seq. b", B),  # short: it runs up the short vertical edge, towards "token t"
        }
        notes.append(scene_title(p["title"], dom))
    layout |= {
        "annotations": notes,
        "height": height,
        "margin": {"l": 16, "r": 0, "t": 30, "b": 0},  # room for the z title at the left edge
        "legend": {"orientation": "h", "y": -0.02, "x": 0.5, "xanchor": "center"},
        "paper_bgcolor": TRANSPARENT,
        "uirevision": UIREVISION,
    }
    return go.Figure(data=data, layout=layout)


def _aspect(d: int, T: int, B: int) -> dict:
    """Every cell a cube: the axes in proportion to their cells (with their padding), adding up to _BOX."""
    sides = {"x": d + 2 * _PAD, "y": T + 2 * _PAD, "z": B + 2 * _PAD}
    total = sum(sides.values())
    return {k: _BOX * n / total for k, n in sides.items()}


def _edges(cells: np.ndarray, scene: str) -> dict:
    """Every cell's 12 edges as one polyline (NaN between edges) in a mid grey that reads on a light and on a
    dark background: the lattice stays visible where the faint faces of the other cells nearly vanish."""
    lo = cells + (1 - _CELL) / 2
    seg = []
    for a, b in _EDGES:
        seg += [lo + _CORNERS[a] * _CELL, lo + _CORNERS[b] * _CELL, np.full_like(lo, np.nan)]
    pts = np.stack(seg, 1).reshape(-1, 3)[:-1].astype(np.float32)  # no trailing NaN (plotly.js drops the lines)
    return {"type": "scatter3d", "mode": "lines", "x": pts[:, 0], "y": pts[:, 1], "z": pts[:, 2], "scene": scene,
            "line": {"color": LATTICE, "width": 1}, "opacity": 0.55, "hoverinfo": "skip", "showlegend": False,
            "name": "cell edges"}  # fmt: skip


def _cell_axis(title: str, n: int) -> dict:
    """A cell axis labelled 1, 2, … as a class counts, at most four labels (1, 3, 5, 7 of 8 cells; 1, 4, 7, 10 of
    12): all eight of 8 ran into each other at the far, foreshortened end in presentation mode and at 125% zoom."""
    step = -(-n // _MAX_LABELS)
    cells = np.arange(0, n, step)
    return {
        "title": {"text": title},
        "tickvals": (cells + 0.5).astype(np.float32),
        "ticktext": [str(k + 1) for k in cells],
        "range": [-_PAD, n + _PAD],  # room between the box's corners and the first ticks of two axes
        "showgrid": False,  # the cells are the grid
        "zeroline": False,
        "showbackground": False,
        "showspikes": False,
    }
