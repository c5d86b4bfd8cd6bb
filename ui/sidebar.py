"""The sidebar app.py draws under the page list: where the maths runs."""

from __future__ import annotations

import streamlit as st

from normviz.core import device


def sidebar() -> None:
    with st.sidebar:
        st.caption(f"Computing on: **{device.describe()}**")
