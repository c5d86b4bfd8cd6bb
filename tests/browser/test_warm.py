"""No dead air: a fresh server, opened once, computes every page's default view in the background.

The sidebar shows progress and then says every page is ready; after that, a first visit of each page in a
fresh browser computes nothing: Streamlit's own cache counters (``/_stcore/metrics``) show no new miss in
any ``st.cache_data``/``st.cache_resource`` function, so the view a visitor sees came from the warm-up's
entries (the same functions, the same arguments).
"""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.helpers.browser import VIEW, no_exception, served, wait_idle
from ui import navigation

pytestmark = pytest.mark.browser

READY = "Every page is ready"
LOOKUP = re.compile(r'^cache_lookups_total\{cache="([^"]+)",cache_type="(st_cache_\w+)",result="miss"\} (\d+)', re.M)


def misses(url: str) -> dict[str, int]:
    """Streamlit's miss counter of every cached function, from the server's metrics endpoint."""
    text = urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10).read().decode()
    return {name: int(n) for name, _, n in LOOKUP.findall(text)}


@pytest.fixture(scope="module")
def warmed(tmp_path_factory, browser):
    log = tmp_path_factory.mktemp("warm") / "streamlit.log"
    with served("app.py", log) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        sidebar = page.locator("[data-testid='stSidebar']")
        try:  # generous: on a loaded 2-core CI machine the first run of app.py alone can take a minute
            sidebar.get_by_text(re.compile("Preparing every page's first view|Every page is ready")).first.wait_for(
                timeout=180_000
            )
            sidebar.get_by_text(READY).wait_for(timeout=600_000)
        except Exception:
            page.screenshot(path=str(log.parent / "warm.png"))
            raise AssertionError(
                f"never ready; sidebar: {sidebar.inner_text()!r}; log: {log.read_text()[-1500:]}"
            ) from None
        failed = [line for line in log.read_text().splitlines() if "warming" in line and "failed" in line]
        assert "could not be prepared" not in sidebar.inner_text(), failed
        page.close()
        yield url, log


def test_sidebar_says_ready_and_the_warm_up_filled_the_caches(warmed):
    url, _log = warmed
    before = misses(url)
    assert before, "no cache counters: the warm-up computed nothing"
    assert {"ui.controls.sample", "ui.real_inputs.captured"} <= set(before)


@pytest.mark.parametrize("info", [navigation.HOME, *navigation.PAGES], ids=lambda p: p.url_path)
def test_a_first_visit_after_the_warm_up_computes_nothing(warmed, browser, info):
    url, log = warmed
    before = misses(url)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/{'' if info is navigation.HOME else info.url_path}")
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=120_000)
    wait_idle(page, timeout=120_000)
    assert no_exception(page)
    context.close()
    after = misses(url)
    computed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert computed == {}, f"{info.title}'s default view was not warmed: {computed}"
    assert not [line for line in log.read_text().splitlines() if "warming" in line and "failed" in line]
