"""Browser tests for issue 6: a real upload through st.file_uploader (good, then bad files, the page
survives), the exported HTML rendering through WebGL with the network blocked, the CSV matching the
drawn points, and a moved control landing in the URL that restores it."""

from __future__ import annotations

import csv
import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.browser import VIEW, open_sphere, press_and_wait_view, revision, wait_idle

pytestmark = pytest.mark.browser


class _WritesAFile:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _has_webgl(page, selector: str) -> bool:
    return page.evaluate(
        f"""() => {{ const d = document.querySelector('{selector}');
            return !!(d && d._fullLayout && d._fullLayout.scene._scene && d._fullLayout.scene._scene.glplot); }}"""
    )


def _upload(page, path: Path):
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(path))


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
    assert _has_webgl(page, VIEW)
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
    assert page.locator("[data-testid='stException']").count() == 0
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
    assert page.locator("[data-testid='stException']").count() == 0


def _download(page, label: str, tmp_path: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        page.locator("[data-testid='stDownloadButton'] button", has_text=label).first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_exported_html_renders_offline_and_csv_matches_the_view(page, app_url, tmp_path, browser):
    open_sphere(page, app_url)
    html = _download(page, "HTML", tmp_path)

    shown = page.evaluate(
        f"""() => {{ const d = document.querySelector('{VIEW}')._fullData;
            return [0, 1].map(i => [Array.from(d[i].x), Array.from(d[i].y), Array.from(d[i].z)]); }}"""
    )
    rows = list(csv.DictReader(io.StringIO(_download(page, "CSV", tmp_path).read_text())))
    for t, prefix in enumerate(("x_axis", "y_axis")):
        for a in range(3):
            got = np.array([float(r[f"{prefix}{a + 1}"]) for r in rows])
            np.testing.assert_allclose(got, shown[t][a], rtol=1e-6, atol=1e-7)

    offline = browser.new_page()
    blocked = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    offline.route("**/*", route)
    offline.goto(html.as_uri())
    offline.wait_for_function(
        "() => { const d = document.getElementById('normviz-export');"
        " return d && d._fullLayout && d._fullLayout.scene && d._fullLayout.scene._scene; }",
        timeout=60_000,
    )
    assert _has_webgl(offline, "#normviz-export")
    assert offline.evaluate("() => document.getElementById('normviz-export')._fullData[0].x.length") == len(rows)
    assert blocked == [], f"the exported page tried the network: {blocked[:3]}"
    offline.close()


def test_moved_control_lands_in_the_url_and_the_link_restores_it(page, app_url, browser):
    open_sphere(page, app_url)
    press_and_wait_view(page, "β shift")
    wait_idle(page)
    page.wait_for_function("() => window.location.search.includes('hs_beta=0.1')", timeout=30_000)
    link = page.url

    other = browser.new_page()
    other.set_viewport_size({"width": 1400, "height": 1100})
    other.goto(link)
    other.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=60_000)
    wait_idle(other)
    value = other.locator("input[type=range][aria-label='β shift']").evaluate("e => e.value")
    assert float(value) == pytest.approx(0.1)
    assert revision(other) == revision(page)  # the same view: the revision hashes every control
    other.close()


def test_pickle_payload_class_is_importable():
    """The crafted payload used above really writes its file when unpickled (so the browser test can fail)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        target = Path(d) / "x.txt"
        pickle.loads(pickle.dumps(_WritesAFile(target))).close()
        assert target.exists()
