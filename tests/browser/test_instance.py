"""Browser tests for the Instance page: both 3D scenes render through WebGL."""

from __future__ import annotations

import pytest

from tests.helpers.browser import no_exception, open_view, scenes_with_gl

pytestmark = pytest.mark.browser


def test_instance_renders_through_webgl(page, app_url):
    open_view(page, app_url, "instance", views=3, height=1200)
    assert no_exception(page)
    assert scenes_with_gl(page) == [True, True]
    assert "WebGL is not supported" not in page.content()
