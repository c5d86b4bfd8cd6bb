"""Browser tests for the Training page: Play makes the curves grow live (the fragment redraws them in place
while the job trains), and the same link in a new tab replays the finished run at once."""

from __future__ import annotations

import time

import pytest

from normviz import training
from tests.helpers.browser import js, no_exception, open_view

pytestmark = pytest.mark.browser

# 110-150 steps a second on the 2-core CI machine (measured: 300 steps gave one or two redraws in between, and one
# is not proof of growing): 900 steps are 6-8 s there, several of the fragment's 1 s redraws while it trains
STEPS = 900
LINK = "tr_cfg=" + training.encode([training.check("chars", depth=2, width=32, heads=2, batch_size=16, steps=STEPS,
                                                   norm="rmsnorm", seed=11)])  # fmt: skip


def _points(page) -> int:
    """Points of the first trace (A's training loss) of the curves view; 0 before any step."""
    return js(page, "d._fullData && d._fullData.length ? d._fullData[0].x.length : 0")


def test_play_grows_the_curve_live_and_a_link_replays_it(page, browser, app_url):
    open_view(page, app_url, f"training?{LINK}")
    assert _points(page) == 0
    page.get_by_role("button", name="Play").click()
    seen = []
    end = time.monotonic() + 240
    while time.monotonic() < end:
        seen.append(_points(page))
        if seen[-1] >= STEPS:
            break
        time.sleep(0.25)
    assert seen[-1] == STEPS, seen
    growing = sorted(set(v for v in seen if 0 < v < STEPS))
    assert len(growing) >= 2, f"the curve did not grow in steps while training: {seen}"  # drawn live, not at the end
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)  # Pause turned back into Play
    assert no_exception(page)

    other = browser.new_page()
    try:
        open_view(other, app_url, f"training?{LINK}")
        assert _points(other) == STEPS  # replayed from the finished run, no Play pressed
        assert no_exception(other)
    finally:
        other.close()
