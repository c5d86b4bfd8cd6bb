"""Browser tests for the Real data page: a real upload through st.file_uploader (good, then bad files;
the page survives)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.browser import VIEW, has_webgl, no_exception, wait_idle

pytestmark = pytest.mark.browser


class _WritesAFile:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _upload(page, path: Path):
    page.locator("[data-testid='stMain'] [data-testid='stFileUploader'] input[type=file]").set_input_files(str(path))


def test_real_upload_good_then_bad_files(page, app_url, tmp_path):
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.goto(f"{app_url}/real-data?rd_source=Upload+a+file")
    wait_idle(page)
    page.get_by_text("Accepted:").first.wait_for()

    good = tmp_path / "acts.npy"
    x = np.random.default_rng(0).standard_normal((4, 60, 16)).astype(np.float32)
    x[:, :, 5] *= 300.0  # a massive feature
    np.save(good, x)
    _upload(page, good)
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=60_000)
    wait_idle(page)
    assert has_webgl(page)
    assert "Read acts.npy" in page.inner_text("body")
    assert page.evaluate(f"() => document.querySelector('{VIEW}')._fullData[0].x.length") == 240
    assert "massive feature" in page.inner_text("body")

    target = tmp_path / "pwned.txt"
    bad = tmp_path / "evil.npy"
    np.save(bad, np.array([_WritesAFile(target)], dtype=object), allow_pickle=True)
    _upload(page, bad)
    page.get_by_text("never unpickled").wait_for(timeout=60_000)
    wait_idle(page)
    assert not target.exists()
    assert no_exception(page)
    assert page.locator("h1", has_text="Real data").count() == 1  # the page still renders its controls

    nan = tmp_path / "nan.npy"
    x[0, 3, 2] = np.nan
    np.save(nan, x)
    _upload(page, nan)
    page.get_by_text("tokens hold NaN").wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_text("Drop tokens with NaN/Inf", exact=True).click()
    page.get_by_text("1 tokens with NaN/Inf dropped").wait_for(timeout=60_000)
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?._fullData?.[0].x.length === 239", timeout=60_000)
    assert no_exception(page)


def test_pickle_payload_class_is_importable():
    """The crafted payload used above really writes its file when unpickled (so the browser test can fail)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        target = Path(d) / "x.txt"
        pickle.loads(pickle.dumps(_WritesAFile(target))).close()
        assert target.exists()
