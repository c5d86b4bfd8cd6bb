"""Download buttons under a figure: standalone HTML, PNG, and the data drawn as CSV and NPZ."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from normviz.figures import style
from normviz.io import exports
from ui import present as ui_present


@st.cache_resource(show_spinner=False)
def _png_browser() -> str | None:
    return exports.png_browser()


def export_buttons(fig: go.Figure, table: dict[str, np.ndarray], *, key: str, name: str) -> None:
    """Download buttons under a figure: standalone HTML (offline), PNG, and the data as CSV and NPZ.

    ``table``: equal-length columns holding the points the figure shows (CSV and NPZ).
    Every file is made only when its button is clicked: a rerun costs four buttons, nothing more.
    """
    # one row of buttons at their own width, wrapping where the column is narrow: in fixed columns their labels
    # were cut off at 125% zoom and in presentation mode ("HTML" read "H…")
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.download_button(
        "HTML", lambda: exports.figure_html(fig), file_name=f"{name}.html", mime="text/html", key=f"{key}_html",
        on_click="ignore", icon=":material/download:",
        help="The interactive figure as one HTML file with plotly.js inside: opens offline in any browser.",
    )  # fmt: skip
    if _png_browser() is not None:
        on = ui_present.is_on()
        size = "A 1920×1080 (presentation mode)" if on else "A 2400×1400"
        row.download_button(
            "PNG", lambda: png(fig, present=on), file_name=f"{name}.png", mime="image/png", key=f"{key}_png",
            on_click="ignore", icon=":material/image:",
            help=f"{size} picture of the current figure (takes a few seconds: it starts a headless browser).",
        )  # fmt: skip
    row.download_button(
        "CSV", lambda: exports.table_csv(table), file_name=f"{name}.csv", mime="text/csv", key=f"{key}_csv",
        on_click="ignore", icon=":material/table:", help="The points the figure shows, one row each.",
    )  # fmt: skip
    row.download_button(
        "NPZ", lambda: exports.table_npz(table), file_name=f"{name}.npz", mime="application/octet-stream",
        key=f"{key}_npz", on_click="ignore", icon=":material/data_array:",
        help="The same columns as numpy arrays: np.load(path).",
    )  # fmt: skip
    if _png_browser() is None:
        row.caption(
            "PNG export needs a Chromium-based browser for kaleido (apt-get install chromium); "
            "the HTML file has a camera button that saves a PNG."
        )


def png(fig: go.Figure, *, present: bool) -> bytes:
    """The PNG the button downloads: 2400 × 1400, or in presentation mode 1920 × 1080 with the large type
    the projector shows (``style.presentation``)."""
    if not present:
        return exports.figure_png(fig)
    width, height = ui_present.PNG_SIZE
    return exports.figure_png(go.Figure(style.presentation(fig.to_dict())), width=width, height=height, scale=1)
