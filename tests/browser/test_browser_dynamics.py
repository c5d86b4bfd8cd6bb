"""Browser tests for the Gradient-flow, Jacobian and Attention pages: WebGL 3D views, sliders that update
views in place, cameras kept, and the slider -> view latency printed beside the text-only rerun."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.helpers.browser import VIEW, camera, median_text_rerun, press_and_wait_view, turn_camera, wait_idle

pytestmark = pytest.mark.browser

GRAD = "() => Array.from(document.querySelector('.normviz-plot')._fullData.find(t => t.name.startsWith('∂loss/∂x')).x)"


def _open(page, url, path, views=1):
    page.set_viewport_size({"width": 1400, "height": 1400})
    t0 = time.perf_counter()
    page.goto(f"{url}/{path}")
    page.wait_for_function(
        f"(n) => {{ const v = document.querySelectorAll('{VIEW}'); return v.length >= n && v[n - 1].dataset.revision; }}",  # noqa: E501
        arg=views,
        timeout=120_000,
    )
    shown = time.perf_counter() - t0
    wait_idle(page)
    return shown


def test_jacobian_3d_view_renders_updates_keeps_the_camera_and_its_latency(page, app_url, text_only_url, capsys):
    text = median_text_rerun(page, text_only_url)
    first = _open(page, app_url, "jacobian")
    assert page.evaluate(f"() => !!document.querySelector('{VIEW}')._fullLayout.scene._scene.glplot")
    assert "WebGL is not supported" not in page.content()
    assert page.locator(f"{VIEW} canvas").count() >= 1
    turned = turn_camera(page, 0.5)
    before = page.evaluate(GRAD)
    times = [press_and_wait_view(page, "Input scale s")]
    wait_idle(page)
    after = page.evaluate(GRAD)
    assert after != pytest.approx(before), "the gradient arrow did not change with the scale"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the camera was reset by the rerun"
    for key in ["ArrowLeft", "ArrowRight"] * 3:
        times.append(press_and_wait_view(page, "Input scale s", key))
        wait_idle(page)
    assert camera(page) == pytest.approx(turned, abs=1e-6)
    assert page.locator("[data-testid='stException']").count() == 0
    view = statistics.median(times)
    with capsys.disabled():
        print(
            f"\n[latency] text-only rerun median {text * 1000:.0f} ms; Jacobian page: scale slider -> 3D arrows "
            f"median {view * 1000:.0f} ms ({view / text:.2f}x, target <= 2x); page load to first view "
            f"{first * 1000:.0f} ms"
        )


def test_gradient_flow_depth_slider_updates_the_layer_chart(page, app_url, capsys):
    shown = _open(page, app_url, "gradient-flow", views=3)
    n_before = page.evaluate(f"() => document.querySelector('{VIEW}')._fullData[0].x.length")
    assert n_before == 12
    t = press_and_wait_view(page, "Depth L", "ArrowLeft")
    wait_idle(page)
    assert page.evaluate(f"() => document.querySelector('{VIEW}')._fullData[0].x.length") == 11
    assert page.locator("[data-testid='stException']").count() == 0
    with capsys.disabled():
        print(
            f"\n[latency] Gradient flow: page load to all three charts {shown * 1000:.0f} ms; depth slider -> "
            f"layer chart {t * 1000:.0f} ms (recomputes gradients: 3 placements x 2 seeds)"
        )


def test_attention_keys_view_renders_and_follows_n(page, app_url):
    _open(page, app_url, "attention", views=5)
    keys = f"document.querySelectorAll('{VIEW}')[4]"
    assert page.evaluate(f"() => !!{keys}._fullLayout.scene._scene.glplot")
    before = page.evaluate(f"() => {keys}.dataset.revision")
    count = f"() => {keys}._fullData.filter(t => t.name.startsWith('projected')).reduce((a, t) => a + t.x.length, 0)"
    assert page.evaluate(count) == 8
    slider = page.locator("input[type=range][aria-label='Keys n']")
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function(f"(old) => {keys}.dataset.revision !== old", arg=before, timeout=60_000)
    wait_idle(page)
    assert page.evaluate(count) == 12
    assert page.locator("[data-testid='stException']").count() == 0
