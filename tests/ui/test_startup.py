"""ui/startup.py: the private Streamlit behaviour it relies on is still there, and it is idempotent."""

from __future__ import annotations

import gzip
import inspect
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from ui import startup

ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_still_has_and_reads_the_pages_directory_flag():
    """Fails loudly if a Streamlit upgrade renames PagesManager.uses_pages_directory or stops reading it."""
    assert hasattr(PagesManager, "uses_pages_directory")
    assert "PagesManager.uses_pages_directory" in inspect.getsource(script_runner), (
        "Streamlit's script runner no longer reads PagesManager.uses_pages_directory: ui/startup.py's way of "
        "keeping a fresh server's first page visit inside app.py needs another mechanism"
    )


def test_run_turns_the_pages_directory_mode_off_and_is_idempotent():
    PagesManager.uses_pages_directory = True
    try:
        startup.run()
        startup.run()
        assert PagesManager.uses_pages_directory is False
    finally:
        PagesManager.uses_pages_directory = None


def test_plotly_js_is_served_from_the_app_s_bundle():
    assert (startup.PLOTLY_JS / startup.PLOTLY_BUNDLE).is_file()
    view_js = ROOT / "ui" / "plot_view.js"  # the browser side asks for the component's file by that name
    assert f"component/ui.startup.{startup.PLOTLY_COMPONENT}/{startup.PLOTLY_BUNDLE}" in view_js.read_text()
    # the gzipped copy the browser fetches first is the same script
    bundle = startup.PLOTLY_JS / startup.PLOTLY_BUNDLE
    assert gzip.decompress(bundle.with_name(bundle.name + ".gz").read_bytes()) == bundle.read_bytes()


def test_a_page_run_without_app_py_reruns_inside_app_py_once():
    """AppTest's switch_page runs the page file on its own, as a fresh server's first page visit does: the page
    reruns once, and the second run is app.py's (its sidebar and the link check are there)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["cb_nope"] = "1"
    at.run()
    at.switch_page("pages/cube.py").run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "This link had parameters that are not valid here: `cb_nope`. They were reset to their defaults."
    ]
    assert any("Computing on" in c.value for c in at.sidebar.caption)
