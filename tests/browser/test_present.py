"""Browser tests for presentation mode and figure sizing: with ?present=1 the figures' resolved fonts are
large and stay large after a page switch through the sidebar (the link keeps present=1), a collapsed
sidebar widens the figure, and a 3D view has a fullscreen button that fills the screen."""

from __future__ import annotations

import pytest

from tests.helpers.browser import VIEW, js, no_exception, open_view, wait_idle

pytestmark = pytest.mark.browser

# the smallest resolved font of a view: base, 2D and 3D axis ticks and titles, legend, annotations
MIN_FONT = """(() => {
  const L = d._fullLayout, sizes = [L.font.size];
  if (L.showlegend && L.legend) sizes.push(L.legend.font.size);
  for (const k of Object.keys(L)) {
    if (/^[xy]axis\\d*$/.test(k)) sizes.push(L[k].tickfont.size, L[k].title.font.size);
    if (/^scene\\d*$/.test(k))
      for (const ax of ["xaxis", "yaxis", "zaxis"]) sizes.push(L[k][ax].tickfont.size, L[k][ax].title.font.size);
  }
  for (const a of L.annotations || []) sizes.push(a.font.size);
  return Math.min(...sizes);
})()"""


def test_present_link_has_large_type_that_survives_a_page_switch(page, app_url):
    open_view(page, app_url, "hypersphere?present=1", views=2)
    assert js(page, MIN_FONT) >= 16 and js(page, MIN_FONT, 1) >= 16
    assert js(page, "d._fullLayout.title.font.size") >= 22
    assert page.locator(f"{VIEW} .modebar").count() == 0  # no toolbar over the titles
    text_px = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('[data-testid=stMarkdownContainer] p')).fontSize)"
    )
    assert text_px >= 19
    page.locator("[data-testid='stSidebarNav'] a", has_text="Groups").click()
    page.wait_for_url("**/groups?**present=1**", timeout=60_000)
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{VIEW}'); return !!d && (d.dataset.revision || '').length > 0; }}",
        timeout=120_000,
    )
    wait_idle(page, timeout=120_000)
    assert "present=1" in page.url and no_exception(page)
    assert page.get_by_role("switch", name="Presentation mode").is_checked()
    assert js(page, MIN_FONT) >= 16


def test_collapsing_the_sidebar_widens_the_figure(page, app_url):
    open_view(page, app_url, "hypersphere")
    assert js(page, MIN_FONT) < 16  # presentation mode is off without the link
    before = js(page, "d._fullLayout.width")
    page.locator("[data-testid='stSidebarHeader']").hover()  # the collapse button shows on hover
    page.locator("[data-testid='stSidebarCollapseButton'] button").click()
    page.wait_for_function(
        f"(w) => document.querySelector('{VIEW}')._fullLayout.width > w + 150", arg=before, timeout=10_000
    )
    after = js(page, "d._fullLayout.width")
    assert after > before + 150
    assert abs(js(page, "d.getBoundingClientRect().width") - after) < 2  # the plot fills its column


def test_a_3d_view_has_a_fullscreen_button(page, app_url):
    open_view(page, app_url, "hypersphere", views=2)
    buttons = page.locator(".normviz-frame").nth(0).locator(".normviz-fullscreen")
    assert buttons.count() == 1 and buttons.is_visible()
    assert not page.locator(".normviz-frame").nth(1).locator(".normviz-fullscreen").is_visible()  # a 2D chart
    buttons.click()
    page.wait_for_function("() => document.fullscreenElement?.classList.contains('normviz-frame')", timeout=5_000)
    page.wait_for_function(f"() => document.querySelector('{VIEW}')._fullLayout.height === window.innerHeight")
    page.keyboard.press("Escape")


def test_a_3d_view_drawn_in_software_says_so(page, app_url):
    # this test browser has no GPU: Chrome draws WebGL with SwiftShader, and the 3D view says it will be slow
    open_view(page, app_url, "hypersphere", views=2)
    renderer = js(page, "d.dataset.glRenderer")
    assert "SwiftShader" in renderer
    note = page.locator(".normviz-frame").nth(0).locator(".normviz-software")
    assert note.is_visible() and note.inner_text() == "Software 3D: slow redraws"
    why = note.get_attribute("title")
    assert renderer in why and "hardware acceleration" in why and note.get_attribute("aria-label") == why
    # the 2D chart below has no renderer and no note
    assert js(page, "d.dataset.glRenderer", 1) == ""
    assert page.locator(".normviz-frame").nth(1).locator(".normviz-software").count() == 0
    # the note sits in the bottom-left corner, under the plot (a legend along its bottom stays clear: Instance's),
    # and clear of the fullscreen button in the bottom-right
    plot = page.locator(VIEW).nth(0).bounding_box()
    assert note.bounding_box()["y"] >= plot["y"] + plot["height"] - 1
    frame = page.locator(".normviz-frame").nth(0)
    box, button = note.bounding_box(), frame.locator(".normviz-fullscreen").bounding_box()
    frame = frame.bounding_box()
    assert box["x"] - frame["x"] < 20 and frame["y"] + frame["height"] - (box["y"] + box["height"]) < 20
    assert box["x"] + box["width"] < button["x"]
    # a click hides it (a lecturer projecting from this machine), and it stays hidden on the next page of the tab
    note.click()
    assert not note.is_visible()
    page.locator("[data-testid='stSidebarNav'] a", has_text="Batch").click()
    batch = ".normviz-plot[data-live='bt_cloud']"  # Batch's 3D view, drawn and its renderer asked
    page.wait_for_function(f'() => !!document.querySelector("{batch}")?.dataset.glRenderer', timeout=120_000)
    assert "SwiftShader" in page.locator(batch).get_attribute("data-gl-renderer")
    assert page.locator(".normviz-software:visible").count() == 0
