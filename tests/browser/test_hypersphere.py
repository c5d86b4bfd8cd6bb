"""Browser tests for the Hypersphere page: both scenes render through WebGL, a keyboard slider updates the
view in place and keeps the turned camera (also at 65,536 tokens × d = 768), the exported HTML renders
offline and the CSV holds the drawn points, and a moved control lands in the URL that restores it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.browser import (
    VIEW,
    camera,
    has_webgl,
    no_exception,
    open_view,
    press_and_wait_view,
    revision,
    turn_camera,
    wait_idle,
    xs,
)

pytestmark = pytest.mark.browser


def test_3d_view_renders_through_webgl(page, app_url):
    open_view(page, app_url, "hypersphere")
    has_gl = page.evaluate(
        f"""() => {{
            const d = document.querySelector('{VIEW}');
            return ['scene', 'scene2'].map(s => !!(d._fullLayout[s]._scene && d._fullLayout[s]._scene.glplot));
        }}"""
    )
    assert has_gl == [True, True]
    assert "WebGL is not supported" not in page.content()
    assert page.locator(f"{VIEW} canvas").count() >= 1


def test_keyboard_slider_updates_view_and_keeps_the_camera(page, app_url):
    open_view(page, app_url, "hypersphere")
    start = camera(page)
    turned = turn_camera(page, 0.25)  # the left scene
    assert turned != start, "the drag did not turn the camera"
    assert camera(page, "scene2") == pytest.approx(turned, abs=1e-6)  # the two scenes turn together

    x_before = xs(page, 1)[:5]
    press_and_wait_view(page, "β shift")
    x_after = xs(page, 1)[:5]
    assert x_after != pytest.approx(x_before), "the output points did not move with beta"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    assert camera(page, "scene2") == pytest.approx(turned, abs=1e-6), "the scenes no longer turn together"
    assert no_exception(page)


def test_the_largest_view_updates_in_place(page, app_url):
    """65,536 tokens × d = 768: Tokens to its end, d to 768 (one step left of 1024), then β moved."""
    open_view(page, app_url, "hypersphere")
    press_and_wait_view(page, "Tokens", "End")
    page.locator("input[type=range][aria-label='Features d']").focus()
    page.keyboard.press("End")
    wait_idle(page)
    press_and_wait_view(page, "Features d", "ArrowLeft")
    assert "65,536 tokens" in page.content() or "65536" in page.content()
    press_and_wait_view(page, "β shift")
    assert no_exception(page)


def _download(page, label: str, tmp_path: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        page.locator("[data-testid='stDownloadButton'] button", has_text=label).first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_exported_html_renders_offline_and_csv_matches_the_view(page, app_url, tmp_path, browser):
    open_view(page, app_url, "hypersphere")
    html = _download(page, "HTML", tmp_path)

    shown = page.evaluate(
        f"""() => {{ const d = document.querySelector('{VIEW}')._fullData;
            return [0, 1].map(i => [Array.from(d[i].x), Array.from(d[i].y), Array.from(d[i].z)]); }}"""
    )
    rows = list(csv.DictReader(io.StringIO(_download(page, "CSV", tmp_path).read_text())))
    for t, prefix in enumerate(("x_axis", "y_axis")):
        for a in range(3):
            got = np.array([float(r[f"{prefix}{a + 1}"]) for r in rows])
            np.testing.assert_allclose(got, shown[t][a], rtol=1e-6, atol=1e-7)

    offline = browser.new_page()
    blocked = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    offline.route("**/*", route)
    offline.goto(html.as_uri())
    offline.wait_for_function(
        "() => { const d = document.getElementById('normviz-export');"
        " return d && d._fullLayout && d._fullLayout.scene && d._fullLayout.scene._scene; }",
        timeout=60_000,
    )
    assert has_webgl(offline, "#normviz-export")
    assert offline.evaluate("() => document.getElementById('normviz-export')._fullData[0].x.length") == len(rows)
    assert blocked == [], f"the exported page tried the network: {blocked[:3]}"
    offline.close()


def test_moved_control_lands_in_the_url_and_the_link_restores_it(page, app_url, browser):
    open_view(page, app_url, "hypersphere")
    press_and_wait_view(page, "β shift")
    page.wait_for_function("() => window.location.search.includes('hs_beta=0.1')", timeout=30_000)
    link = page.url

    other = browser.new_page()
    other.set_viewport_size({"width": 1400, "height": 1100})
    other.goto(link)
    other.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=60_000)
    wait_idle(other)
    value = other.locator("input[type=range][aria-label='β shift']").get_attribute("aria-valuetext")
    assert float(value) == pytest.approx(0.1)
    assert revision(other) == revision(page)  # the same view: the revision hashes every control
    other.close()
