"""Browser tests for the Coupling page: the heatmap and the moving-token 3D view render, the displacement
slider moves the probe token in place, and the turned camera survives."""

from __future__ import annotations

import pytest

from tests.helpers.browser import camera, js, no_exception, open_view, press_and_wait_view, scenes_with_gl, turn_camera

pytestmark = pytest.mark.browser

MOTION = 1  # the moving-token view, below the heatmap
PROBE = "Array.from(d._fullData.find(t => t.name === 'the moved token').x)"


def test_coupling_motion_slider_moves_the_probe_and_keeps_the_camera(page, app_url):
    open_view(page, app_url, "coupling", views=3, height=1200)
    assert no_exception(page)
    assert scenes_with_gl(page, MOTION) == [True]
    assert js(page, "d._fullData[0].type") == "heatmap"
    turned = turn_camera(page, index=MOTION)
    before = js(page, PROBE, MOTION)
    for key in ["ArrowRight", "ArrowLeft"] * 3 + ["ArrowRight"]:
        press_and_wait_view(page, "Displacement s (in probe RMS units)", key, index=MOTION)
    assert js(page, PROBE, MOTION) != pytest.approx(before), "the probe token did not move"
    assert camera(page, index=MOTION) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    assert no_exception(page)
