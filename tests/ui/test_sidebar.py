"""ui/sidebar.py: behind a load balancer the sidebar names the replica serving the session, and only there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.apptest import open_page


@pytest.mark.parametrize("replica", ["web-2", None])
def test_what_runs_where_names_the_replica_when_it_has_a_name(monkeypatch, replica):
    if replica:
        monkeypatch.setenv("NORMVIZ_REPLICA", replica)
    else:
        monkeypatch.delenv("NORMVIZ_REPLICA", raising=False)
    at = open_page(None)
    named = [c.value for c in at.sidebar.caption if "replica" in c.value]
    assert named == ([f"Served by replica `{replica}`."] if replica else [])


def test_without_a_warm_up_the_sidebar_says_nothing_about_one():
    """AppTest runs no warm-up (as NORMVIZ_WARM=0 does not): no "0 of 0 ready" progress bar."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120).run()
    assert not at.exception
    texts = [c.value for c in at.sidebar.caption] + [p.proto.text for p in at.sidebar.get("progress")]
    assert not any("Preparing every page" in t or "Every page is ready" in t for t in texts), texts
