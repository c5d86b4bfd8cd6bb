"""Browser tests for the Batch page on real tokens (the docs pool, MiniLM): the capture shows its progress, every
real section draws (cloud through WebGL, spread with its slope, batch against pool statistics, the massive token,
train/eval, padding) without an exception, and a link restores the view (pool, capture point, B, mask).

The shared server captures a docs pool of ``POOL_SENTENCES`` (128) sentences (tests/conftest.py), so B ≤ 16."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.helpers.browser import VIEW, has_webgl, no_exception, wait_idle
from ui import labels

pytestmark = pytest.mark.browser

REAL_VIEWS = 6  # bt_cloud, bt_sweep, bt_population, bt_massive, bt_train_eval, bt_padding


def _open(page, app_url, **params) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{app_url}/batch?" + urlencode({"bt_kind": labels.KINDS["docs"], "bt_batches": "20", **params}))


def _wait_views(page, n: int) -> None:
    page.wait_for_function(
        f"(n) => Array.from(document.querySelectorAll('{VIEW}')).filter(d => d.dataset.revision).length >= n",
        arg=n,
        timeout=180_000,
    )
    wait_idle(page, timeout=180_000)


def _slider(page, label: str) -> str | None:
    return page.locator(f"input[type=range][aria-label='{label}']").first.get_attribute("aria-valuetext")


_RECORD_BARS = """
window.__normvizBars = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll("[data-testid='stProgress']")) {
    const t = el.innerText || "";
    if (t && !window.__normvizBars.includes(t)) window.__normvizBars.push(t);
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def test_the_capture_shows_progress_then_every_real_section_draws(page, app_url):
    # an idle machine captures a 128-sentence pool in well under a second: a bar shown that briefly is missed by
    # polling, so an observer installed before the page loads records every bar the page ever drew
    page.add_init_script(_RECORD_BARS)
    _open(page, app_url, bt_point="4")  # a capture point no other test asks for: this visit starts its capture
    bar = page.locator("[data-testid='stProgress']", has_text="Capturing real tokens")
    _wait_views(page, REAL_VIEWS)
    seen = page.evaluate("() => window.__normvizBars || []")
    assert any("Capturing real tokens" in t for t in seen), f"no capture progress was ever shown: {seen}"
    assert bar.count() == 0, "the progress bar stayed after the capture"
    assert has_webgl(page)
    traces = page.evaluate(f"() => Array.from(document.querySelectorAll('{VIEW}')).map(d => d._fullData.length)")
    assert len(traces) >= REAL_VIEWS and all(n > 0 for n in traces[:REAL_VIEWS]), traces
    cloud = page.evaluate(f"() => document.querySelector('{VIEW}')._fullData[0].x.length")
    assert cloud == 20  # one dot per batch: K = 20
    body = page.inner_text("body")
    for words in ("MiniLM, input of encoder.layer.1.output.LayerNorm", "Fitted log–log slope",
                  "Batch statistics against the pool", "A massive-activation token in the batch",
                  "Train mode against eval mode", "Counting the pads moves the batch mean"):  # fmt: skip
        assert words in body, words
    assert no_exception(page)


def test_a_link_restores_the_pool_point_batch_size_and_mask(page, app_url):
    _open(page, app_url, bt_point="6", bt_batch="8", bt_masked="false")
    _wait_views(page, REAL_VIEWS)
    assert _slider(page, "Capture point") == "6" and _slider(page, "Batch size B") == "8"
    assert not page.locator("label:has-text('Honour the padding mask') input").first.is_checked()
    body = page.inner_text("body")
    assert "MiniLM, input of encoder.layer.2.output.LayerNorm" in body
    assert "batches of B = 8 distinct sequences" in body and "counting the pads" in body
    assert "pads (0) counted" in body  # train/eval fed the padded tensors too
    assert no_exception(page)
