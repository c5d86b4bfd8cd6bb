"""Browser tests for the Statistics cube, Groups, Instance and Coupling pages (Debian's chromium).

Each page's 3D view renders through WebGL, a slider pressed with the keyboard updates the view in
place, and the camera the user turned survives the rerun. Latencies print beside the text-only rerun.
"""

from __future__ import annotations

import statistics
import time

import pytest

from tests.helpers.browser import median_text_rerun, wait_idle

pytestmark = pytest.mark.browser

PLOT = ".normviz-plot"


def _open(page, url, path, n_plots):
    page.set_viewport_size({"width": 1400, "height": 1200})
    page.goto(f"{url}/{path}")
    page.wait_for_function(
        f"(n) => Array.from(document.querySelectorAll('{PLOT}')).filter(d => d.dataset.revision).length >= n",
        arg=n_plots,
        timeout=120_000,
    )
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0


def _js(page, index, expr):
    return page.evaluate(f"(i) => {{ const d = document.querySelectorAll('{PLOT}')[i]; return {expr}; }}", index)


def _scenes_with_gl(page, index) -> list[bool]:
    return _js(
        page,
        index,
        "Object.keys(d._fullLayout).filter(k => /^scene\\d*$/.test(k))"
        ".map(s => !!(d._fullLayout[s]._scene && d._fullLayout[s]._scene.glplot))",
    )


def _camera(page, index, scene="scene"):
    return _js(page, index, f"JSON.parse(JSON.stringify(d._fullLayout.{scene}.camera.eye))")


def _turn(page, index, at_x=0.5, at_y=0.5):
    box = page.locator(PLOT).nth(index).bounding_box()
    x0, y0 = box["x"] + box["width"] * at_x, box["y"] + box["height"] * at_y
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + 12 * i, y0 + 5 * i)
    page.mouse.up()
    page.wait_for_timeout(300)
    return _camera(page, index)


def _press(page, index, label, key="ArrowRight") -> float:
    """Press a key on a slider; seconds until plot ``index`` shows a new figure."""
    before = _js(page, index, "d.dataset.revision")
    slider = page.locator(f"[role=slider][aria-label='{label}'], input[type=range][aria-label='{label}']").first
    slider.focus()
    t0 = time.perf_counter()
    slider.press(key)
    page.wait_for_function(
        f"([i, old]) => document.querySelectorAll('{PLOT}')[i].dataset.revision !== old",
        arg=[index, before],
        timeout=60_000,
    )
    elapsed = time.perf_counter() - t0
    wait_idle(page)
    return elapsed


def test_cube_renders_every_scene_and_keeps_the_camera_when_the_cell_moves(page, app_url, text_only_url, capsys):
    text = median_text_rerun(page, text_only_url)
    _open(page, app_url, "cube", 1)
    assert _scenes_with_gl(page, 0) == [True, True, True, True]
    turned = _turn(page, 0, at_x=0.12)
    chosen = "d._fullData.find(t => t.name === 'the chosen cell' && (t.scene || 'scene') === 'scene').x[0]"
    x_before = _js(page, 0, chosen)
    times = [_press(page, 0, "Feature j", key) for key in ["ArrowRight", "ArrowLeft"] * 3 + ["ArrowRight"]]
    assert _js(page, 0, chosen) == pytest.approx(x_before + 1), "the chosen cell did not move one feature along"
    assert _camera(page, 0) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    assert _camera(page, 0, "scene4") == pytest.approx(turned, abs=1e-6), "the cubes no longer turn together"
    assert page.locator("[data-testid='stException']").count() == 0
    with capsys.disabled():
        view = statistics.median(times)
        print(
            f"\n[latency] Statistics cube: cell slider -> 4 cubes median {view * 1000:.0f} ms; text-only rerun "
            f"{text * 1000:.0f} ms ({view / text:.2f}x, target <= 2x)"
        )


def test_coupling_motion_slider_moves_the_probe_and_keeps_the_camera(page, app_url, text_only_url, capsys):
    text = median_text_rerun(page, text_only_url)
    _open(page, app_url, "coupling", 3)
    assert _scenes_with_gl(page, 1) == [True]
    heat = _js(page, 0, "d._fullData[0].type")
    assert heat == "heatmap"
    turned = _turn(page, 1)
    probe = "Array.from(d._fullData.find(t => t.name === 'the moved token').x)"
    before = _js(page, 1, probe)
    label = "Displacement s (in probe RMS units)"
    times = [_press(page, 1, label, key) for key in ["ArrowRight", "ArrowLeft"] * 3 + ["ArrowRight"]]
    assert _js(page, 1, probe) != pytest.approx(before), "the probe token did not move"
    assert _camera(page, 1) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    assert page.locator("[data-testid='stException']").count() == 0
    with capsys.disabled():
        view = statistics.median(times)
        print(
            f"\n[latency] Coupling: displacement slider -> moving-token view median {view * 1000:.0f} ms; text-only "
            f"rerun {text * 1000:.0f} ms ({view / text:.2f}x, target <= 2x)"
        )


def test_groups_and_instance_render_through_webgl(page, app_url):
    _open(page, app_url, "groups", 4)
    assert _scenes_with_gl(page, 0) == [True] * 4
    before = _js(page, 0, "d._fullData.filter(t => t.mode === 'markers').length")
    _press(page, 0, "Groups G", "ArrowLeft")  # G = 4 -> 3: groups of 4 features, projected
    assert _js(page, 0, "d._fullData.filter(t => t.mode === 'markers').length") == before - 1
    _open(page, app_url, "instance", 3)
    assert _scenes_with_gl(page, 0) == [True, True]
    assert "WebGL is not supported" not in page.content()
