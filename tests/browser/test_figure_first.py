"""Figure first: on every page the main view starts in the top half of a 1400 × 900 projector screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.browser import VIEW
from ui.navigation import PAGES

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1400, 900
SHOTS = os.environ.get("NORMVIZ_SHOTS")  # a folder: save a screenshot of each page there


@pytest.mark.parametrize("path", [p.url_path for p in PAGES])
def test_the_main_view_starts_in_the_top_half(browser, app_url, path):
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
    finally:
        page.close()
