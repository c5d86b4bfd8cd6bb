"""Shared fixtures. The browser ones launch Debian's chromium and serve the app on a free port."""

from __future__ import annotations

import os

# Tests never touch the network: Hugging Face libraries read these at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest

from normviz.io import exports
from tests.helpers.browser import CHROMIUM, FLAGS, POOL_SENTENCES, served


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's chromium (no Playwright browser download works here)."""
    if CHROMIUM is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no chromium on PATH: the browser tests prove the 3D view works.")
        pytest.skip("no chromium on PATH (apt-get install -y chromium); browser tests need a real browser")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """One ``streamlit run app.py`` for every browser test (pages keep no state between browser tabs)."""
    env = {**os.environ, "NORMVIZ_POOL_SENTENCES": POOL_SENTENCES}  # a small docs pool (tests/browser/test_batch_real)
    with served("app.py", tmp_path_factory.mktemp("app") / "streamlit.log", env) as url:
        yield url


@pytest.fixture(scope="module")
def fresh_app_url(tmp_path_factory):
    """A server no browser has visited yet: its first visitor's page is the first run of app.py."""
    with served("app.py", tmp_path_factory.mktemp("fresh") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def csv_files():
    """CSV files the pages' export buttons offer, by file name, as bytes, while a test module runs.

    The buttons build their files only when clicked (which AppTest cannot do), so this wraps
    ``ui.export_buttons`` and builds each CSV from the very table the page handed it, with the same
    ``normviz.exports.table_csv`` the button calls.
    """
    import ui

    files: dict[str, bytes] = {}
    original = ui.export_buttons

    def recording(fig, table, *, key, name):
        files[f"{name}.csv"] = exports.table_csv(table).encode()
        return original(fig, table, key=key, name=name)

    mp = pytest.MonkeyPatch()
    mp.setattr(ui, "export_buttons", recording)
    yield files
    mp.undo()
