"""The latency floor for benchmarks/bench_browser_latency.py: a slider whose rerun only changes text."""

import streamlit as st

v = st.slider("value", 0, 100, 50, key="text_only")
st.markdown(f"value is **{v}**")
