"""The in-place 3D view: figures drawn with ``Plotly.react`` into the same ``<div>`` on every rerun.

``st.plotly_chart`` rebuilds the WebGL scene on every rerun and resets the camera (Streamlit 1.67,
even with ``key=`` and ``uirevision``); this small ``st.components.v2`` component updates the existing
plot instead, so the camera (``layout.uirevision``) stays where the user left it. Its browser side is
``plot_view.js`` beside this file.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.utils import PlotlyJSONEncoder

from normviz.figures import style
from ui import figure_cache, present

_JS = (Path(__file__).parent / "plot_view.js").read_text()
_component = st.components.v2.component("normviz.plotly_view", js=_JS, isolate_styles=False)
_preload = st.components.v2.component("normviz.plotly_preload", js=_JS, isolate_styles=False)  # draws nothing


def plotly_view(
    fig: go.Figure,
    *,
    key: str,
    revision: str = "",
    link_cameras: bool = True,
    defer: bool = False,
    live: dict | None = None,
) -> None:
    """Show ``fig`` through plotly.js ``Plotly.react``: updated in place, camera kept across reruns.

    ``link_cameras``: turning one 3D scene turns the others. ``defer``: draw after the page's other
    views (for charts below a main 3D view). ``live``: the view of a live control (``ui.live.live_view``
    passes it). In presentation mode (``ui.present``) the figure is drawn
    with large type (``style.presentation``) and without Plotly's toolbar.
    """
    on = present.is_on()

    def encode() -> str:  # the figure itself is left as it is: it may be shared (ui.figure_cache)
        spec = figure_dict(fig, present=on)
        spec["layout"]["meta"] = {"link_cameras": link_cameras}
        # compact JSON without plotly's "\u002f" escaping of every "/" in the base64 arrays (-20% bytes)
        return json.dumps(spec, cls=PlotlyJSONEncoder, separators=(",", ":"))

    spec = figure_cache.spec_json(fig, (on, link_cameras), encode)
    data = {"figure": spec, "revision": revision or key, "defer": defer, "present": on}
    if live is not None:
        data["live"] = {"view": key, **live}
    _component(key=key, data=data)


def preload() -> None:
    """Start loading plotly.js in the browser now (app.py calls it before the page runs), so a first visit's
    figure does not wait for the 2.1 MB script after the page has computed. Draws nothing."""
    _preload(key="normviz_plotly_preload", data={"preload": True})


def figure_dict(fig: go.Figure, *, present: bool) -> dict:
    """The figure as drawn: no fixed width (it fills its column and follows it), large type when ``present``."""
    spec = fig.to_dict()
    spec["layout"].pop("width", None)
    return style.presentation(spec) if present else spec
