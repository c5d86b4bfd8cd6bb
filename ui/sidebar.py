"""The sidebar app.py draws under the page list: where the maths runs, and what stays on the CPU."""

from __future__ import annotations

import streamlit as st

from normviz.core import device


def sidebar() -> None:
    with st.sidebar:
        st.caption(f"Computing on: **{device.describe()}**")
        with st.expander("What runs where", icon=":material/memory:"):
            st.caption("\n".join(f"- {line}" for line in device.placement_notes()))
