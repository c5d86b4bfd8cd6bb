"""Export a figure and the data behind it: standalone HTML (plotly.js inlined), PNG, CSV, NPZ.

The HTML works offline: plotly.js is written into the file, nothing is fetched from a CDN.
PNG goes through kaleido, which drives a Chromium-based browser (Debian's ``chromium`` works);
:func:`png_browser` says whether one exists so a page can explain instead of failing.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import plotly.graph_objects as go

__all__ = ["figure_html", "figure_png", "png_browser", "table_csv", "table_npz"]


def figure_html(fig: go.Figure, *, title: str = "normviz") -> str:
    """The figure as one self-contained HTML page (plotly.js inlined, no network needed).

    >>> html = figure_html(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    >>> "<script src=" in html.replace('<script type="text/javascript" src=', "<script src="), len(html) > 10**6
    (False, True)
    """
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False}, div_id="normviz-export")


def png_browser() -> str | None:
    """Path of the browser kaleido would use for PNG export, or None (no kaleido or no Chromium)."""
    try:
        import kaleido  # noqa: F401
        from choreographer.browsers.chromium import Chromium
    except ImportError:
        return None
    try:
        return Chromium.find_browser(skip_local=False)
    except Exception:
        return None


def figure_png(fig: go.Figure, *, width: int = 1200, height: int = 700, scale: float = 2.0) -> bytes:
    """The figure as PNG bytes through kaleido (several seconds: it starts a headless browser)."""
    if png_browser() is None:
        raise ValueError(
            "PNG export needs kaleido and a Chromium-based browser (apt-get install chromium, or run "
            "`plotly_get_chrome`). Use the HTML export instead: it opens offline and has a camera button."
        )
    return fig.to_image(format="png", width=width, height=height, scale=scale)


def _columns(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not table:
        raise ValueError("The table is empty: give at least one column.")
    cols = {k: np.asarray(v).reshape(-1) for k, v in table.items()}
    lengths = {k: v.size for k, v in cols.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"Every column must have the same length, got {lengths}.")
    return cols


def table_csv(table: dict[str, np.ndarray]) -> str:
    """Columns of equal length as CSV text with a header row; floats written exactly (repr round-trips).

    >>> print(table_csv({"x": np.array([0.1, 2.0]), "label": np.array(["a", "b"])}), end="")
    x,label
    0.1,a
    2.0,b
    """
    cols = _columns(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    w.writerows(zip(*(c.tolist() for c in cols.values()), strict=True))
    return buf.getvalue()


def table_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as a compressed ``.npz`` (read back with ``np.load(path)``; no pickles inside)."""
    if not arrays:
        raise ValueError("Nothing to export: give at least one array.")
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()
