"""Browser tests for the Gradient-flow page: all three charts draw, and the depth slider updates the layer
chart in place."""

from __future__ import annotations

import pytest

from tests.helpers.browser import js, no_exception, open_view, press_and_wait_view

pytestmark = pytest.mark.browser


def test_gradient_flow_depth_slider_updates_the_layer_chart(page, app_url):
    open_view(page, app_url, "gradient-flow", views=3, height=1400)
    assert js(page, "d._fullData[0].x.length") == 12
    press_and_wait_view(page, "Depth L", "ArrowLeft")
    assert js(page, "d._fullData[0].x.length") == 11
    assert no_exception(page)
