"""Browser tests for the Statistics cube page: every cube renders through WebGL, the cell slider moves the
chosen cell in place, and the turned camera survives (all four cubes turn together)."""

from __future__ import annotations

import pytest

from tests.helpers.browser import camera, js, no_exception, open_view, press_and_wait_view, scenes_with_gl, turn_camera

pytestmark = pytest.mark.browser

CHOSEN = "d._fullData.find(t => t.name === 'the chosen cell' && (t.scene || 'scene') === 'scene').x[0]"


def test_cube_renders_every_scene_and_keeps_the_camera_when_the_cell_moves(page, app_url):
    open_view(page, app_url, "cube", height=1200)
    assert no_exception(page)
    assert scenes_with_gl(page) == [True, True, True, True]
    turned = turn_camera(page, at_x=0.12)
    x_before = js(page, CHOSEN)
    for key in ["ArrowRight", "ArrowLeft"] * 3 + ["ArrowRight"]:
        press_and_wait_view(page, "Feature j", key)
    assert js(page, CHOSEN) == pytest.approx(x_before + 1), "the chosen cell did not move one feature along"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    assert camera(page, "scene4") == pytest.approx(turned, abs=1e-6), "the cubes no longer turn together"
    assert no_exception(page)
