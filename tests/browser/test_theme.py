"""Browser tests for the theme: the one chosen in Streamlit's menu is kept on reload on every page (Streamlit
alone keeps it only for the path the tab was loaded at, ui/theme_memory.py), and the figures follow it."""

from __future__ import annotations

import pytest

from tests.helpers.browser import VIEW, js, no_exception, wait_idle

pytestmark = pytest.mark.browser

BACKGROUND_LUMINANCE = """() => {
  const rgb = getComputedStyle(document.querySelector('.stApp')).backgroundColor.match(/\\d+/g).map(Number);
  return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
}"""
DARK_TEXT, LIGHT_TEXT = "#31333F", "#FAFAFA"  # ui/plot_view.js themeColors(): a figure's text on light / dark


def _drawn(page):
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{VIEW}'); return !!(d && d.dataset.revision && d._fullLayout); }}",
        timeout=120_000,
    )
    wait_idle(page, timeout=120_000)


def test_the_menus_dark_theme_is_kept_on_reload_on_another_page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        page.goto(f"{app_url}/groups")
        _drawn(page)
        assert page.evaluate(BACKGROUND_LUMINANCE) > 0.5 and js(page, "d._fullLayout.font.color") == DARK_TEXT
        page.locator("[data-testid='stMainMenu']").first.click()
        page.locator("[data-testid='stMainMenuItem-theme-Dark']").click()
        page.wait_for_function(f"() => ({BACKGROUND_LUMINANCE})() < 0.2", timeout=10_000)
        # the figures follow at once, without a rerun
        page.wait_for_function(
            f"() => document.querySelector('{VIEW}')._fullLayout.font.color === '{LIGHT_TEXT}'", timeout=10_000
        )
        page.locator("[data-testid='stSidebarNav'] a", has_text="Hypersphere").click()
        page.wait_for_url("**/hypersphere**", timeout=60_000)
        _drawn(page)
        page.wait_for_timeout(1_000)  # ui/theme_memory.js copies the choice within half a second
        page.reload()
        _drawn(page)
        assert page.evaluate(BACKGROUND_LUMINANCE) < 0.2, "the dark theme was lost on reload"
        assert js(page, "d._fullLayout.font.color") == LIGHT_TEXT
        assert js(page, "d._fullLayout.scene.xaxis.gridcolor") == "#464955"  # the dark theme's 3D grid
        assert no_exception(page)
        page.goto(f"{app_url}/")  # and on the home page, never visited in dark before
        _drawn(page)
        assert page.evaluate(BACKGROUND_LUMINANCE) < 0.2
    finally:
        context.close()


CIVIDIS_LOWS = """Array.from(new Set(d._fullData.filter((t) => t.marker && Array.isArray(t.marker.colorscale)
    && t.marker.colorscale.length > 2).map((t) => String(t.marker.colorscale[0][1]).toLowerCase())))"""


@pytest.mark.parametrize(("scheme", "low"), [("dark", "#5b606e"), ("light", "#00224e")])
def test_cividis_points_take_its_lighter_part_on_the_dark_theme_only(browser, app_url, scheme, low):
    # Groups colours every point by its group's input length (Cividis); on the dark theme its navy low end
    # would vanish, so points start at Cividis(0.35) there (ui/plot_view.js, tests/ui/test_plot_view_colours.py)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/groups")
        _drawn(page)
        assert js(page, CIVIDIS_LOWS) == [low]
    finally:
        context.close()
