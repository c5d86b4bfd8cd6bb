"""Browser tests for the Attention page: the 3D keys view renders through WebGL and follows the keys slider."""

from __future__ import annotations

import pytest

from tests.helpers.browser import js, no_exception, open_view, press_and_wait_view

pytestmark = pytest.mark.browser

KEYS = 4  # the 3D keys view: the fifth view of the page
PROJECTED = "d._fullData.filter(t => t.name.startsWith('projected')).reduce((a, t) => a + t.x.length, 0)"


def test_attention_keys_view_renders_and_follows_n(page, app_url):
    open_view(page, app_url, "attention", views=5, height=1400)
    assert js(page, "!!d._fullLayout.scene._scene.glplot", KEYS)
    assert js(page, PROJECTED, KEYS) == 8
    press_and_wait_view(page, "Keys n", index=KEYS)
    assert js(page, PROJECTED, KEYS) == 12
    assert no_exception(page)
