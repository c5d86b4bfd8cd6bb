"""Browser test for lessons: Next opens the next step's page with its controls set, and keeps ``present``."""

from __future__ import annotations

import re

import pytest

from normviz.io import lessons
from tests.helpers.browser import no_exception, open_view, wait_idle
from ui import lessons as ui_lessons

pytestmark = pytest.mark.browser
N = len(lessons.load_dir(ui_lessons.FOLDER, ui_lessons.PAGES)["normalization-tour"].steps)


def _next(page, path: str, k: int):
    """Press Next; wait until the address bar is at ``path`` and step ``k``'s banner is drawn above the page
    (it is drawn only on the step's own page), then until the run is over."""
    page.get_by_role("button", name="Next").click()
    page.wait_for_function(
        "([path, k]) => location.pathname.endsWith(path) && location.search.includes('step=' + k)"
        " && [...document.querySelectorAll('[data-testid=stMain] [data-testid=stAlert]')]"
        ".some(e => e.innerText.includes('Step ' + k + ' of'))",
        arg=[path, k],
        timeout=120_000,
    )
    wait_idle(page, timeout=120_000)


def _checked(page, label: str) -> bool:
    return page.locator("label", has_text=label).locator("input[type=radio]").first.is_checked()


def _slider(page, label: str) -> str:
    """The value a (select) slider shows, as its thumb reads it out."""
    return page.locator(f"input[type=range][aria-label='{label}']").first.get_attribute("aria-valuetext")


def test_next_opens_the_next_steps_view(page, app_url):
    open_view(page, app_url, "hypersphere?lesson=normalization-tour&step=1&present=1")
    assert page.get_by_text(f"Step 1 of {N}").first.is_visible()

    _next(page, "/hypersphere", 2)  # step 2: the same page, RMSNorm
    assert re.search(r"/hypersphere\?.*hs_norm=RMSNorm", page.url) and "present=1" in page.url
    assert _checked(page, "RMSNorm")
    assert page.get_by_text(f"Step 2 of {N}").first.is_visible()

    _next(page, "/hypersphere", 3)  # step 3: ε = 1, γ anisotropy 2.5, and the norm back at its default (LayerNorm)
    assert "hs_eps=1&" in page.url and "hs_gspread=2.5" in page.url and "hs_norm" not in page.url
    assert _checked(page, "LayerNorm")
    assert _slider(page, "γ anisotropy") == "2.50" and _slider(page, "ε") == "1"
    assert no_exception(page)


# the main view's top, the banner's top and the header bar's bottom (px); whether the page's own title shows
TOPS = """() => {
  const top = (sel) => document.querySelector(sel)?.getBoundingClientRect().top;
  const alert = [...document.querySelectorAll('[data-testid=stMain] [data-testid=stAlert]')]
    .find((e) => e.innerText.includes(' of '));
  return {view: top('.normviz-plot'), banner: alert?.getBoundingClientRect().top,
          header: document.querySelector('[data-testid=stHeader]')?.getBoundingClientRect().bottom,
          title: !!document.querySelector('.stMain h1')?.offsetParent};
}"""


@pytest.mark.parametrize(
    "viewport, scale, query",
    [({"width": 1400, "height": 900}, 1.0, "&present=1"), ({"width": 1120, "height": 720}, 1.25, "")],
    ids=["present-1400x900", "zoom125"],
)
def test_every_step_shows_its_banner_and_its_figure_on_the_first_screen(browser, app_url, viewport, scale, query):
    # a lecturer stepping through the tour in presentation mode, or at 125% zoom with the sidebar open: the banner
    # heads the page (the page's title gives way), and the controls and the main view start on the first screen
    page = browser.new_page(viewport=viewport, device_scale_factor=scale)
    try:
        for k in range(1, N + 1):
            page.goto(f"{app_url}/?lesson=normalization-tour&step={k}{query}")
            page.wait_for_function("() => !!document.querySelector('.normviz-plot')?.dataset.revision",
                                   timeout=120_000)  # fmt: skip
            wait_idle(page, timeout=120_000)
            t = page.evaluate(TOPS)
            assert t["banner"] is not None and t["banner"] >= t["header"] - 1, (k, t)  # not under the header bar
            assert not t["title"], (k, "the page's own title still shows under the banner")
            assert t["view"] < 0.62 * viewport["height"], (k, t)
            assert no_exception(page), k
    finally:
        page.close()


def test_next_switches_page_with_the_steps_controls(page, app_url):
    open_view(page, app_url, "cube?lesson=normalization-tour&step=5")
    _next(page, "/batch", 6)  # step 6: Batch at B = 2
    assert re.search(r"/batch\?bt_batch=2&", page.url)
    assert _slider(page, "Batch size B") == "2"
    assert page.get_by_text(f"Step 6 of {N}").first.is_visible()
    assert no_exception(page)


def test_the_lesson_editor_is_drawn_when_opened_and_stays_open_across_pages(page, app_url):
    open_view(page, app_url, "cube")
    sidebar = page.locator("[data-testid='stSidebar']")
    takeaway = sidebar.get_by_label("Takeaway of this view")
    assert takeaway.count() == 0  # folded: not drawn at all (no hidden text fields or file uploader)
    sidebar.get_by_text("Make your own lesson").click()
    takeaway.wait_for(state="visible", timeout=60_000)
    sidebar.get_by_role("link", name="Instance").click()
    page.wait_for_function("() => location.pathname.endsWith('/instance')")
    wait_idle(page, timeout=120_000)
    assert takeaway.is_visible()  # still open on the next page, where a lecturer adds the next step
    assert no_exception(page)
