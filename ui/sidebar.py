"""The sidebar app.py draws under the page list: presentation mode, where the maths runs, what stays on the CPU."""

from __future__ import annotations

import os

import streamlit as st

from normviz.core import device
from ui import plot_view, present, theme_memory, warm

# every page: half of Streamlit's 6rem above the title, so the figure under a page's controls starts on the
# first screen at 125% zoom with the sidebar open too (a 650 px column, where controls wrap onto more lines);
# a row of pills wraps instead of scrolling sideways: scrolled, the ones past the column's edge were out of
# sight (the Statistics cube's InstanceNorm and DyT at 125% zoom)
_PAGE_CSS = (
    '<style>[data-testid="stMainBlockContainer"] { padding-top: 3rem; }'
    ' .stMain [data-testid="stButtonGroup"] > div { flex-wrap: wrap; row-gap: 0.4rem; }</style>'
)


def sidebar() -> None:
    with st.sidebar:
        plot_view.preload()
        st.html(_PAGE_CSS)
        present.toggle()
        theme_memory.remember()
        readiness()
        st.caption(f"Computing on: **{device.describe()}**")
        with st.expander("What runs where", icon=":material/memory:"):
            st.caption("\n".join(f"- {line}" for line in device.placement_notes()))
            if replica := os.environ.get("NORMVIZ_REPLICA"):  # set per replica behind a balancer (README: Deploy)
                st.caption(f"Served by replica `{replica}`.")


def _readiness_line(s: warm.Status) -> None:
    if s.done:
        bad = f" ({len(s.failed)} could not be prepared: see the server log)" if s.failed else ""
        st.caption(f":material/check_circle: Every page is ready{bad}: computed in {s.seconds:.0f} s.")
    else:
        now = f" (now: {', '.join(s.working)})" if s.working else ""
        st.progress(
            s.ready / max(s.total, 1), text=f"Preparing every page's first view: {s.ready} of {s.total} ready{now}"
        )


@st.fragment(run_every=2.0)
def _readiness_live() -> None:
    s = warm.status()
    _readiness_line(s)
    if s.done:
        st.rerun()  # once: the full run draws the settled line and stops this timer


def readiness() -> None:
    """Say how far the background warm-up of every page's default view has got (ui/warm.py)."""
    s = warm.status()
    if s.total == 0:  # no warm-up on this server (NORMVIZ_WARM=0, AppTest): nothing to say, not "0 of 0 ready"
        return
    if s.done:
        _readiness_line(s)
    else:
        _readiness_live()
