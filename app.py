"""normviz: see what normalization layers do to a transformer's token vectors.

Run with ``streamlit run app.py``.
"""

import streamlit as st

import ui

st.set_page_config(page_title="normviz", page_icon="assets/icon.svg", layout="wide")

PAGES = {  # sidebar sections, in the order a course would take them
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Geometry": [
        st.Page("pages/hypersphere.py", title="Hypersphere", icon=":material/language:", url_path="hypersphere"),
        st.Page("pages/groups.py", title="Groups", icon=":material/grid_view:", url_path="groups"),
    ],
    "Who shares statistics": [
        st.Page("pages/cube.py", title="Statistics cube", icon=":material/view_in_ar:", url_path="cube"),
        st.Page("pages/batch.py", title="Batch", icon=":material/grain:", url_path="batch"),
        st.Page("pages/instance.py", title="Instance", icon=":material/view_week:", url_path="instance"),
        st.Page("pages/coupling.py", title="Coupling", icon=":material/hub:", url_path="coupling"),
    ],
    "Learning dynamics": [
        st.Page(
            "pages/gradient-flow.py", title="Gradient flow", icon=":material/trending_down:", url_path="gradient-flow"
        ),
        st.Page("pages/jacobian.py", title="Jacobian", icon=":material/north_east:", url_path="jacobian"),
        st.Page("pages/attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
    ],
    "Your data": [
        st.Page("pages/real-data.py", title="Real data", icon=":material/neurology:", url_path="real-data"),
    ],
}

page = st.navigation(PAGES)
ui.mark_app_ran()
ui.sidebar()
page.run()
