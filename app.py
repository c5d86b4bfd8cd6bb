"""normviz: see what normalization layers do to a transformer's token vectors.

Run with ``streamlit run app.py``. The pages and their order live in ``ui/navigation.py``.
"""

import streamlit as st

from ui import lessons, links, navigation, sidebar, startup, warm

startup.run()
warm.start()  # once per server: every page's default view, computed in the background
st.set_page_config(page_title="normviz", page_icon="assets/icon.svg", layout="wide")

sections: dict[str, list] = {"": [st.Page(navigation.HOME.path, title="Home", icon=navigation.HOME.icon, default=True)]}
for p in navigation.PAGES:
    sections.setdefault(p.section, []).append(st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path))

page = st.navigation(sections)
sidebar.sidebar()
lessons.sidebar(page.url_path)
with startup.inside_app(), links.checked(navigation.prefix_of(page.url_path)):  # one bad-link notice, even on st.stop
    lessons.banner(page.url_path)
    page.run()
