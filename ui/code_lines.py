"""A page's line of torch code, shown as Markdown's inline code rather than ``st.code``.

``st.code`` makes the browser fetch and run Streamlit's syntax highlighter, a 1.6 MB script, the first time a
page shows any code: on a first visit that ran on the browser's one main thread beside plotly.js and the first
figure's draw (0.8–1.4 s of it on Hypersphere, 2-core machine). Each page's code is one line, which inline code
shows as well, in the theme's code font (``tests/browser/test_figure_first.py`` checks no page loads the script).
"""

from __future__ import annotations

import streamlit as st


def code_line(code: str, *, lead: str = "") -> None:
    """One line of code (``lead``: Markdown before it, e.g. what the code runs on)."""
    if "`" in code or "\n" in code:
        raise ValueError("code_line shows one line of code without backticks: split it, or write it without '`'")
    st.markdown(f"{lead} `{code}`".strip())
