"""Plotly figure builders: arrays in, ``go.Figure`` out. No maths, no torch, no Streamlit."""
