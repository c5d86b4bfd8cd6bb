"""normviz: see what normalization layers do to a transformer's token vectors.

Run with ``streamlit run app.py``.
"""

import streamlit as st

import ui

st.set_page_config(page_title="normviz", page_icon="assets/icon.svg", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/hypersphere.py", title="Hypersphere", icon=":material/language:", url_path="hypersphere"),
    st.Page("pages/batch.py", title="Batch", icon=":material/grain:", url_path="batch"),
    st.Page("pages/real-data.py", title="Real data", icon=":material/neurology:", url_path="real-data"),
]

page = st.navigation(PAGES)
ui.mark_app_ran()
ui.sidebar()
page.run()
