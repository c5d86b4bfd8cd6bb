"""A strip of values, one marker per token of a batch: what BatchNorm and LayerNorm give one feature.
Arrays in, a figure out, no maths."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from normviz.figures.style import GRID, LEGEND_ABOVE, PALETTE, SERIES_CYCLE, UIREVISION, base_layout, f32

__all__ = ["token_strip_figure"]


def token_strip_figure(
    series: Sequence[tuple[str, np.ndarray]],
    *,
    hit: np.ndarray,
    labels: Sequence[str] = (),
    xlabel: str = "token of the batch",
    ylabel: str = "",
    height: int = 340,
) -> go.Figure:
    """One marker trace per ``(name, values (n,))``; tokens where ``hit`` is True drawn as large diamonds.

    NaN values (a token left out of a series) are not drawn.
    """
    x = np.arange(len(hit), dtype=np.float32)
    text = list(labels) if labels else None
    data = []
    for i, (name, y) in enumerate(series):
        colour = SERIES_CYCLE[i % len(SERIES_CYCLE)]
        size = np.where(hit, 12, 6).astype(np.float32)
        symbol = np.where(hit, "diamond", "circle").tolist()
        data.append({
            "type": "scatter", "x": x, "y": f32(y), "mode": "markers", "name": name, "text": text,
            "marker": {"color": colour, "size": size, "symbol": symbol, "line": {"width": 0}},
            "hovertemplate": "%{text}<br>%{y:.4g}<extra>" + name + "</extra>" if text else None,
        })  # fmt: skip
    axis = {"gridcolor": GRID, "zerolinecolor": GRID}
    layout = base_layout(
        height=height,
        margin=(70, 20, 30, 50),
        xaxis={**axis, "title": {"text": xlabel}},
        yaxis={**axis, "title": {"text": ylabel}, "zerolinecolor": PALETTE["grey"]},
        legend=LEGEND_ABOVE,
        uirevision=UIREVISION,
    )
    return go.Figure(data=data, layout=layout)
