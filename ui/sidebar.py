"""The sidebar app.py draws under the page list: presentation mode, where the maths runs, what stays on the CPU."""

from __future__ import annotations

import os

import streamlit as st

from normviz.core import device
from ui import present


def sidebar() -> None:
    with st.sidebar:
        present.toggle()
        st.caption(f"Computing on: **{device.describe()}**")
        with st.expander("What runs where", icon=":material/memory:"):
            st.caption("\n".join(f"- {line}" for line in device.placement_notes()))
            if replica := os.environ.get("NORMVIZ_REPLICA"):  # set per replica behind a balancer (README: Deploy)
                st.caption(f"Served by replica `{replica}`.")
