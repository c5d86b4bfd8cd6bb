"""What must happen before any page runs, in one place: call :func:`run` first in every script run.

Why each step exists:

1. **plotly.js for the in-place 3D view.** ``ui/plot_view.js`` draws with ``Plotly.react`` (the camera
   survives reruns), so the browser needs plotly.js of the version the installed ``plotly`` package
   bundles (the one that built the figure JSON). It is ``assets/plotly/plotly-normviz.min.js``: that
   version with only the trace types the figures use (2.1 MB instead of the package's 4.8 MB, which a
   fresh browser took seconds to load and run; ``assets/plotly/build.sh`` builds it). It is served through
   Streamlit's component file server (``/component/ui.startup.plotly_js/plotly-normviz.min.js``), so
   nothing is copied and the app runs where its own folder is read-only (a container image).
2. **Streamlit's old ``pages/`` directory mode stays off.** Streamlit runs a ``pages/`` folder the
   v1 way (each file its own app, no app.py) until some run has called ``st.navigation``. A fresh
   server whose first visitor opens a page URL (``/hypersphere``) would show that page without
   app.py: no sidebar, file names as titles. Switching the mode off here leaves only that very first
   run to repair, which :func:`require_app` does with one rerun. This touches a private attribute
   (``PagesManager.uses_pages_directory``); ``tests/lib/test_startup.py`` fails loudly if a Streamlit
   upgrade renames it or stops reading it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import streamlit as st
from streamlit.components.v1 import declare_component

PLOTLY_JS = Path(__file__).resolve().parents[1] / "assets" / "plotly"  # holds plotly-normviz.min.js
PLOTLY_BUNDLE = "plotly-normviz.min.js"
PLOTLY_COMPONENT = "plotly_js"  # registered as "ui.startup.plotly_js"
_RERAN = "_normviz_reran_for_app"
_IN_APP: ContextVar[bool] = ContextVar("normviz_in_app", default=False)  # per script thread, so per session
_registered: set[int] = set()  # runtimes that serve plotly.js already (one per process in practice)


def run() -> None:
    """Idempotent and cheap: safe to call at the top of every script run."""
    _serve_plotly_js()
    _leave_pages_directory_mode()


def _serve_plotly_js() -> None:
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest and bare Python: no server, nothing to serve
        return
    runtime = id(Runtime.instance())
    if runtime not in _registered:
        declare_component(PLOTLY_COMPONENT, path=str(PLOTLY_JS))
        _registered.add(runtime)


def _leave_pages_directory_mode() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if not hasattr(PagesManager, "uses_pages_directory"):
        raise RuntimeError(
            "Streamlit no longer has PagesManager.uses_pages_directory: ui/startup.py must find another way "
            "to keep a fresh server's first page visit inside app.py's navigation (see its docstring)."
        )
    PagesManager.uses_pages_directory = False


@contextmanager
def inside_app() -> Iterator[None]:
    """app.py runs the page inside this: the page knows app.py's navigation, sidebar and link check ran."""
    token = _IN_APP.set(True)
    try:
        yield
    finally:
        _IN_APP.reset(token)


def require_app() -> None:
    """Called first by every page. If the page runs on its own (a fresh server's first visitor opened a page
    URL, so Streamlit ran the page file in its old pages mode; AppTest's ``switch_page`` does the same),
    turn that mode off and run again: app.py then runs and its navigation shows this same page."""
    run()
    if _IN_APP.get():
        st.session_state.pop(_RERAN, None)
    elif not st.session_state.get(_RERAN):
        st.session_state[_RERAN] = True  # at most one extra run: never a loop
        st.rerun()
