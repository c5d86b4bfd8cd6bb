"""Benchmark: a first visit of every page, in a fresh browser, beside Streamlit's own two-line app.

Run it from the repository root (a few minutes on an idle 2-core machine):

    python benchmarks/bench_first_figure.py            # options: --repeats 3, --pages home,cube, --ready-only

It serves app.py and Streamlit's two-line app (tests/apps/two_line.py) with the browser tests' harness, opens
the app once and waits until its sidebar says every page is ready (the background warm-up of ui/warm.py; that
time is printed, with the CPU seconds the server used meanwhile: on a shared machine the wall time follows the
load, the CPU time much less), then, for each page and for the two-line app, opens it ``--repeats`` times in a *fresh*
browser context (an empty cache, as a student's first visit) and takes the median seconds until:

* a page: its first figure is drawn (the first ``.normviz-plot`` has a ``data-revision``);
* the two-line app: its text is shown.

One row a page: the median, the two-line app's median and their ratio (the target is ≤ 2.5×). A benchmark,
not a test: it asserts nothing and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.helpers.browser import CHROMIUM, FLAGS, VIEW, serve, served
from ui import navigation

READY = "Every page is ready"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (user + system, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


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
    ap.add_argument("--pages", default="", help="comma-separated url paths ('home' for Home); default: every page")
    ap.add_argument("--ready-only", action="store_true", help="only the warm-up: app opened → every page ready")
    args = ap.parse_args()
    chosen = [p for p in (navigation.HOME, *navigation.PAGES) if not args.pages or _path(p) in args.pages.split(",")]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        app, url = serve("app.py", Path(tmp) / "app.log")
        try:
            cpu0 = cpu_seconds(app.pid)
            ready = _wait_ready(browser, url)
            cpu = cpu_seconds(app.pid) - cpu0
            print(
                f"app opened → sidebar says every page is ready: {ready:.1f} s (target ≤ 45 s), the server used "
                f"{cpu:.1f} s of CPU meanwhile ({load()}, {os.cpu_count()} cores)"
            )
            if not args.ready_only:
                with served("tests/apps/two_line.py", Path(tmp) / "two.log") as two:
                    _first_visits(browser, url, two, chosen, args.repeats)
        finally:
            app.terminate()
            app.wait(timeout=20)
        browser.close()


def _path(p) -> str:
    return "home" if p is navigation.HOME else p.url_path


def _first_visits(browser, url: str, two: str, pages, repeats: int) -> None:
    floor = statistics.median(_first_view(browser, two, TEXT) for _ in range(repeats))
    print(f"Streamlit's two-line app, fresh browser → text: {floor * 1000:.0f} ms (median of {repeats}, {load()})")
    print(f"{'page':<16}{'first figure':>14}{'two-line app':>14}{'ratio':>8}")
    for p in pages:
        path = "" if p is navigation.HOME else p.url_path
        t = statistics.median(_first_view(browser, f"{url}/{path}", FIGURE) for _ in range(repeats))
        two_line = statistics.median(_first_view(browser, two, TEXT) for _ in range(repeats))
        print(f"{p.title:<16}{t * 1000:>11.0f} ms{two_line * 1000:>11.0f} ms{t / two_line:>7.2f}×  ({load()})")


if __name__ == "__main__":
    main()
