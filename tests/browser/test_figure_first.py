"""Figure first: on every page the main view starts in the top half of a 1400 × 900 projector screen, and a first
visit loads no heavy script the page does not need (Streamlit's syntax highlighter: ui/code_lines.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.browser import VIEW, wait_idle
from ui.navigation import PAGES

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1400, 900
NOT_ON_A_FIRST_VISIT = ("StreamlitSyntaxHighlighter",)  # st.code's 1.6 MB script
SHOTS = os.environ.get("NORMVIZ_SHOTS")  # a folder: save a screenshot of each page there


@pytest.mark.parametrize("path", [p.url_path for p in PAGES])
def test_the_main_view_starts_in_the_top_half_and_no_unneeded_script_loads(browser, app_url, path):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page.goto(f"{app_url}/{path}")
        page.wait_for_function(
            f"() => {{ const d = document.querySelector('{VIEW}'); return !!(d && d.dataset.revision); }}",
            timeout=120_000,
        )
        box = page.locator(VIEW).first.bounding_box()
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{path}.png"))
        assert box is not None and box["y"] < HEIGHT / 2, (path, box)
        wait_idle(page)  # the whole page drawn: every script it asks for requested
        scripts = page.evaluate("performance.getEntriesByType('resource').map((r) => r.name.split('/').pop())")
        assert scripts and not [s for s in scripts if s.startswith(NOT_ON_A_FIRST_VISIT)], (path, scripts)
    finally:
        page.close()
