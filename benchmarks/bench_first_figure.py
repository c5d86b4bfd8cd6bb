"""Benchmark: a first visit of every page, in a fresh browser, beside Streamlit's own two-line app.

Run it from the repository root (a few minutes on an idle 2-core machine):

    python benchmarks/bench_first_figure.py            # options: --repeats 3

It serves app.py and Streamlit's two-line app (tests/apps/two_line.py) with the browser tests' harness, opens
the app once and waits until its sidebar says every page is ready (the background warm-up of ui/warm.py; that
time is printed), then, for each page and for the two-line app, opens it ``--repeats`` times in a *fresh*
browser context (an empty cache, as a student's first visit) and takes the median seconds until:

* a page: its first figure is drawn (the first ``.normviz-plot`` has a ``data-revision``);
* the two-line app: its text is shown.

One row a page: the median, the two-line app's median and their ratio (the target is ≤ 2.5×). A benchmark,
not a test: it asserts nothing and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.helpers.browser import CHROMIUM, FLAGS, VIEW, served
from ui import navigation

READY = "Every page is ready"


def _wait_ready(browser, url: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_text(READY).wait_for(timeout=300_000)
    took = time.perf_counter() - t0
    page.close()
    return took


def _first_view(browser, url: str, selector_js: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(selector_js, timeout=120_000)
    took = time.perf_counter() - t0
    context.close()
    return took


FIGURE = f"() => Array.from(document.querySelectorAll('{VIEW}')).some(d => d.dataset.revision)"
TEXT = "() => document.body.innerText.includes('Hello, world')"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        with (
            served("app.py", Path(tmp) / "app.log") as url,
            served("tests/apps/two_line.py", Path(tmp) / "two.log") as two,
        ):
            ready = _wait_ready(browser, url)
            print(f"app opened → sidebar says every page is ready: {ready:.1f} s (target ≤ 45 s)")
            floor = statistics.median(_first_view(browser, two, TEXT) for _ in range(args.repeats))
            print(f"Streamlit's two-line app, fresh browser → text: {floor * 1000:.0f} ms (median of {args.repeats})")
            print(f"{'page':<16}{'first figure':>14}{'two-line app':>14}{'ratio':>8}")
            for p in (navigation.HOME, *navigation.PAGES):
                path = "" if p is navigation.HOME else p.url_path
                t = statistics.median(_first_view(browser, f"{url}/{path}", FIGURE) for _ in range(args.repeats))
                two_line = statistics.median(_first_view(browser, two, TEXT) for _ in range(args.repeats))
                print(f"{p.title:<16}{t * 1000:>11.0f} ms{two_line * 1000:>11.0f} ms{t / two_line:>7.2f}×")
        browser.close()


if __name__ == "__main__":
    main()
