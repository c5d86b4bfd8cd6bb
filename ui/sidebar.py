"""The sidebar app.py draws under the page list: presentation mode, where the maths runs, what stays on the CPU."""

from __future__ import annotations

import streamlit as st

from normviz.core import device
from ui import present, theme_memory


def sidebar() -> None:
    with st.sidebar:
        present.toggle()
        theme_memory.remember()
        st.caption(f"Computing on: **{device.describe()}**")
        with st.expander("What runs where", icon=":material/memory:"):
            st.caption("\n".join(f"- {line}" for line in device.placement_notes()))
