"""AppTest for the home page: it runs, and the sidebar says where the app computes."""

from __future__ import annotations

from tests.helpers.apptest import open_page


def test_home_page_runs_and_links_to_the_hypersphere():
    at = open_page(None)
    assert "normviz" in at.title[0].value
    assert any("Computing on" in c.value for c in at.sidebar.caption)
