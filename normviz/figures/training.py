"""The Training page's figures: loss (and accuracy) curves over steps, and layer × step heatmaps. No maths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import GRID, LEGEND_ABOVE, TRANSPARENT, base_layout, f32, panel_title

__all__ = ["Curve", "curves_figure", "layer_heatmap"]


@dataclass(frozen=True)
class Curve:
    """One configuration's curves: the mean over its seeds, and (eval points) the min … max band over seeds.

    ``steps``/``train``: the training loss per step; ``eval_steps``/``eval``: the held-out loss; ``acc``: the
    held-out accuracy (digits; empty otherwise); ``diverged``: (step, loss) where a seed's run diverged.
    """

    name: str
    colour: str
    steps: np.ndarray
    train: np.ndarray
    eval_steps: np.ndarray
    eval: np.ndarray
    eval_low: np.ndarray | None = None
    eval_high: np.ndarray | None = None
    acc: np.ndarray | None = None
    acc_low: np.ndarray | None = None
    acc_high: np.ndarray | None = None
    diverged: tuple[tuple[int, float], ...] = ()


def curves_figure(curves: Sequence[Curve], *, steps: int, accuracy: bool, height: int = 400) -> go.Figure:
    """Loss against step (train: thin line; held-out: dashed with markers, min … max bars over seeds) and,
    with ``accuracy``, a second panel of held-out accuracy. The x axes span 0 … ``steps`` from the start,
    so the curves grow into a fixed frame."""
    split = 0.64 if accuracy else 1.0
    data: list[dict] = []
    for c in curves:
        group = {"legendgroup": c.name, "line": {"color": c.colour}}
        data.append({"type": "scatter", "x": f32(c.steps), "y": f32(c.train), "name": f"{c.name} (train)",
                     "mode": "lines", **group, "line": {"color": c.colour, "width": 1.2}, "opacity": 0.75,
                     "hovertemplate": "step %{x}: %{y:.3f}<extra>%{fullData.name}</extra>"})  # fmt: skip
        data.append(_eval_trace(c, c.eval, c.eval_low, c.eval_high, "held-out", "x", "y") | group)
        if c.diverged:
            steps_d, loss_d = zip(*c.diverged, strict=True)
            data.append({"type": "scatter", "x": f32(np.array(steps_d)), "y": f32(np.array(loss_d)),
                         "name": f"{c.name} diverged", "mode": "markers", "showlegend": False,
                         "marker": {"symbol": "x", "size": 12, "color": c.colour},
                         "hovertemplate": "diverged at step %{x}<extra></extra>"})  # fmt: skip
        if accuracy and c.acc is not None and len(c.acc):
            acc = _eval_trace(c, c.acc, c.acc_low, c.acc_high, "accuracy", "x2", "y2")
            data.append(acc | group | {"showlegend": False})
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "range": [0, steps], "title": {"text": "step"}}
    layout = base_layout(
        height=height, margin=(60, 20, 30, 45), legend=LEGEND_ABOVE | {"font": {"size": 11}},
        xaxis=axis | {"domain": [0, split - 0.08 if accuracy else 1]},
        yaxis={"gridcolor": GRID, "title": {"text": "loss (cross-entropy, nats)"}, "rangemode": "tozero"},
    )  # fmt: skip
    if accuracy:
        layout |= {
            "xaxis2": axis | {"domain": [split, 1], "anchor": "y2"},
            "yaxis2": {"gridcolor": GRID, "range": [0, 1], "anchor": "x2", "title": {"text": "held-out accuracy"}},
        }
    return go.Figure(data=data, layout=layout)


def _eval_trace(c: Curve, y, low, high, what: str, xa: str, ya: str) -> dict:
    trace = {"type": "scatter", "x": f32(c.eval_steps), "y": f32(y), "name": f"{c.name} ({what})", "xaxis": xa,
             "yaxis": ya, "mode": "lines+markers", "marker": {"size": 5},
             "hovertemplate": "step %{x}: %{y:.3f}<extra>%{fullData.name}</extra>"}  # fmt: skip
    if low is not None and high is not None and len(y):
        y, low, high = (np.asarray(v, dtype=np.float64) for v in (y, low, high))
        trace["error_y"] = {"type": "data", "symmetric": False, "array": f32(high - y), "arrayminus": f32(y - low),
                            "color": c.colour, "thickness": 1, "width": 2}  # fmt: skip
    return trace | {"line": {"color": c.colour, "width": 2, "dash": "dash"}}


def layer_heatmap(
    z: np.ndarray, x: np.ndarray, *, title: str, colourbar: str, xlabel: str = "step", height: int = 260
) -> go.Figure:
    """``z``: (layers, len(x)) positive values, coloured by log₁₀ (Cividis); row 1 is the first block (top)."""
    z = np.asarray(z, dtype=np.float64)
    logz = np.full(z.shape, np.nan)
    ok = np.isfinite(z) & (z > 0)
    logz[ok] = np.log10(z[ok])
    trace = {
        "type": "heatmap", "z": f32(logz), "customdata": f32(z), "x": f32(x),
        "y": np.arange(1, z.shape[0] + 1, dtype=np.float32), "colorscale": "Cividis", "hoverongaps": False,
        "hovertemplate": "layer %{y}, " + xlabel + " %{x}: %{customdata:.3g}<extra></extra>",
        "colorbar": {"title": {"text": colourbar, "side": "right"}, "thickness": 12},
    }  # fmt: skip
    layout = base_layout(
        height=height, margin=(60, 20, 30, 45), annotations=[panel_title(title, (0, 1))],
        xaxis={"title": {"text": xlabel}, "showgrid": False}, plot_bgcolor=TRANSPARENT,
        yaxis={"title": {"text": "layer"}, "autorange": "reversed", "showgrid": False, "dtick": 1},
    )  # fmt: skip
    return go.Figure(data=[trace], layout=layout)
