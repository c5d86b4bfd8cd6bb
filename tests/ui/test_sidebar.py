"""ui/sidebar.py: behind a load balancer the sidebar names the replica serving the session, and only there."""

from __future__ import annotations

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
