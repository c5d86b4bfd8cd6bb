"""Presentation mode (``?present=1``): large type in every figure and on the page, for a projector.

One sidebar toggle turns it on for every page; :func:`is_on` is what ``ui.plot_view`` (the figures' fonts,
``normviz.figures.style.presentation``), ``ui.export_buttons`` (a 1920 × 1080 PNG) and the page's CSS read.
Unlike the pages' controls the toggle syncs the URL itself rather than through ``bind="query-params"``:
the link spells it ``?present=1``, and every run writes it back, so it survives the navigation's page
switches (which leave only bound parameters of the page shown in the URL).
"""

from __future__ import annotations

import streamlit as st

KEY = "present"  # the URL parameter: ?present=1 (also read: true, on, yes)
LABEL = "Presentation mode"
PNG_SIZE = (1920, 1080)  # the PNG export while it is on: a projector's full-HD frame, at scale 1

# larger page text (px, not rem: widgets keep their own size, so a page's compact bar of controls stays one
# or two rows and the figure below it stays in the top half of the screen); less empty room above the title.
# A button's or pill's label is Markdown too: it keeps the widgets' 16 px (at 22 px the Statistics cube's sixth
# norm, DyT, slid out of its row of pills, and Training's buttons were cut to "St…", "Re…")
_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 22px; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 19px; }
[data-testid="stExpander"] summary p { font-size: 20px; }
.stMain [data-testid="stWidgetLabel"] p, .stMain [role="radiogroup"] p, .stMain [data-testid="stCheckbox"] p,
.stMain [data-testid="stSliderThumbValue"], .stMain [data-testid="stSliderThumbValue"] p,
.stMain button [data-testid="stMarkdownContainer"] p { font-size: 16px; }
</style>"""


_ON = ("1", "true", "on", "yes")


def toggle() -> bool:
    """The sidebar toggle (draw it in ``st.sidebar``), the URL made to say it, then the page's larger text."""
    if KEY not in st.session_state:  # a fresh session: the link decides
        st.session_state[KEY] = str(st.query_params.get(KEY, "")).lower() in _ON
    on = st.toggle(
        LABEL, key=KEY, help="Large type in every figure and on the page, for a projector. Stays on across "
        "pages and is in the link (?present=1); PNG downloads become 1920 × 1080.",
    )  # fmt: skip
    if on:  # every run: a page switch may have dropped it from the address bar
        st.query_params[KEY] = "1"
    elif not on and KEY in st.query_params:
        del st.query_params[KEY]
    if on:
        st.html(_CSS)
    return on


def is_on() -> bool:
    """Whether presentation mode is on in this run (False before the toggle is drawn, and outside the app)."""
    return bool(st.session_state.get(KEY, False))
