"""Browser tests across pages (Debian's chromium, driven by Playwright, against `streamlit run`): pages load.

What AppTest cannot show is proved in each page's file: the 3D view renders through WebGL, a slider
moved with the keyboard updates it in place, and the camera the user turned survives the rerun.
"""

from __future__ import annotations

import pytest

from tests.helpers.browser import no_exception, wait_idle

pytestmark = pytest.mark.browser


# "hypersphere" first: a fresh server whose first visitor opens a page URL still runs app.py
@pytest.mark.parametrize("path", ["hypersphere", "", "batch"])
def test_every_page_loads_without_an_exception(page, fresh_app_url, path):
    page.goto(f"{fresh_app_url}/{path}")
    wait_idle(page)
    page.wait_for_selector("h1")
    assert no_exception(page)
    assert "Computing on" in page.locator("[data-testid='stSidebar']").inner_text()
