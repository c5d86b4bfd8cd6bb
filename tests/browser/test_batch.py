"""Browser tests for the Batch page: the 3D cloud renders through WebGL, follows the batch-size slider in
place, and keeps the camera the user turned."""

from __future__ import annotations

import pytest

from tests.helpers.browser import camera, has_webgl, no_exception, open_view, press_and_wait_view, turn_camera, xs

pytestmark = pytest.mark.browser


def test_batch_page_cloud_renders_updates_with_b_and_keeps_the_camera(page, app_url):
    open_view(page, app_url, "batch")
    assert has_webgl(page)
    assert "WebGL is not supported" not in page.content()
    turned = turn_camera(page, 0.5)
    spread_before = xs(page, 0)
    press_and_wait_view(page, "Batch size B")
    spread_after = xs(page, 0)
    assert spread_after != pytest.approx(spread_before), "the cloud did not change with B"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    assert no_exception(page)
