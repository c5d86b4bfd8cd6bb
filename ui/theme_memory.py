"""The theme chosen in Streamlit's menu, kept on reload on every page.

Streamlit 1.67 stores the choice in the browser's localStorage under a key that names the path the tab
was first loaded at, so after moving to another page through the sidebar a reload forgets it (the new
path's key is empty). ``theme_memory.js`` copies the choice to every page's key. It draws nothing; app.py's
sidebar draws it once per run. Only this browser's own storage is touched: nothing reaches the server.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.navigation import PAGES

_JS = (Path(__file__).parent / "theme_memory.js").read_text()
_component = st.components.v2.component("normviz.theme_memory", js=_JS, isolate_styles=False)


def remember() -> None:
    """Keep the menu's theme choice for every page of the app (call once per run)."""
    _component(key="normviz_theme_memory", data={"pages": [p.url_path for p in PAGES]})
