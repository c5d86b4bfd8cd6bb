"""Browser tests for the Jacobian page: the 3D arrows render through WebGL, the scale slider updates them in
place, and the turned camera survives every rerun."""

from __future__ import annotations

import pytest

from tests.helpers.browser import VIEW, camera, has_webgl, js, no_exception, open_view, press_and_wait_view, turn_camera

pytestmark = pytest.mark.browser

GRAD = "Array.from(d._fullData.find(t => t.name.startsWith('∂loss/∂x')).x)"


def test_jacobian_3d_view_renders_updates_and_keeps_the_camera(page, app_url):
    open_view(page, app_url, "jacobian", height=1400)
    assert has_webgl(page)
    assert "WebGL is not supported" not in page.content()
    assert page.locator(f"{VIEW} canvas").count() >= 1
    turned = turn_camera(page, 0.5)
    before = js(page, GRAD)
    press_and_wait_view(page, "Input scale s")
    after = js(page, GRAD)
    assert after != pytest.approx(before), "the gradient arrow did not change with the scale"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    for key in ["ArrowLeft", "ArrowRight"] * 3:
        press_and_wait_view(page, "Input scale s", key)
    assert camera(page) == pytest.approx(turned, abs=1e-6)
    assert no_exception(page)
