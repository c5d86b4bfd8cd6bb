"""Small multiples: one 3D scene per panel (the Groups page's G subspaces), colour shared across panels.

Plotly figure builders: arrays in, ``go.Figure`` out. No maths, no Streamlit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from normviz.figures.scenes import _reference_traces
from normviz.figures.style import CAMERA, cube_axes, scene_domains, scene_layout, scene_title, xyz

__all__ = ["small_multiples_figure"]


def small_multiples_figure(panels: list[dict], *, cols: int = 3, height: int = 620, color_label: str = "") -> go.Figure:
    """One 3D scene per panel: ``{"title", "points": (n, 3), "color": (n,), "reference", "labels"}``.

    ``reference`` is a ``sphere.Reference`` (or None) drawn in the panel's scene. Colour is
    shared across panels (Cividis), so the same value has the same colour everywhere.
    """
    doms = scene_domains(len(panels), min(cols, len(panels)))
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
                **xyz(pts),
                "marker": {
                    "size": 2.5,
                    "opacity": 0.85,
                    "color": np.asarray(p["color"], dtype=np.float32),
                    "colorscale": "Cividis",
                    "cmin": cmin,
                    "cmax": cmax if cmax > cmin else cmin + 1,
                    "showscale": i == len(panels) - 1,
                    "colorbar": {"title": {"text": color_label, "side": "right"}, "len": 0.6, "thickness": 12},
                },
                "scene": scene,
                "showlegend": False,
                "name": p["title"],
                "hovertemplate": "(%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>",
            }
        )
        ref_pts = [] if ref is None or ref.curve is None else [np.asarray(ref.curve).reshape(-1, 3)]
        axes = cube_axes(p["labels"], [pts, *ref_pts])
        layout[scene] = axes | {"domain": dom, "camera": CAMERA}
        notes.append(scene_title(p["title"], dom))
    layout |= scene_layout(height=height, top=30, annotations=notes)
    return go.Figure(data=data, layout=layout)
