"""The stock one-chart Streamlit app: the floor benchmarks/bench_class.py compares a class's burst with."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

rng = np.random.default_rng(0)
st.plotly_chart(go.Figure(go.Scatter(x=rng.standard_normal(400), y=rng.standard_normal(400), mode="markers")))
