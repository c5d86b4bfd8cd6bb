"""3D scenes draw at the screen's pixel ratio (ui/plot_view.js): plotly's default of 2 drew four times the pixels
a 1× screen shows, and a software-WebGL browser paid for them on every redraw."""

from __future__ import annotations

import pytest

from tests.helpers.browser import VIEW

pytestmark = pytest.mark.browser

CANVASES = f"""() => {{ const d = document.querySelector('{VIEW}');
  return [d._fullLayout.scene._scene.glplot.pixelRatio,
          Array.from(d.querySelectorAll('canvas')).map((c) => [c.width, c.getBoundingClientRect().width])]; }}"""


@pytest.mark.parametrize("scale", [1.0, 1.25])
def test_a_scene_has_as_many_pixels_as_the_screen_shows(browser, app_url, scale):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, device_scale_factor=scale)
    try:
        page.goto(f"{app_url}/cube")
        page.wait_for_function(f"() => !!document.querySelector('{VIEW}')?.dataset.revision", timeout=120_000)
        ratio, canvases = page.evaluate(CANVASES)
        assert ratio == pytest.approx(scale)
        assert len(canvases) == 4  # the cube's four scenes, each its own canvas
        for pixels, css in canvases:
            assert pixels == pytest.approx(css * scale, abs=2), (pixels, css)
    finally:
        page.close()
