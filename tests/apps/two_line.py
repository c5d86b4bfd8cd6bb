"""Streamlit's own two-line app: the floor benchmarks/bench_first_figure.py compares a first visit with."""

import streamlit as st

st.write("Hello, world")
