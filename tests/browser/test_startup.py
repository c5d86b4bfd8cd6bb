"""Start-up in a real server: a copy of the app that may not write to its own folder, opened first at a page URL.

The copy holds exactly the tracked files (as a container image would); Python writes no bytecode there. After a
fresh browser opens ``/groups`` (the server's first visit, so app.py has not run yet), the page shows app.py's
navigation, the 3D view draws with the plotly.js served from the installed plotly package, and the folder holds
exactly the files it held before: nothing was copied into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request

import pytest

from tests.helpers.browser import ROOT, VIEW, serve, wait_idle
from ui import startup

pytestmark = pytest.mark.browser


def _snapshot(folder) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def copy_url(tmp_path_factory):
    app = tmp_path_factory.mktemp("readonly") / "normviz"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in tracked:
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, app / rel)
    before = _snapshot(app)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(app)}
    proc, url = serve("app.py", tmp_path_factory.mktemp("log") / "streamlit.log", cwd=app, env=env)
    yield url, app, before
    proc.terminate()
    proc.wait(timeout=20)


def test_first_visit_at_a_page_url_runs_app_py_and_writes_nothing(page, copy_url):
    url, app, before = copy_url
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{url}/groups")
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=120_000)
    wait_idle(page)
    assert page.evaluate(f"() => !!document.querySelector('{VIEW}')._fullLayout")  # plotly.js loaded and drew
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "Computing on" in sidebar and "Statistics cube" in sidebar  # app.py's navigation and sidebar
    assert page.locator("[data-testid='stException']").count() == 0
    bundle = startup.PLOTLY_BUNDLE
    served = urllib.request.urlopen(f"{url}/component/ui.startup.plotly_js/{bundle}", timeout=30).read()
    assert served == (startup.PLOTLY_JS / bundle).read_bytes()
    # the gzipped copy goes out as it is: the server compresses nothing for it (ui/plot_view.js unpacks it)
    ask = urllib.request.Request(
        f"{url}/component/ui.startup.plotly_js/{bundle}.gz", headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(ask, timeout=30) as got:
        assert got.headers.get("Content-Encoding") is None and got.headers["Content-Type"] == "application/gzip"
        assert got.read() == (startup.PLOTLY_JS / f"{bundle}.gz").read_bytes()
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name).filter(n => /plotly/.test(n))")
    assert [n.rsplit("/", 1)[-1] for n in loaded] == [f"{bundle}.gz"], loaded
    assert _snapshot(app) == before, "the app wrote into its own folder"
