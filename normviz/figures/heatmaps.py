"""Heatmaps: matrices drawn as colour. Arrays in, ``go.Figure`` out, no maths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import PALETTE, base_layout, f32, panel_title

__all__ = ["Heatmap", "heatmaps_figure"]


@dataclass(frozen=True)
class Heatmap:
    """One panel of :func:`heatmaps_figure`: an ``(n, m)`` matrix, rows and columns numbered from 1.

    ``hover``: a Plotly hovertemplate (``%{customdata}`` is the value itself, also on a log scale);
    ``bounds``: separator lines after rows and columns k (sequence boundaries). ``log``, ``zrange`` and
    ``colourbar``, when given, set this panel's own colour scale (its own colour bar), overriding the figure's;
    ``blank_zeros``: exact zeros drawn blank on a linear scale too (a log scale always leaves them blank).

    >>> Heatmap("A", np.eye(2), ylabel="query").bounds
    ()
    """

    title: str
    z: np.ndarray
    xlabel: str = ""
    ylabel: str = ""
    hover: str = "%{y} ← %{x}: %{customdata:.3g}"
    bounds: Sequence[int] = ()
    log: bool | None = None
    zrange: tuple[float, float] | None = None
    colourbar: str | None = None
    blank_zeros: bool = False


def heatmaps_figure(
    panels: Sequence[Heatmap],
    *,
    log_colour: bool = False,
    zrange: tuple[float, float] | None = None,
    colourbar: str = "",
    height: int = 330,
) -> go.Figure:
    """Heatmaps side by side, rows top to bottom, square cells, Cividis colour.

    ``zrange``: one colour scale shared by every panel (one colour bar, on the last); without it each panel
    spans its own values and has its own colour bar. ``log_colour``: colour by log₁₀ of the (non-negative)
    values, with exact zeros left blank (the background shows through).
    """
    n = len(panels)
    gap = 0.06 if zrange and not any(p.zrange for p in panels) else 0.2  # room for a colour bar beside each panel
    width = (1.0 - gap * (n - 1)) / n
    data, layout, shapes, notes = [], {}, [], []
    for i, p in enumerate(panels):
        z = np.asarray(p.z, dtype=np.float64)
        log = log_colour if p.log is None else p.log
        colour = _log10_or_blank(z) if log else f32(np.where(z == 0, np.nan, z) if p.blank_zeros else z)
        xa, ya = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        x0 = i * (width + gap)
        own = p.zrange is not None or not zrange  # this panel has its own scale and colour bar
        lo, hi = p.zrange or zrange or _span(colour)
        trace = {
            "type": "heatmap", "z": colour, "customdata": f32(z), "name": p.title, "colorscale": "Cividis",
            "x": np.arange(1, z.shape[1] + 1, dtype=np.float32), "y": np.arange(1, z.shape[0] + 1, dtype=np.float32),
            "zmin": lo, "zmax": hi, "xaxis": xa, "yaxis": ya, "hoverongaps": False,
            "hovertemplate": p.hover + "<extra></extra>", "showscale": own or i == n - 1,
            "colorbar": {"title": {"text": colourbar if p.colourbar is None else p.colourbar, "side": "top"},
                         "len": 0.9, "thickness": 12},
        }  # fmt: skip
        if own and (not zrange or i < n - 1):
            trace["colorbar"] |= {"x": x0 + width + 0.01, "xanchor": "left"}
        data.append(trace)
        plain = {"showgrid": False, "zeroline": False, "constrain": "domain"}
        layout[f"xaxis{i + 1 if i else ''}"] = {"domain": [x0, x0 + width], "anchor": ya, "title": {"text": p.xlabel},
                                                **plain}  # fmt: skip
        layout[f"yaxis{i + 1 if i else ''}"] = {"anchor": xa, "title": {"text": p.ylabel}, "autorange": "reversed",
                                                "scaleanchor": xa, **plain}  # fmt: skip
        shapes += _separators(p.bounds, xa, ya)
        notes.append(panel_title(p.title, (x0, x0 + width)))
    layout |= base_layout(height=height, margin=(60, 40, 40, 50), annotations=notes, shapes=shapes)
    return go.Figure(data=data, layout=layout)


def _log10_or_blank(z: np.ndarray) -> np.ndarray:
    logz = np.full(z.shape, np.nan, dtype=np.float32)  # NaN = exactly 0, drawn as the background
    nz = z > 0
    logz[nz] = np.log10(z[nz])
    return logz


def _span(colour: np.ndarray) -> tuple[float, float]:
    finite = colour[np.isfinite(colour)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return lo, hi if hi > lo else lo + 1


def _separators(bounds: Sequence[int], xa: str, ya: str) -> list[dict]:
    line = {"type": "line", "line": {"color": PALETTE["vermillion"], "width": 1, "dash": "dot"}}
    out = []
    for k in bounds:
        out.append(line | {"x0": k + 0.5, "x1": k + 0.5, "y0": 0, "y1": 1, "xref": xa, "yref": f"{ya} domain"})
        out.append(line | {"y0": k + 0.5, "y1": k + 0.5, "x0": 0, "x1": 1, "yref": ya, "xref": f"{xa} domain"})
    return out
