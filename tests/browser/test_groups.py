"""Browser tests for the Groups page: every group's scene renders through WebGL and follows the G slider."""

from __future__ import annotations

import pytest

from tests.helpers.browser import js, no_exception, open_view, press_and_wait_view, scenes_with_gl

pytestmark = pytest.mark.browser

MARKERS = "d._fullData.filter(t => t.mode === 'markers').length"


def test_groups_render_through_webgl_and_follow_g(page, app_url):
    open_view(page, app_url, "groups", views=4, height=1200)
    assert no_exception(page)
    assert scenes_with_gl(page) == [True] * 4
    before = js(page, MARKERS)
    press_and_wait_view(page, "Groups G", "ArrowLeft")  # G = 4 -> 3: groups of 4 features, projected
    assert js(page, MARKERS) == before - 1
